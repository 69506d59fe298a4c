-- Issue 14: the totals' triggers a payment fires look rows up by primary
-- key (the payment's date, a journal entry's estate, a room's building).
-- PL/pgSQL plans such a statement once per connection and keeps the plan;
-- planned while a table was small (a new install, a new schema) the plan
-- scans the whole table, and keeps doing so as the table grows until the
-- next ANALYZE: every payment then read every earlier payment and journal
-- entry. Point lookups are always right here, so these functions plan
-- without sequential scans.
ALTER FUNCTION report_allocations_inserted() SET enable_seqscan = off;
ALTER FUNCTION ledger_postings_inserted() SET enable_seqscan = off;
ALTER FUNCTION report_line_changed() SET enable_seqscan = off;
ALTER FUNCTION report_payment_status() SET enable_seqscan = off;
