-- Key Vault: vaults, live and soft-deleted (internal/keyvault).
--
-- A vault name is unique ignoring case across every subscription and both
-- states (name_key): a soft-deleted vault keeps its name until it is
-- purged, which deletes the row. uid never changes, across soft delete and
-- recovery; the secrets of a vault refer to it.

CREATE TABLE vaults (
    uid                      TEXT PRIMARY KEY,    -- GUID, immutable
    name_key                 TEXT NOT NULL UNIQUE, -- lower-cased name
    id                       TEXT NOT NULL,       -- resource id as created
    subscription_id          TEXT NOT NULL REFERENCES subscriptions (id),
    group_key                TEXT NOT NULL,       -- lower-cased resource group name
    location                 TEXT NOT NULL,
    tags                     TEXT NOT NULL,       -- JSON object
    tenant_id                TEXT NOT NULL,
    sku                      TEXT NOT NULL,       -- standard, premium
    policies                 TEXT NOT NULL,       -- JSON array of access policies
    retention_days           INTEGER NOT NULL,
    purge_protection         INTEGER NOT NULL,  -- 0 or 1
    deployment               INTEGER NOT NULL,  -- 0 or 1
    disk_encryption          INTEGER NOT NULL,  -- 0 or 1
    template_deployment      INTEGER NOT NULL,  -- 0 or 1
    public_network_access    TEXT NOT NULL,       -- Enabled, Disabled
    state                    TEXT NOT NULL,       -- provisioningState
    created_by               TEXT NOT NULL,
    created_at               BIGINT NOT NULL,
    updated_at               BIGINT NOT NULL,
    deleted_at               BIGINT,              -- NULL while live
    scheduled_purge_at       BIGINT,              -- NULL while live
    purging                  INTEGER NOT NULL,  -- 0 or 1
    version                  BIGINT NOT NULL      -- optimistic concurrency
);
CREATE INDEX vaults_subscription ON vaults (subscription_id, name_key);
CREATE INDEX vaults_group ON vaults (subscription_id, group_key, name_key);
CREATE INDEX vaults_due ON vaults (scheduled_purge_at) WHERE deleted_at IS NOT NULL;
