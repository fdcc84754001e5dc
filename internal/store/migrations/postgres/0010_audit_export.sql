-- Audit export (internal/auditexport): per diagnostic setting and audited
-- resource, the id of the last audit record delivered to the setting's
-- storage account. The row is compare-and-swapped in the transaction that
-- appends the records' JSON lines to the blob, so a record is delivered
-- exactly once, across crashes and replicas. setting_created tells a
-- setting re-created under the same id from the old one: its cursor
-- starts again at the new creation time.

CREATE TABLE audit_export_cursors (
    setting_key     TEXT NOT NULL,   -- lower-cased diagnostic setting id
    resource_key    TEXT NOT NULL,   -- lower-cased audited resource id
    setting_created BIGINT NOT NULL, -- the setting's creation, Unix ns
    after_id        BIGINT NOT NULL, -- last delivered audit_records.id
    updated_at      BIGINT NOT NULL,
    PRIMARY KEY (setting_key, resource_key)
);
