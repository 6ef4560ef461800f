-- 0300: the device registry (helper "registry"): aftermarket devices, vehicle and synthetic
-- device tokens, pairings, the ledger of signed registry calls, privilege grants and DCN
-- names. Token ids are integers assigned here, as the registry contracts would on chain.
-- Addresses are stored as lowercase 0x hex; times are Unix seconds.

-- A provisioned aftermarket device (the OBD-II dongle running the agent). The MQTT password
-- is stored only as its SHA-256 hex digest; `owner_user_id` is set by a confirmed claim.
CREATE TABLE aftermarket_devices (
    token_id            INTEGER PRIMARY KEY AUTOINCREMENT,
    serial              TEXT NOT NULL UNIQUE,
    address             TEXT NOT NULL UNIQUE,
    manufacturer        TEXT NOT NULL,
    owner_user_id       TEXT REFERENCES users (id) ON DELETE SET NULL,
    mqtt_password_hash  TEXT NOT NULL,
    created_at          BIGINT NOT NULL,
    claimed_at          BIGINT
);
CREATE INDEX aftermarket_devices_owner ON aftermarket_devices (owner_user_id);

-- Manufacturer nodes named in mint payloads (`manufacturerNode`), one per make.
CREATE TABLE registry_manufacturers (
    node_id     INTEGER PRIMARY KEY AUTOINCREMENT,
    name_key    TEXT NOT NULL UNIQUE,             -- lower-cased make
    name        TEXT NOT NULL,
    created_at  BIGINT NOT NULL
);

-- A minted vehicle: the NFT of one user device.
CREATE TABLE vehicle_tokens (
    token_id                INTEGER PRIMARY KEY AUTOINCREMENT,
    user_device_id          TEXT NOT NULL UNIQUE REFERENCES user_devices (id) ON DELETE CASCADE,
    owner_user_id           TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    manufacturer_node       BIGINT NOT NULL,
    image_data              TEXT,
    image_data_transparent  TEXT,
    opted_in_at             BIGINT,
    minted_at               BIGINT NOT NULL
);
CREATE INDEX vehicle_tokens_owner ON vehicle_tokens (owner_user_id);

-- A software connection's device token (Smartcar, Tesla…), bound to one vehicle.
CREATE TABLE synthetic_devices (
    token_id          INTEGER PRIMARY KEY AUTOINCREMENT,
    vehicle_token_id  BIGINT NOT NULL UNIQUE REFERENCES vehicle_tokens (token_id) ON DELETE CASCADE,
    integration       TEXT NOT NULL,
    address           TEXT NOT NULL UNIQUE,
    minted_at         BIGINT NOT NULL
);

-- Which aftermarket device is paired to which vehicle (at most one each way).
CREATE TABLE pairings (
    vehicle_token_id      BIGINT NOT NULL UNIQUE REFERENCES vehicle_tokens (token_id) ON DELETE CASCADE,
    aftermarket_token_id  BIGINT NOT NULL UNIQUE REFERENCES aftermarket_devices (token_id) ON DELETE CASCADE,
    paired_at             BIGINT NOT NULL
);

-- The ledger: every signed registry call with its lifecycle
-- unsubmitted -> submitted -> mined -> confirmed, or failed (with the reason).
CREATE TABLE registry_calls (
    id              INTEGER PRIMARY KEY AUTOINCREMENT,
    kind            TEXT NOT NULL CHECK (kind IN ('claim', 'pair', 'unpair', 'mint')),
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
CREATE INDEX registry_calls_status ON registry_calls (status, id);

-- Every signature a call carried: a signature is accepted once (replay protection).
CREATE TABLE registry_signatures (
    signature  TEXT PRIMARY KEY,                  -- 0x, normalised (v = 27/28, low s)
    call_id    BIGINT NOT NULL REFERENCES registry_calls (id) ON DELETE CASCADE
);

-- Privileges an owner shared with another account, until `expires_at`.
CREATE TABLE vehicle_privileges (
    vehicle_token_id  BIGINT NOT NULL REFERENCES vehicle_tokens (token_id) ON DELETE CASCADE,
    grantee_user_id   TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    privilege_id      BIGINT NOT NULL,
    expires_at        BIGINT NOT NULL,
    granted_at        BIGINT NOT NULL,
    PRIMARY KEY (vehicle_token_id, grantee_user_id, privilege_id)
);

-- Refresh requests (queued; one per vehicle per `refresh_interval_secs`).
CREATE TABLE refresh_requests (
    id              INTEGER PRIMARY KEY AUTOINCREMENT,
    user_device_id  TEXT NOT NULL REFERENCES user_devices (id) ON DELETE CASCADE,
    status          TEXT NOT NULL CHECK (status IN ('queued', 'done', 'failed')),
    requested_at    BIGINT NOT NULL
);
CREATE INDEX refresh_requests_device ON refresh_requests (user_device_id, requested_at);

-- DCN (DIMO Canonical Name) nodes: a name registered to an owner until `expires_at`,
-- optionally resolving to a vehicle. `node` is the EIP-137 namehash of `name`.
CREATE TABLE dcn_nodes (
    node              TEXT PRIMARY KEY,           -- 0x + 64 hex
    name              TEXT NOT NULL UNIQUE,
    owner_address     TEXT NOT NULL,
    vehicle_token_id  BIGINT REFERENCES vehicle_tokens (token_id) ON DELETE SET NULL,
    expires_at        BIGINT NOT NULL,
    created_at        BIGINT NOT NULL
);
