-- Payment keys are unique across the database. A collector's keys are in
-- the collector's name space ('cash:{user}:{key}'); the console API's keys
-- were stored as the client sent them, so one company's key could collide
-- with (or, before replays were scoped by estate, answer with) another's.
-- They are now stored in the estate's name space ('api:{estate}:{key}');
-- the keys recorded before move there too, so that a retry sent across
-- the upgrade still finds its payment.
UPDATE payments SET idempotency_key = 'api:' || CAST(estate_id AS TEXT) || ':' || idempotency_key
WHERE idempotency_key IS NOT NULL AND idempotency_key NOT LIKE 'cash:%' AND idempotency_key NOT LIKE 'api:%';
