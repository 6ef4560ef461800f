-- 0001: accounts, credentials and sessions shared by every auth API family.
-- Times are Unix seconds (BIGINT) so that SQLite and PostgreSQL store them alike;
-- flags are 0/1 integers for the same reason. Secrets (API keys, refresh, reset and
-- verification tokens) are stored only as SHA-256 hex digests.

-- One account per person (or wallet). `email` is stored lower-cased.
CREATE TABLE users (
    id              TEXT PRIMARY KEY,            -- usr_<hex>
    email           TEXT UNIQUE,                 -- NULL for wallet-only accounts
    username        TEXT UNIQUE,                 -- auth-v1 login name; NULL: log in by email
    name            TEXT NOT NULL,
    password_hash   TEXT,                        -- argon2id PHC string; NULL: no password
    role            TEXT NOT NULL DEFAULT 'client' CHECK (role IN ('client', 'admin')),
    email_verified  BIGINT NOT NULL DEFAULT 0,
    wallet_address  TEXT UNIQUE,                 -- lowercase 0x address (Web3 login)
    created_at      BIGINT NOT NULL,
    updated_at      BIGINT NOT NULL
);

-- API keys: shown once at creation, looked up by digest.
CREATE TABLE api_keys (
    id            TEXT PRIMARY KEY,              -- key_<hex>
    user_id       TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    name          TEXT NOT NULL,
    key_hash      TEXT NOT NULL UNIQUE,
    created_at    BIGINT NOT NULL,
    last_used_at  BIGINT
);
CREATE INDEX api_keys_user ON api_keys (user_id);

-- A login session: every access token names one (`sid`), and revoking the session
-- revokes the tokens at once. `expires_at` is absolute: refreshing never extends it.
CREATE TABLE sessions (
    id          TEXT PRIMARY KEY,                -- ses_<hex>
    user_id     TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    kind        TEXT NOT NULL,                   -- users | auth_v1 | hmac | team | web3
    team_id     TEXT,                            -- team-auth: the team of the vaultToken
    created_at  BIGINT NOT NULL,
    expires_at  BIGINT NOT NULL,
    revoked_at  BIGINT
);
CREATE INDEX sessions_user ON sessions (user_id);

-- Refresh tokens: one family per session. A token is used once; presenting a used
-- token again is reuse and revokes the whole session.
CREATE TABLE refresh_tokens (
    token_hash  TEXT PRIMARY KEY,
    session_id  TEXT NOT NULL REFERENCES sessions (id) ON DELETE CASCADE,
    created_at  BIGINT NOT NULL,
    used_at     BIGINT
);
CREATE INDEX refresh_tokens_session ON refresh_tokens (session_id);

-- Single-use emailed tokens (password reset, email verification).
CREATE TABLE email_tokens (
    token_hash  TEXT PRIMARY KEY,
    purpose     TEXT NOT NULL,                   -- reset | verify
    subject     TEXT NOT NULL,                   -- a user id, or a pending registration id
    created_at  BIGINT NOT NULL,
    expires_at  BIGINT NOT NULL,
    used_at     BIGINT
);

-- Mail waiting for (or already handed to) SMTP; with no SMTP configured it stays here.
CREATE TABLE outbox (
    id          BIGSERIAL PRIMARY KEY,
    to_addr     TEXT NOT NULL,
    subject     TEXT NOT NULL,
    html        TEXT NOT NULL,
    text        TEXT NOT NULL,
    created_at  BIGINT NOT NULL,
    sent_at     BIGINT,
    error       TEXT
);
