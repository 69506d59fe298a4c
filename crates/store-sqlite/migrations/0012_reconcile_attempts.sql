-- Issue 14 item 5: the daily reconciliation of a merchant account that
-- fails is retried with backoff, not every poll, and says why. One row per
-- (merchant account, bill date): how many tries failed, the last reason
-- (a code the console words in Chinese and English) with the provider's
-- own text, and when the job may try again. A later successful run for the
-- same day (job or manual) is a row in `reconciliations`; attempts are kept
-- as the record of what failed.
CREATE TABLE reconcile_attempts (
    merchant_ref INTEGER NOT NULL REFERENCES merchants(id),
    bill_date TEXT NOT NULL,
    attempts INTEGER NOT NULL CHECK (attempts >= 1),
    reason TEXT NOT NULL CHECK (reason IN ('not_ready', 'unreachable', 'credentials', 'verify', 'settings', 'refused', 'malformed', 'other')),
    detail TEXT NOT NULL,
    first_at INTEGER NOT NULL,
    last_at INTEGER NOT NULL,
    next_at INTEGER NOT NULL CHECK (next_at >= last_at),
    PRIMARY KEY (merchant_ref, bill_date)
);
