-- Audit trail (internal/audit): one row per audit record, hash-chained per
-- resource. audit_chains holds each chain's head; an append locks it, so
-- sequence numbers stay linear however many writers there are.

CREATE TABLE audit_chains (
    resource_key TEXT PRIMARY KEY,       -- lower-cased resource id
    seq          BIGINT NOT NULL,        -- the last entry's sequence number
    hash         BLOB NOT NULL           -- the last entry's hash
);

CREATE TABLE audit_records (
    id                  INTEGER PRIMARY KEY AUTOINCREMENT, -- never reused: a cursor
    resource_key        TEXT NOT NULL,
    seq                 BIGINT NOT NULL,  -- 1, 2, ... per resource_key
    format              INTEGER NOT NULL, -- canonical encoding version of hash
    prev_hash           BLOB NOT NULL,
    hash                BLOB NOT NULL,
    occurred_at         BIGINT NOT NULL,
    resource_id         TEXT NOT NULL,   -- as recorded
    operation_name      TEXT NOT NULL,
    operation_version   TEXT NOT NULL,
    category            TEXT NOT NULL,
    result_type         TEXT NOT NULL,
    result_signature    TEXT NOT NULL,
    result_description  TEXT NOT NULL,
    duration_ms         BIGINT NOT NULL,
    caller_ip           TEXT NOT NULL,
    correlation_id      TEXT NOT NULL,
    request_id          TEXT NOT NULL,
    tenant_id           TEXT NOT NULL,
    object_id           TEXT NOT NULL,
    app_id              TEXT NOT NULL,
    upn                 TEXT NOT NULL,
    id_type             TEXT NOT NULL,
    object_uri          TEXT NOT NULL,
    request_uri         TEXT NOT NULL,
    http_status         INTEGER NOT NULL,
    client_info         TEXT NOT NULL,
    access_policy_match INTEGER,         -- NULL (not applicable), 0 or 1
    tls_version         TEXT NOT NULL,
    secret_enabled      INTEGER,         -- NULL: no secret properties recorded
    secret_not_before   BIGINT,
    secret_expires      BIGINT
);
CREATE UNIQUE INDEX audit_records_chain ON audit_records (resource_key, seq);
CREATE INDEX audit_records_resource ON audit_records (resource_key, id);
CREATE INDEX audit_records_caller ON audit_records (object_id, id);
