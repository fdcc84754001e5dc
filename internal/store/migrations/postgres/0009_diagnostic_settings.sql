-- Diagnostic settings (internal/diagnostics).
--
-- A setting is an extension resource of a vault: id_key (the lower-cased
-- setting id) is unique, resource_key (the lower-cased vault id) lists a
-- vault's settings. uid never changes; a setting deleted and created again
-- gets a new one. delivers_audit is 1 when the setting sends AuditEvent to
-- its storage account (the audit exporter's list); deliver_from is when
-- that delivery began, and nothing older is delivered.

CREATE TABLE diagnostic_settings (
    uid                 TEXT PRIMARY KEY,     -- GUID, immutable
    id_key              TEXT NOT NULL UNIQUE, -- lower-cased setting id
    resource_key        TEXT NOT NULL,        -- lower-cased resource (vault) id
    name_key            TEXT NOT NULL,        -- lower-cased setting name
    id                  TEXT NOT NULL,        -- setting id as created
    storage_account_id  TEXT NOT NULL,
    storage_account_uid TEXT NOT NULL,
    logs                TEXT NOT NULL,        -- JSON array
    metrics             TEXT NOT NULL,        -- JSON array
    delivers_audit      INTEGER NOT NULL,     -- 0 or 1
    deliver_from        BIGINT NOT NULL,
    created_by          TEXT NOT NULL,
    created_at          BIGINT NOT NULL,
    updated_at          BIGINT NOT NULL
);
CREATE INDEX diagnostic_settings_resource ON diagnostic_settings (resource_key, name_key);
CREATE INDEX diagnostic_settings_audit ON diagnostic_settings (delivers_audit, resource_key, name_key);
