-- 0500: Smartcar connections (helper "smartcar"): authorizations with their tokens
-- encrypted at rest, the vehicles connected through them, synthetic device mints in the
-- ledger, and the outcome of refresh requests. Times are Unix seconds.

-- One Smartcar authorization (a code exchange). Access and refresh tokens are secrets the
-- cloud must present again, so they are stored encrypted (XChaCha20-Poly1305, the key from
-- `smartcar.encryption_key_file`), never hashed and never logged. Several vehicles of one
-- authorization share it, so a refresh (which rotates the refresh token) is done once.
CREATE TABLE smartcar_grants (
    id                 TEXT PRIMARY KEY,
    user_id            TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    access_token       TEXT NOT NULL,            -- encrypted: v1.<base64 nonce||ciphertext>
    refresh_token      TEXT NOT NULL,            -- encrypted likewise
    access_expires_at  BIGINT NOT NULL,
    created_at         BIGINT NOT NULL,
    updated_at         BIGINT NOT NULL
);
CREATE INDEX smartcar_grants_user ON smartcar_grants (user_id);

-- A user's vehicle connected through Smartcar. `address` is the synthetic device's identity:
-- its secp256k1 key is generated at connection (stored encrypted in `device_key`), so the
-- vehicle's Smartcar readings have a device address before and after the synthetic device is
-- minted. Reconnecting (a new code for the same VIN) moves the row to the new grant.
CREATE TABLE smartcar_connections (
    user_device_id       TEXT PRIMARY KEY REFERENCES user_devices (id) ON DELETE CASCADE,
    grant_id             TEXT NOT NULL REFERENCES smartcar_grants (id) ON DELETE CASCADE,
    smartcar_vehicle_id  TEXT NOT NULL,
    address              TEXT NOT NULL UNIQUE,   -- lowercase 0x
    device_key           TEXT NOT NULL,          -- encrypted 0x secret key of the address
    connected_at         BIGINT NOT NULL,
    refreshed_at         BIGINT                  -- last successful read of the vehicle
);
CREATE INDEX smartcar_connections_grant ON smartcar_connections (grant_id);

-- The refresh queue's outcome and its claims: a worker claims a queued row (claimed_by,
-- claimed_at; a claim older than two minutes belongs to a stopped instance), then marks it
-- done or failed with the reason.
ALTER TABLE refresh_requests ADD COLUMN claimed_by TEXT;
ALTER TABLE refresh_requests ADD COLUMN claimed_at BIGINT;
ALTER TABLE refresh_requests ADD COLUMN reason TEXT;
ALTER TABLE refresh_requests ADD COLUMN finished_at BIGINT;
CREATE INDEX refresh_requests_queued ON refresh_requests (status, id);

-- The ledger learns a fifth kind, `mint_synthetic` (a synthetic device for a minted vehicle).
-- SQLite cannot change a CHECK constraint, so the table is rebuilt. registry_signatures
-- refers to it (ON DELETE CASCADE), so its rows are set aside first and restored after.
CREATE TABLE registry_signatures_0500 AS SELECT signature, call_id FROM registry_signatures;
DROP TABLE registry_signatures;
CREATE TABLE registry_calls_0500 (
    id              INTEGER PRIMARY KEY AUTOINCREMENT,
    kind            TEXT NOT NULL CHECK (kind IN ('claim', 'pair', 'unpair', 'mint', 'mint_synthetic')),
    user_id         TEXT REFERENCES users (id) ON DELETE SET NULL,
    payload         TEXT NOT NULL,                -- eth_signTypedData_v4 JSON
    payload_hash    TEXT NOT NULL,                -- 0x EIP-712 signing hash
    signatures      TEXT NOT NULL,                -- JSON object: role -> 0x signature
    status          TEXT NOT NULL CHECK (status IN ('unsubmitted', 'submitted', 'mined', 'confirmed', 'failed')),
    tx_hash         TEXT,                         -- set by a chain backend; NULL in the ledger
    failure_reason  TEXT,
    created_at      BIGINT NOT NULL,
    submitted_at    BIGINT,
    mined_at        BIGINT,
    confirmed_at    BIGINT,
    failed_at       BIGINT
);
INSERT INTO registry_calls_0500 (id, kind, user_id, payload, payload_hash, signatures, status,
    tx_hash, failure_reason, created_at, submitted_at, mined_at, confirmed_at, failed_at)
SELECT id, kind, user_id, payload, payload_hash, signatures, status, tx_hash, failure_reason,
    created_at, submitted_at, mined_at, confirmed_at, failed_at FROM registry_calls;
DROP TABLE registry_calls;
ALTER TABLE registry_calls_0500 RENAME TO registry_calls;
CREATE INDEX registry_calls_status ON registry_calls (status, id);
CREATE TABLE registry_signatures (
    signature  TEXT PRIMARY KEY,                  -- 0x, normalised (v = 27/28, low s)
    call_id    BIGINT NOT NULL REFERENCES registry_calls (id) ON DELETE CASCADE
);
INSERT INTO registry_signatures (signature, call_id)
SELECT signature, call_id FROM registry_signatures_0500;
DROP TABLE registry_signatures_0500;
