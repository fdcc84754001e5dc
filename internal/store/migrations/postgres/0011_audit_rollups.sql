-- Audit insights (internal/audit insights.go): rollups of audit_records,
-- maintained in the transaction that appends the records, so insights sum
-- a few rows per minute instead of scanning the trail. Not backfilled:
-- records appended before this migration are not counted.
--
-- audit_rollup_ops: per resource, minute, operation and HTTP status, the
-- record count and a latency histogram: h<i> counts records with
-- duration_ms <= 2^i (h0: <= 1 ms), h23 also those above 2^23 ms.
CREATE TABLE audit_rollup_ops (
    resource_key   TEXT NOT NULL,   -- lower-cased resource id
    bucket         BIGINT NOT NULL, -- start of the minute, Unix seconds
    operation_name TEXT NOT NULL,
    http_status    INTEGER NOT NULL,
    records        BIGINT NOT NULL,
    h0  BIGINT NOT NULL DEFAULT 0,
    h1  BIGINT NOT NULL DEFAULT 0,
    h2  BIGINT NOT NULL DEFAULT 0,
    h3  BIGINT NOT NULL DEFAULT 0,
    h4  BIGINT NOT NULL DEFAULT 0,
    h5  BIGINT NOT NULL DEFAULT 0,
    h6  BIGINT NOT NULL DEFAULT 0,
    h7  BIGINT NOT NULL DEFAULT 0,
    h8  BIGINT NOT NULL DEFAULT 0,
    h9  BIGINT NOT NULL DEFAULT 0,
    h10 BIGINT NOT NULL DEFAULT 0,
    h11 BIGINT NOT NULL DEFAULT 0,
    h12 BIGINT NOT NULL DEFAULT 0,
    h13 BIGINT NOT NULL DEFAULT 0,
    h14 BIGINT NOT NULL DEFAULT 0,
    h15 BIGINT NOT NULL DEFAULT 0,
    h16 BIGINT NOT NULL DEFAULT 0,
    h17 BIGINT NOT NULL DEFAULT 0,
    h18 BIGINT NOT NULL DEFAULT 0,
    h19 BIGINT NOT NULL DEFAULT 0,
    h20 BIGINT NOT NULL DEFAULT 0,
    h21 BIGINT NOT NULL DEFAULT 0,
    h22 BIGINT NOT NULL DEFAULT 0,
    h23 BIGINT NOT NULL DEFAULT 0,
    PRIMARY KEY (resource_key, bucket, operation_name, http_status)
);

-- audit_rollup_callers: per resource, hour and caller object id (records
-- of no caller are not counted), the record count.
CREATE TABLE audit_rollup_callers (
    resource_key TEXT NOT NULL,
    bucket       BIGINT NOT NULL, -- start of the hour, Unix seconds
    object_id    TEXT NOT NULL,
    records      BIGINT NOT NULL,
    PRIMARY KEY (resource_key, bucket, object_id)
);
