-- Edge resources (internal/edge), their activation keys
-- (internal/activation) and their alerts (internal/alert).
--
-- A device name is unique ignoring case within its resource group
-- (subscription_id, group_key, name_key). uid never changes; keys and
-- alerts name it, so a device deleted and created again under the same
-- name inherits neither. sort_key is the lower-cased "group/name" that
-- lists page on, compared byte by byte (SQLite's BINARY collation; the
-- PostgreSQL column is COLLATE "C"), so both dialects list in one order.
-- doc is the JSON of the device's other fields (store/edge_device.go): no
-- query looks inside it. Keys and alerts carry no foreign key: deleting a
-- device deletes them in the same transaction, and a row written for a
-- device deleted meanwhile names a uid no device will ever have again.

CREATE TABLE edge_devices (
    uid             TEXT PRIMARY KEY,     -- GUID, immutable
    name_key        TEXT NOT NULL,        -- lower-cased name
    subscription_id TEXT NOT NULL REFERENCES subscriptions (id),
    group_key       TEXT NOT NULL,        -- lower-cased resource group name
    sort_key        TEXT COLLATE "C" NOT NULL, -- group_key || '/' || name_key
    id              TEXT NOT NULL,        -- resource id as created
    tenant_id       TEXT NOT NULL,
    doc             TEXT NOT NULL,        -- JSON object: every other field
    created_at      BIGINT NOT NULL,
    updated_at      BIGINT NOT NULL,
    version         BIGINT NOT NULL,      -- optimistic concurrency
    UNIQUE (subscription_id, group_key, name_key)
);
CREATE INDEX edge_devices_subscription ON edge_devices (subscription_id, sort_key);
CREATE INDEX edge_devices_group ON edge_devices (subscription_id, group_key, sort_key);

-- Activation keys: only the SHA-256 of a key's secret is kept. A key is
-- used once: used_at goes from NULL to the time in one conditional UPDATE.
-- revoked_at and used_at are NULL until the key is revoked or used.
CREATE TABLE activation_keys (
    id          TEXT PRIMARY KEY,       -- GUID, also inside the key text
    device_uid  TEXT NOT NULL,          -- edge_devices.uid
    secret_hash BYTEA NOT NULL,         -- SHA-256 of the 32 secret bytes
    created_by  TEXT NOT NULL,
    created_at  BIGINT NOT NULL,
    expires_at  BIGINT NOT NULL,
    revoked_at  BIGINT,
    used_at     BIGINT,
    used_serial TEXT NOT NULL,          -- '' until used
    used_key    TEXT NOT NULL           -- '' until used: device key fingerprint
);
CREATE INDEX activation_keys_device ON activation_keys (device_uid, created_at);

-- Alerts: at most one active alert (resolved_at NULL) per device and type,
-- which the partial unique index enforces and RaiseAlert's upsert targets.
-- Resolved alerts stay as history until the device goes.
CREATE TABLE alerts (
    id             TEXT PRIMARY KEY,    -- GUID, the alert's name
    device_uid     TEXT NOT NULL,       -- edge_devices.uid
    type           TEXT NOT NULL,
    severity       TEXT NOT NULL,
    title          TEXT NOT NULL,
    recommendation TEXT NOT NULL,
    error_code     TEXT NOT NULL,
    error_message  TEXT NOT NULL,
    occurrences    BIGINT NOT NULL,
    details        TEXT NOT NULL,       -- JSON object
    appeared_at    BIGINT NOT NULL,
    last_seen_at   BIGINT NOT NULL,
    resolved_at    BIGINT               -- NULL while active
);
CREATE UNIQUE INDEX alerts_active ON alerts (device_uid, type) WHERE resolved_at IS NULL;
CREATE INDEX alerts_device ON alerts (device_uid, appeared_at);
