-- Issue 13: limits that hold across instances and under parallel requests
-- (receipt lookups, sign-ins, sign-in codes). One row per limited key
-- (e.g. `login-user:admin`), counted in a fixed window: a hit is one
-- upsert that either starts a new window or adds one to the current one,
-- so concurrent hits are counted exactly once each on both backends.
CREATE TABLE rate_limits (
    key TEXT PRIMARY KEY,
    window_start BIGINT NOT NULL,
    hits INTEGER NOT NULL CHECK (hits >= 0)
);
CREATE INDEX rate_limits_window ON rate_limits (window_start);
