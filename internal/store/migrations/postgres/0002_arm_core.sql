-- ARM core: resource groups, provider registrations, role-assignment
-- details, management locks, long-running operations.

CREATE TABLE resource_groups (
    id_key          TEXT PRIMARY KEY,   -- lower-cased resource id
    id              TEXT NOT NULL,      -- as created
    subscription_id TEXT NOT NULL REFERENCES subscriptions (id),
    name            TEXT NOT NULL,
    location        TEXT NOT NULL,
    tags            TEXT NOT NULL,      -- JSON object
    managed_by      TEXT NOT NULL,
    state           TEXT NOT NULL,      -- provisioningState: Succeeded, Deleting
    etag            TEXT NOT NULL,
    created_at      BIGINT NOT NULL,
    updated_at      BIGINT NOT NULL
);
CREATE INDEX resource_groups_subscription ON resource_groups (subscription_id, id_key);

CREATE TABLE provider_registrations (
    subscription_id TEXT NOT NULL REFERENCES subscriptions (id),
    namespace_key   TEXT NOT NULL,      -- lower-cased namespace
    namespace       TEXT NOT NULL,
    state           TEXT NOT NULL,      -- Registered, Registering, Unregistering, Unregistered
    updated_at      BIGINT NOT NULL,
    PRIMARY KEY (subscription_id, namespace_key)
);

ALTER TABLE role_assignments ADD COLUMN description TEXT NOT NULL DEFAULT '';
ALTER TABLE role_assignments ADD COLUMN created_by TEXT NOT NULL DEFAULT '';
ALTER TABLE role_assignments ADD COLUMN updated_at BIGINT NOT NULL DEFAULT 0;
CREATE UNIQUE INDEX role_assignments_unique ON role_assignments (scope_key, principal_id, role_definition_id);

CREATE TABLE locks (
    id_key     TEXT PRIMARY KEY,        -- lower-cased lock id
    id         TEXT NOT NULL,
    scope_key  TEXT NOT NULL,           -- lower-cased id of the locked scope
    name       TEXT NOT NULL,
    level      TEXT NOT NULL,           -- CanNotDelete, ReadOnly
    notes      TEXT NOT NULL,
    owners     TEXT NOT NULL,           -- JSON array of {"applicationId": ...}
    created_by TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL
);
CREATE INDEX locks_scope ON locks (scope_key);

CREATE TABLE operations (
    id              TEXT PRIMARY KEY,   -- GUID; the operation status resource's name
    subscription_id TEXT NOT NULL,
    kind            TEXT NOT NULL,      -- what runs it, e.g. "resourceGroups/delete"
    resource_id     TEXT NOT NULL,      -- the target, as given
    principal_id    TEXT NOT NULL,      -- who started it
    status          TEXT NOT NULL,      -- InProgress, Succeeded, Failed, Canceled
    percent         INTEGER NOT NULL,
    input           TEXT NOT NULL,      -- JSON: what the job needs
    error           TEXT NOT NULL,      -- JSON ARM error detail, '' unless Failed
    result          TEXT NOT NULL,      -- JSON: the final response, '' until done
    started_at      BIGINT NOT NULL,
    ended_at        BIGINT
);
CREATE INDEX operations_status ON operations (status);
