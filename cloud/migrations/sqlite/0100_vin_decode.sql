-- 0100: VIN decoding (helper "vin"; numbered apart from the accounts migrations).
-- Shared SQL: TEXT ids, BIGINT Unix seconds, JSON stored as TEXT.

-- A user's decode results, one per VIN: the Decode API's cache (force=true refreshes it) and
-- the stored lookups the VAG Map API reads by report_id (= the lookup id).
CREATE TABLE vin_lookups (
    id          TEXT PRIMARY KEY,                 -- lkp_<hex>
    user_id     TEXT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    vin         TEXT NOT NULL,
    report      TEXT NOT NULL,                    -- the documented task_result, as JSON
    created_at  BIGINT NOT NULL,
    updated_at  BIGINT NOT NULL,
    UNIQUE (user_id, vin)
);

-- A bulk decode request; its VINs are tasks below.
CREATE TABLE vin_bulks (
    id          TEXT PRIMARY KEY,                 -- blk_<hex>
    user_id     TEXT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    file_name   TEXT,
    created_at  BIGINT NOT NULL
);

-- One VIN of a bulk. Workers claim pending tasks (FOR UPDATE SKIP LOCKED on PostgreSQL); a
-- task left 'running' by a stopped instance goes back to 'pending' once its claim is stale.
CREATE TABLE vin_tasks (
    id          TEXT PRIMARY KEY,                 -- task_<hex>
    bulk_id     TEXT NOT NULL REFERENCES vin_bulks(id) ON DELETE CASCADE,
    user_id     TEXT NOT NULL,
    vin         TEXT NOT NULL,
    seq         BIGINT NOT NULL,                  -- order within the bulk
    state       TEXT NOT NULL CHECK (state IN ('pending', 'paused', 'running', 'completed', 'failed')),
    result      TEXT,                             -- JSON report when completed, error when failed
    claimed_by  TEXT,
    claimed_at  BIGINT,
    created_at  BIGINT NOT NULL,
    updated_at  BIGINT NOT NULL
);
CREATE INDEX vin_tasks_claim ON vin_tasks (state, created_at, seq);
CREATE INDEX vin_tasks_bulk ON vin_tasks (bulk_id, state);
