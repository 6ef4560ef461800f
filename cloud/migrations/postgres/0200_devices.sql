-- 0200: the devices API (helper "devices"): device definitions, users' vehicles, error-code
-- queries and geofences. Ids are 27-character base62 strings shaped like KSUIDs.

-- One make/model/year, shared by all users. `*_key` are lower-cased for lookups.
CREATE TABLE device_definitions (
    id          TEXT PRIMARY KEY,
    make        TEXT NOT NULL,
    model       TEXT NOT NULL,
    year        BIGINT NOT NULL,
    make_key    TEXT NOT NULL,
    model_key   TEXT NOT NULL,
    created_at  BIGINT NOT NULL,
    UNIQUE (make_key, model_key, year)
);

-- A user's vehicle. A VIN appears at most once per user; across users it is the on-chain
-- registry's job (mint) to decide who really owns a VIN.
CREATE TABLE user_devices (
    id                    TEXT PRIMARY KEY,
    user_id               TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    device_definition_id  TEXT NOT NULL REFERENCES device_definitions (id),
    country_code          TEXT NOT NULL,          -- ISO 3166-1 alpha-3
    vin                   TEXT,
    vin_confirmed         BIGINT NOT NULL DEFAULT 0,  -- set by a paired device (later)
    can_protocol          TEXT,                   -- OBD protocol number 1-9, A-C
    created_at            BIGINT NOT NULL,
    updated_at            BIGINT NOT NULL,
    UNIQUE (user_id, vin)
);
CREATE INDEX user_devices_user ON user_devices (user_id);

-- Trouble codes reported for a vehicle at one time; descriptions are looked up on read.
-- `source`: 'user' (submitted through the API) or 'device' (the vehicle's agent, via MQTT).
CREATE TABLE error_code_queries (
    id              BIGSERIAL PRIMARY KEY,
    user_device_id  TEXT NOT NULL REFERENCES user_devices (id) ON DELETE CASCADE,
    source          TEXT NOT NULL CHECK (source IN ('user', 'device')),
    codes           TEXT NOT NULL,                -- comma-separated, e.g. P0106,P0279
    requested_at    BIGINT NOT NULL,
    cleared_at      BIGINT
);
CREATE INDEX error_code_queries_device ON error_code_queries (user_device_id, id);

-- A named set of H3 cells of one user.
CREATE TABLE geofences (
    id          TEXT PRIMARY KEY,
    user_id     TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    name        TEXT NOT NULL,
    kind        TEXT NOT NULL CHECK (kind IN ('PrivacyFence', 'TriggerEntry', 'TriggerExit')),
    h3_indexes  TEXT NOT NULL,                    -- comma-separated lower-case hex cells
    created_at  BIGINT NOT NULL,
    updated_at  BIGINT NOT NULL,
    UNIQUE (user_id, name)
);

-- Which of the owner's vehicles a geofence applies to.
CREATE TABLE geofence_devices (
    geofence_id     TEXT NOT NULL REFERENCES geofences (id) ON DELETE CASCADE,
    user_device_id  TEXT NOT NULL REFERENCES user_devices (id) ON DELETE CASCADE,
    PRIMARY KEY (geofence_id, user_device_id)
);
