-- Issue 13: owner sign-in codes and sessions.
--
-- A code and the session it opens belong to one property company: signing
-- in to company A never shows company B's bills, even for a phone on file
-- with both. A code with no company was never texted (the phone is not on
-- file there, or on file with several companies and none was named); it is
-- counted like any other so the answers do not tell phones apart, but it
-- never opens a session.
ALTER TABLE owner_codes ADD COLUMN company_id BIGINT REFERENCES companies(id);
ALTER TABLE owner_sessions ADD COLUMN company_id BIGINT REFERENCES companies(id);
-- Sessions from before knew no company: owners sign in again.
DELETE FROM owner_sessions;

-- One row per phone: sending a code takes a place here with one
-- conditional upsert (the resend interval and the hourly ceiling in its
-- WHERE), in the transaction that stores the code, so parallel requests
-- cannot queue more codes than allowed.
CREATE TABLE owner_code_sends (
    phone TEXT PRIMARY KEY,
    window_start BIGINT NOT NULL,
    sent BIGINT NOT NULL CHECK (sent >= 0),
    last_at BIGINT NOT NULL
);
-- Codes already in the outbox: staff never read them again.
UPDATE outbox SET body = '【门口收费】您的登录验证码是******（已隐藏）'
WHERE kind = 'code';
