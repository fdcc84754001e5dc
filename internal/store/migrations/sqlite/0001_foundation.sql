-- Foundation: tenancy, principals and their credentials, token signing keys,
-- envelope key-encryption keys, role assignments, settings.
-- Times are BIGINT Unix nanoseconds (UTC) in both dialects.

CREATE TABLE settings (
    name  TEXT PRIMARY KEY,
    value TEXT NOT NULL
);

CREATE TABLE tenants (
    id           TEXT PRIMARY KEY,
    display_name TEXT NOT NULL,
    created_at   BIGINT NOT NULL
);

CREATE TABLE subscriptions (
    id           TEXT PRIMARY KEY,
    tenant_id    TEXT NOT NULL REFERENCES tenants (id),
    display_name TEXT NOT NULL,
    state        TEXT NOT NULL,
    created_at   BIGINT NOT NULL
);

CREATE TABLE principals (
    object_id         TEXT PRIMARY KEY,
    tenant_id         TEXT NOT NULL REFERENCES tenants (id),
    kind              TEXT NOT NULL,
    display_name      TEXT NOT NULL,
    user_name         TEXT,          -- users: lower-cased sign-in name
    client_id         TEXT,          -- service principals, managed identities
    password_hash     TEXT,          -- users: argon2id PHC string
    secret_hash       BLOB,          -- service principals: SHA-256 of the client secret
    secret_created_at BIGINT,
    enabled           INTEGER NOT NULL,  -- 0 or 1
    admin             INTEGER NOT NULL,  -- 0 or 1
    created_at        BIGINT NOT NULL
);
CREATE UNIQUE INDEX principals_user_name ON principals (tenant_id, user_name) WHERE user_name IS NOT NULL;
CREATE UNIQUE INDEX principals_client_id ON principals (client_id) WHERE client_id IS NOT NULL;

CREATE TABLE refresh_tokens (
    token_hash   BLOB PRIMARY KEY,   -- SHA-256 of the token
    family_id    TEXT NOT NULL,      -- every rotation of one sign-in
    principal_id TEXT NOT NULL REFERENCES principals (object_id) ON DELETE CASCADE,
    client_id    TEXT NOT NULL,
    created_at   BIGINT NOT NULL,
    expires_at   BIGINT NOT NULL,
    used_at      BIGINT
);
CREATE INDEX refresh_tokens_family ON refresh_tokens (family_id);

CREATE TABLE signing_keys (
    kid            TEXT PRIMARY KEY,
    algorithm      TEXT NOT NULL,
    public_der     BLOB NOT NULL,
    private_sealed BLOB NOT NULL,
    created_at     BIGINT NOT NULL,
    retired_at     BIGINT
);

CREATE TABLE keks (
    scope       TEXT NOT NULL,
    version     INTEGER NOT NULL,
    wrapped     BLOB NOT NULL,
    root_key_id TEXT NOT NULL,
    created_at  BIGINT NOT NULL,
    PRIMARY KEY (scope, version)
);
CREATE INDEX keks_root_key_id ON keks (root_key_id);

CREATE TABLE role_assignments (
    id                 TEXT PRIMARY KEY,
    scope              TEXT NOT NULL,   -- as given
    scope_key          TEXT NOT NULL,   -- lower-cased, for comparison
    principal_id       TEXT NOT NULL,
    principal_type     TEXT NOT NULL,
    role_definition_id TEXT NOT NULL,
    created_at         BIGINT NOT NULL
);
CREATE INDEX role_assignments_principal ON role_assignments (principal_id);
CREATE INDEX role_assignments_scope ON role_assignments (scope_key);
