-- The audit list's time filter read from the index (store ListAudit): a
-- vault's records are listed in id order through (resource_key, id), and
-- with since or until the database read each row it walked past to check
-- occurred_at. With occurred_at in the index it checks the index entry
-- and reads only the rows that match: oldest first from 10 minutes before
-- the end of 100,000 records went from 91 to 26 ms on SQLite and from 25
-- to 7 ms on PostgreSQL (BenchmarkListAudit). A separate (resource_key,
-- occurred_at) index was measured and not kept: a range read through it
-- must be sorted by id, so a wide range sorts every record in it (47 ms
-- on SQLite, 130 ms on PostgreSQL for 24 hours), and SQLite's planner
-- picks it for a newest-first list with a since, which took 433 ms
-- instead of 1 (docs/performance.md, "Portal").
DROP INDEX audit_records_resource;
CREATE INDEX audit_records_resource ON audit_records (resource_key, id, occurred_at);
