-- Issue 7: overdue notices (催缴) and the disputes log.

-- How an estate sends notices: the contract clause late fees rest on, the
-- fee office's phone, quiet hours (local HH:MM), days between two notices
-- to one room or space, and a monthly ceiling.
CREATE TABLE notice_settings (
    estate_id BIGINT PRIMARY KEY REFERENCES estates(id),
    contract_basis TEXT NOT NULL DEFAULT '',
    office_phone TEXT NOT NULL DEFAULT '',
    quiet_from TEXT NOT NULL DEFAULT '21:00',
    quiet_until TEXT NOT NULL DEFAULT '08:00',
    min_days BIGINT NOT NULL DEFAULT 7 CHECK (min_days BETWEEN 1 AND 90),
    max_per_month BIGINT NOT NULL DEFAULT 2 CHECK (max_per_month BETWEEN 1 AND 10)
);

-- Every notice: who (room or space, recipient), what (the text, the amount),
-- when, how (sms, wechat, print) and what became of it (its outbox message
-- says whether it was delivered).
CREATE TABLE notices (
    id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    estate_id BIGINT NOT NULL REFERENCES estates(id),
    object_kind TEXT NOT NULL CHECK (object_kind IN ('room', 'space')),
    object_id BIGINT NOT NULL,
    channel TEXT NOT NULL CHECK (channel IN ('sms', 'wechat', 'print')),
    recipient TEXT NOT NULL,
    body TEXT NOT NULL,
    amount_fen BIGINT NOT NULL CHECK (amount_fen > 0),
    message_id BIGINT,
    local_day TEXT NOT NULL,
    created_by BIGINT REFERENCES users(id),
    created_at BIGINT NOT NULL,
    due_at BIGINT NOT NULL
);
-- One notice per room or space, channel and recipient per local day, even
-- when two staff press "send" at once.
CREATE UNIQUE INDEX notices_once_a_day ON notices (object_kind, object_id, channel, recipient, local_day);
CREATE INDEX notices_estate ON notices (estate_id, created_at);

-- Disputes and complaints: a simple log.
CREATE TABLE disputes (
    id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    estate_id BIGINT NOT NULL REFERENCES estates(id),
    object_kind TEXT CHECK (object_kind IN ('room', 'space')),
    object_id BIGINT,
    owner TEXT NOT NULL,
    topic TEXT NOT NULL,
    outcome TEXT NOT NULL DEFAULT '',
    status TEXT NOT NULL DEFAULT 'open' CHECK (status IN ('open', 'closed')),
    created_by BIGINT REFERENCES users(id),
    created_at BIGINT NOT NULL,
    closed_at BIGINT
);
CREATE INDEX disputes_estate ON disputes (estate_id, created_at);
