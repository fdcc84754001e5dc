-- Portal sessions (internal/portal): signed-in browsers, kept here so that
-- a restart signs no one out and every replica knows every session.
--
-- Only the SHA-256 of a session id (the cookie value) is kept, so a copy
-- of the database does not let anyone act as a signed-in user; the CSRF
-- token is not kept at all (the portal derives it from the id). The portal
-- writes last_seen_at at most once a minute, so page views are mostly
-- reads. Expired sessions are deleted when looked up and whenever someone
-- signs in (the two indexes serve that sweep).
CREATE TABLE portal_sessions (
    id_hash         BLOB PRIMARY KEY,     -- SHA-256 of the session id
    user_object_id  TEXT NOT NULL,
    user_name       TEXT NOT NULL,
    tenant_id       TEXT NOT NULL,
    subscription_id TEXT NOT NULL,        -- '' until the portal first reads it
    created_at      BIGINT NOT NULL,
    last_seen_at    BIGINT NOT NULL
);
CREATE INDEX portal_sessions_last_seen ON portal_sessions (last_seen_at);
CREATE INDEX portal_sessions_created ON portal_sessions (created_at);

-- The long-running operations a session started: only that session may
-- follow them. key_shown goes from 0 to 1 in one conditional UPDATE, so an
-- activation key is shown at most once whichever replica serves the page
-- (and back to 0 only if the page that claimed it could not read the key).
CREATE TABLE portal_session_operations (
    session_hash BLOB NOT NULL REFERENCES portal_sessions (id_hash) ON DELETE CASCADE,
    id           TEXT NOT NULL,           -- the operation id (status URL's last segment)
    kind         TEXT NOT NULL,           -- generate | sync | delete | recover
    group_name   TEXT NOT NULL,
    name         TEXT NOT NULL,
    status_url   TEXT NOT NULL,
    result_url   TEXT NOT NULL,
    key_shown    INTEGER NOT NULL,        -- 0 or 1
    PRIMARY KEY (session_hash, id)
);
