-- Long-running operations: checkpoints and fencing (reliability.md §3.2).
-- step is the last step a handler recorded as done, so a retried job
-- resumes after it; epoch is raised by each attempt that takes the
-- operation over, and every write of an attempt requires its own epoch,
-- so a stale attempt (its process presumed dead) cannot overwrite a newer
-- one's progress or result.

ALTER TABLE operations ADD COLUMN step TEXT NOT NULL DEFAULT '';
ALTER TABLE operations ADD COLUMN epoch INTEGER NOT NULL DEFAULT 0;
