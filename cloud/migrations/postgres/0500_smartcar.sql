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
ALTER TABLE registry_calls DROP CONSTRAINT registry_calls_kind_check;
ALTER TABLE registry_calls ADD CONSTRAINT registry_calls_kind_check
    CHECK (kind IN ('claim', 'pair', 'unpair', 'mint', 'mint_synthetic'));
