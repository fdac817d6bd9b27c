-- garita schema v1. Portable SQL: TEXT ids (UUID), TEXT timestamps in fixed-width UTC RFC 3339 (millisecond,
-- 'Z') so they sort as text, BIGINT, DOUBLE PRECISION and BOOLEAN only. PostgreSQL runs it unchanged.

CREATE TABLE agency (
    id INTEGER PRIMARY KEY CHECK (id = 1),
    name TEXT NOT NULL,
    country TEXT NOT NULL,
    created_at TEXT NOT NULL
);

CREATE TABLE users (
    id TEXT PRIMARY KEY,
    username TEXT NOT NULL UNIQUE,
    role TEXT NOT NULL,
    password_hash TEXT NOT NULL,
    disabled BOOLEAN NOT NULL DEFAULT FALSE,
    created_at TEXT NOT NULL
);

CREATE TABLE tokens (
    token_hash TEXT PRIMARY KEY,
    user_id TEXT NOT NULL REFERENCES users(id),
    created_at TEXT NOT NULL,
    expires_at TEXT NOT NULL,
    revoked_at TEXT
);

CREATE TABLE sites (
    id TEXT PRIMARY KEY,
    name TEXT NOT NULL UNIQUE,
    kind TEXT NOT NULL,
    mobility TEXT NOT NULL,
    created_at TEXT NOT NULL
);

CREATE TABLE devices (
    id TEXT PRIMARY KEY,
    site_id TEXT NOT NULL REFERENCES sites(id),
    kind TEXT NOT NULL,
    public_key TEXT NOT NULL UNIQUE,
    status TEXT NOT NULL,
    created_at TEXT NOT NULL
);

CREATE TABLE captures (
    id TEXT PRIMARY KEY,
    device_id TEXT NOT NULL REFERENCES devices(id),
    seq BIGINT NOT NULL,
    payload_type TEXT NOT NULL,
    envelope_sha256 TEXT NOT NULL,
    envelope_json TEXT NOT NULL,
    captured_at TEXT NOT NULL,
    received_at TEXT NOT NULL,
    -- Per-record random salt for the ledger commitment; deleting it (purge) makes the commitment unlinkable.
    salt TEXT NOT NULL,
    leaf_index BIGINT,
    UNIQUE (device_id, seq)
);

CREATE TABLE capture_blobs (
    capture_id TEXT NOT NULL REFERENCES captures(id),
    idx BIGINT NOT NULL,
    sha256 TEXT NOT NULL,
    size BIGINT NOT NULL,
    PRIMARY KEY (capture_id, idx)
);

CREATE TABLE subjects (
    id TEXT PRIMARY KEY,
    claimed_citizenship TEXT,
    given_name TEXT,
    family_name TEXT,
    created_at TEXT NOT NULL
);

CREATE TABLE encounters (
    id TEXT PRIMARY KEY,
    subject_id TEXT NOT NULL REFERENCES subjects(id),
    site_id TEXT NOT NULL REFERENCES sites(id),
    device_id TEXT NOT NULL REFERENCES devices(id),
    capture_id TEXT NOT NULL REFERENCES captures(id),
    captured_at TEXT NOT NULL
);
CREATE INDEX encounters_subject ON encounters (subject_id);

CREATE TABLE samples (
    id TEXT PRIMARY KEY,
    encounter_id TEXT NOT NULL REFERENCES encounters(id),
    modality TEXT NOT NULL,
    position BIGINT NOT NULL,
    format TEXT NOT NULL,
    quality BIGINT,
    blob_sha256 TEXT NOT NULL
);
CREATE INDEX samples_encounter ON samples (encounter_id);

CREATE TABLE watchlist (
    id TEXT PRIMARY KEY,
    subject_id TEXT NOT NULL REFERENCES subjects(id),
    category TEXT NOT NULL,
    source_agency TEXT NOT NULL,
    reason TEXT NOT NULL,
    created_by TEXT NOT NULL REFERENCES users(id),
    created_at TEXT NOT NULL
);

CREATE TABLE alerts (
    id TEXT PRIMARY KEY,
    encounter_id TEXT NOT NULL REFERENCES encounters(id),
    candidate_subject_id TEXT NOT NULL REFERENCES subjects(id),
    category TEXT NOT NULL,
    score DOUBLE PRECISION NOT NULL,
    status TEXT NOT NULL,
    decided_by TEXT REFERENCES users(id),
    decided_at TEXT,
    reason TEXT,
    created_at TEXT NOT NULL
);
CREATE INDEX alerts_status ON alerts (status, created_at);

CREATE TABLE consignments (
    id TEXT PRIMARY KEY,
    capture_id TEXT NOT NULL REFERENCES captures(id),
    site_id TEXT NOT NULL REFERENCES sites(id),
    container_number TEXT,
    conveyance TEXT NOT NULL,
    declarant TEXT NOT NULL,
    origin TEXT,
    lane TEXT,
    created_at TEXT NOT NULL
);

CREATE TABLE manifest_lines (
    consignment_id TEXT NOT NULL REFERENCES consignments(id),
    line_no BIGINT NOT NULL,
    hs_code TEXT NOT NULL,
    description TEXT NOT NULL,
    declared_mass_kg DOUBLE PRECISION NOT NULL,
    quantity BIGINT NOT NULL,
    value DOUBLE PRECISION,
    currency TEXT,
    PRIMARY KEY (consignment_id, line_no)
);

CREATE TABLE decisions (
    id TEXT PRIMARY KEY,
    consignment_id TEXT NOT NULL REFERENCES consignments(id),
    decision TEXT NOT NULL,
    reason TEXT NOT NULL,
    officer_id TEXT NOT NULL REFERENCES users(id),
    decided_at TEXT NOT NULL
);

CREATE TABLE seizures (
    id TEXT PRIMARY KEY,
    consignment_id TEXT NOT NULL REFERENCES consignments(id),
    substance TEXT NOT NULL,
    quantity_kg DOUBLE PRECISION NOT NULL,
    concealment TEXT NOT NULL,
    officer_id TEXT NOT NULL REFERENCES users(id),
    recorded_at TEXT NOT NULL
);

-- Append-only: no code path updates or deletes these rows.
CREATE TABLE audit (
    id TEXT PRIMARY KEY,
    at TEXT NOT NULL,
    actor_kind TEXT NOT NULL,
    actor_id TEXT,
    actor_name TEXT,
    action TEXT NOT NULL,
    object_kind TEXT NOT NULL,
    object_id TEXT,
    subject_id TEXT,
    remote_addr TEXT,
    outcome TEXT NOT NULL
);
CREATE INDEX audit_at ON audit (at);
CREATE INDEX audit_actor ON audit (actor_id, at);
CREATE INDEX audit_subject ON audit (subject_id, at);
