-- 0400: MQTT ingest and remote commands (helper "ingest"). Devices are keyed by their
-- lowercase 0x address (the `{address}` of their topics); rows are written only for devices
-- registered in `aftermarket_devices`. Times here are Unix milliseconds (`*_ms`).

-- Every envelope applied, by (device, envelope id): at-least-once delivery becomes
-- exactly-once storage (INSERT … ON CONFLICT DO NOTHING decides which copy is new).
CREATE TABLE mqtt_envelopes (
    device_address  TEXT NOT NULL,
    envelope_id     TEXT NOT NULL,
    kind            TEXT NOT NULL,                -- status, vin, dtc, telemetry, event, result
    received_ms     BIGINT NOT NULL,
    PRIMARY KEY (device_address, envelope_id)
);
CREATE INDEX mqtt_envelopes_received ON mqtt_envelopes (received_ms);

-- The latest known state of each device.
CREATE TABLE device_state (
    device_address   TEXT PRIMARY KEY,
    online           BIGINT NOT NULL DEFAULT 0,   -- 0/1, from the status and its last will
    status_ms        BIGINT,                      -- envelope time of the status applied
    last_seen_ms     BIGINT NOT NULL,             -- when any message of it was stored
    firmware         TEXT,
    bus              TEXT,
    ignition         TEXT,                        -- on, off, unknown
    vin              TEXT,
    vin_query        TEXT,
    vin_ms           BIGINT,
    dtcs             TEXT,                        -- JSON {stored, pending, permanent}
    dtcs_ms          BIGINT,
    telemetry        TEXT,                        -- JSON of the newest telemetry report
    telemetry_ms     BIGINT
);

-- VIN reports as received (they feed `fromvin` after a claim).
CREATE TABLE device_vin_reports (
    id                 INTEGER PRIMARY KEY AUTOINCREMENT,
    device_address     TEXT NOT NULL,
    vin                TEXT NOT NULL,
    query              TEXT NOT NULL,
    check_digit_valid  BIGINT NOT NULL,
    reported_ms        BIGINT NOT NULL            -- envelope time
);
CREATE INDEX device_vin_reports_device ON device_vin_reports (device_address, id);

-- Trouble-code reports as received; codes of paired vehicles also go to error_code_queries.
CREATE TABLE device_dtc_reports (
    id              INTEGER PRIMARY KEY AUTOINCREMENT,
    device_address  TEXT NOT NULL,
    report          TEXT NOT NULL,                -- JSON {stored, pending, permanent}
    reported_ms     BIGINT NOT NULL
);
CREATE INDEX device_dtc_reports_device ON device_dtc_reports (device_address, id);

-- Telemetry and events, newest kept: a sweeper trims each device to a bounded history.
CREATE TABLE device_telemetry (
    id              INTEGER PRIMARY KEY AUTOINCREMENT,
    device_address  TEXT NOT NULL,
    kind            TEXT NOT NULL CHECK (kind IN ('telemetry', 'event')),
    data            TEXT NOT NULL,                -- the envelope's data, JSON
    recorded_ms     BIGINT NOT NULL               -- envelope time
);
CREATE INDEX device_telemetry_device ON device_telemetry (device_address, id);

-- The last command sequence number used per device: seq is allocated in the transaction
-- that inserts the command, so it is strictly increasing and never reused.
CREATE TABLE device_command_seq (
    device_address  TEXT PRIMARY KEY,
    last_seq        BIGINT NOT NULL
);

-- Commands sent to devices and how they ended. `swept` = 1 when the cloud marked the
-- command expired for want of a result; a genuine late result may still replace that.
CREATE TABLE device_commands (
    request_id        TEXT PRIMARY KEY,
    device_address    TEXT NOT NULL,
    seq               BIGINT NOT NULL,
    action            TEXT NOT NULL,
    params            TEXT NOT NULL,              -- JSON
    vehicle_token_id  BIGINT,                     -- the vehicle the command was sent for
    user_id           TEXT,                       -- who asked (NULL: the cloud itself)
    status            TEXT NOT NULL CHECK (status IN ('pending', 'executed', 'failed', 'rejected', 'expired')),
    swept             BIGINT NOT NULL DEFAULT 0,
    code              TEXT,
    reason            TEXT,
    state             TEXT,                       -- JSON: vehicle state after the action
    output            TEXT,                       -- JSON: action output (signature, VIN…)
    issued_ms         BIGINT NOT NULL,
    expires_ms        BIGINT NOT NULL,
    completed_ms      BIGINT,
    UNIQUE (device_address, seq)
);
CREATE INDEX device_commands_pending ON device_commands (status, expires_ms);
CREATE INDEX device_commands_vehicle ON device_commands (vehicle_token_id, issued_ms);
