-- Resumable chunked uploads of large captures (docs/terminal.md): the signed envelope is presented first, the
-- bytes (payload then blobs, concatenated) arrive in chunks appended to DATA/uploads/<id>.part, and `received`
-- is the durable offset: it is updated only after the chunk is fsync'd. A commit runs the normal capture ingest and
-- deletes the row.
CREATE TABLE uploads (
    id TEXT PRIMARY KEY,
    device_id TEXT NOT NULL REFERENCES devices(id),
    seq BIGINT NOT NULL,
    envelope_sha256 TEXT NOT NULL,
    envelope_json TEXT NOT NULL,
    total_size BIGINT NOT NULL,
    received BIGINT NOT NULL,
    created_at TEXT NOT NULL,
    UNIQUE (device_id, seq, envelope_sha256)
);
