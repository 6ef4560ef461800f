-- 0002: team-auth family. A registration stays pending until its email is verified, so an
-- unverified address never becomes an account; verification creates the account, its
-- default team and the team's default project.

CREATE TABLE registrations (
    id                TEXT PRIMARY KEY,          -- reg_<hex>
    email             TEXT NOT NULL,             -- lower-cased
    name              TEXT NOT NULL,
    password_hash     TEXT NOT NULL,
    existing_user_id  TEXT,                      -- the address already had an account: never completes
    created_at        BIGINT NOT NULL,
    completed_at      BIGINT
);

CREATE TABLE teams (
    id          TEXT PRIMARY KEY,                -- team_<hex>
    name        TEXT NOT NULL,
    owner_id    TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    created_at  BIGINT NOT NULL
);

CREATE TABLE team_members (
    team_id     TEXT NOT NULL REFERENCES teams (id) ON DELETE CASCADE,
    user_id     TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    role        TEXT NOT NULL,                   -- owner | member
    created_at  BIGINT NOT NULL,
    PRIMARY KEY (team_id, user_id)
);
CREATE INDEX team_members_user ON team_members (user_id);

CREATE TABLE projects (
    id          TEXT PRIMARY KEY,                -- prj_<hex>
    team_id     TEXT NOT NULL REFERENCES teams (id) ON DELETE CASCADE,
    name        TEXT NOT NULL,
    created_at  BIGINT NOT NULL
);
CREATE INDEX projects_team ON projects (team_id);
