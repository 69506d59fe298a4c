-- Issue 14 item 11: a signature is never orphaned. It names the payment it
-- confirms by id (online) or by that payment's idempotency key (cash taken
-- offline: `payment_key`), so whichever of the two reaches the server
-- first, the other links them (under the visit's row lock). `shown_amount_fen`
-- is the amount the owner saw: a pending signature links only to a payment
-- of that amount. A payment has at most one signature.
ALTER TABLE signatures ADD COLUMN payment_key TEXT;
ALTER TABLE signatures ADD COLUMN shown_amount_fen BIGINT;

-- Rows from before this migration: where one payment was signed more than
-- once, the first signature keeps the binding and the later ones are
-- unbound here (their evidence records, append-only, still name the
-- payment). Their shown amount stays unknown (NULL): they link to nothing.
UPDATE signatures SET payment_id = NULL
WHERE payment_id IS NOT NULL
  AND id > (SELECT MIN(s2.id) FROM signatures s2 WHERE s2.payment_id = signatures.payment_id);

CREATE UNIQUE INDEX signatures_one_per_payment ON signatures (payment_id) WHERE payment_id IS NOT NULL;
CREATE UNIQUE INDEX signatures_one_per_payment_key ON signatures (payment_key) WHERE payment_key IS NOT NULL;
