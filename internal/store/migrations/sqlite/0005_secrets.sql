-- Key Vault secrets (package secret). Names are case-insensitive: rows are
-- keyed by the lower-cased name and keep the casing of the first version.
-- vault_uid is the vault's immutable internal id (not a foreign key: a
-- purged vault's secrets are deleted by the secret service).

CREATE TABLE secrets (
    vault_uid  TEXT NOT NULL,
    name_key   TEXT NOT NULL,      -- lower-cased name
    name       TEXT NOT NULL,      -- as first created
    last_seq   BIGINT NOT NULL,    -- seq of the newest version
    deleted_at BIGINT,             -- set while soft-deleted
    purge_at   BIGINT,             -- scheduledPurgeDate while soft-deleted
    PRIMARY KEY (vault_uid, name_key)
);
CREATE INDEX secrets_purge ON secrets (purge_at) WHERE deleted_at IS NOT NULL;

CREATE TABLE secret_versions (
    vault_uid    TEXT NOT NULL,
    name_key     TEXT NOT NULL,
    version      TEXT NOT NULL,    -- 32 lowercase hex
    seq          BIGINT NOT NULL,  -- 1, 2, ... within the secret
    value        BLOB NOT NULL,    -- sealed by the envelope; AAD binds vault, name, version
    content_type TEXT NOT NULL,
    tags         TEXT NOT NULL,    -- JSON object
    enabled      INTEGER NOT NULL, -- 0 or 1
    not_before   BIGINT,
    expires      BIGINT,
    created_at   BIGINT NOT NULL,
    updated_at   BIGINT NOT NULL,
    PRIMARY KEY (vault_uid, name_key, version),
    UNIQUE (vault_uid, name_key, seq),
    FOREIGN KEY (vault_uid, name_key) REFERENCES secrets (vault_uid, name_key) ON DELETE CASCADE
);
