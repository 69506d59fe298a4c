-- Issue 14: a payment's receipt link is known in the payment's own
-- transaction. The token of the owner's link (/r/{token}) is drawn when the
-- payment is queued for its receipt, so the answer to the payment carries
-- the link at once, while the number is given by the sequencer's next batch
-- (or by whoever opens the link first). Rows queued before this migration
-- have no token and get one when numbered.
ALTER TABLE receipt_queue ADD COLUMN token TEXT;
CREATE UNIQUE INDEX receipt_queue_token ON receipt_queue (token);
