-- Blob storage for audit-log delivery (internal/blob): per storage
-- account, containers of append-only blobs. A blob is one blob_objects row
-- (size, append count, times) and one blob_chunks row per append, holding
-- the bytes [off, end_off). Names are also kept as bytes (name_b) so that
-- ordering and comparison are by UTF-8 bytes in every dialect, as Azure
-- lists, whatever the database collation.

CREATE TABLE blob_containers (
    account_key TEXT NOT NULL,   -- lower-cased storage account resource id
    name        TEXT NOT NULL,
    name_b      BLOB NOT NULL,   -- name as bytes: the sort key
    created_at  BIGINT NOT NULL,
    modified_at BIGINT NOT NULL,
    PRIMARY KEY (account_key, name_b)
);

CREATE TABLE blob_objects (
    account_key TEXT NOT NULL,
    container   TEXT NOT NULL,
    name        TEXT NOT NULL,
    name_b      BLOB NOT NULL,
    size        BIGINT NOT NULL,
    appends     BIGINT NOT NULL,  -- committed blocks; the last chunk's seq
    created_at  BIGINT NOT NULL,
    modified_at BIGINT NOT NULL,
    PRIMARY KEY (account_key, container, name_b)
);

CREATE TABLE blob_chunks (
    account_key TEXT NOT NULL,
    container   TEXT NOT NULL,
    name_b      BLOB NOT NULL,
    seq         BIGINT NOT NULL,  -- 1, 2, ... per blob
    off         BIGINT NOT NULL,
    end_off     BIGINT NOT NULL,
    data        BLOB NOT NULL,
    PRIMARY KEY (account_key, container, name_b, seq)
);
CREATE INDEX blob_chunks_offset ON blob_chunks (account_key, container, name_b, off);
