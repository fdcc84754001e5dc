-- Storage accounts (internal/storageaccount).
--
-- An account name is unique across every subscription (name_key; Azure's
-- names are lower case already, the key is lower-cased all the same). An
-- account is Creating until its creation operation marks it Succeeded,
-- and Deleting while its blobs are purged; the row then goes. uid never
-- changes.

CREATE TABLE storage_accounts (
    uid             TEXT PRIMARY KEY,     -- GUID, immutable
    name_key        TEXT NOT NULL UNIQUE, -- lower-cased name
    id              TEXT NOT NULL,        -- resource id as created
    subscription_id TEXT NOT NULL REFERENCES subscriptions (id),
    group_key       TEXT NOT NULL,        -- lower-cased resource group name
    location        TEXT NOT NULL,
    tags            TEXT NOT NULL,        -- JSON object
    tenant_id       TEXT NOT NULL,
    sku             TEXT NOT NULL,        -- Standard_LRS, Standard_ZRS, ...
    kind            TEXT NOT NULL,        -- StorageV2
    state           TEXT NOT NULL,        -- provisioningState
    created_by      TEXT NOT NULL,
    created_at      BIGINT NOT NULL,
    updated_at      BIGINT NOT NULL,
    version         BIGINT NOT NULL       -- optimistic concurrency
);
CREATE INDEX storage_accounts_subscription ON storage_accounts (subscription_id, name_key);
CREATE INDEX storage_accounts_group ON storage_accounts (subscription_id, group_key, name_key);
