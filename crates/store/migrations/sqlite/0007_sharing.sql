-- Partner sharing (docs/sharing.md). Agreements are ledger-recorded; every export and import is kept with its
-- checkpoint so either side can later prove what was shared; the partner's cosignatures of exported checkpoints
-- are kept beside the export they cover.
CREATE TABLE share_agreements (
    id TEXT PRIMARY KEY,
    direction TEXT NOT NULL,
    partner_name TEXT NOT NULL,
    agreement_json TEXT NOT NULL,
    created_by TEXT NOT NULL REFERENCES users(id),
    created_at TEXT NOT NULL,
    salt TEXT NOT NULL,
    leaf_index BIGINT NOT NULL
);

CREATE TABLE share_exports (
    id TEXT PRIMARY KEY,
    agreement_id TEXT NOT NULL REFERENCES share_agreements(id),
    sequence BIGINT NOT NULL,
    created_at TEXT NOT NULL,
    since TEXT NOT NULL,
    checkpoint TEXT NOT NULL,
    tree_size BIGINT NOT NULL,
    record_count BIGINT NOT NULL,
    bundle_sha256 TEXT NOT NULL,
    created_by TEXT,
    UNIQUE (agreement_id, sequence)
);

CREATE TABLE share_export_records (
    reference TEXT PRIMARY KEY,
    export_id TEXT NOT NULL REFERENCES share_exports(id),
    kind TEXT NOT NULL,
    source_id TEXT NOT NULL,
    leaf_index BIGINT NOT NULL,
    salt TEXT NOT NULL
);
CREATE INDEX share_export_records_export ON share_export_records (export_id);
CREATE INDEX share_export_records_source ON share_export_records (source_id);

CREATE TABLE share_cosignatures (
    export_id TEXT NOT NULL REFERENCES share_exports(id),
    partner_name TEXT NOT NULL,
    lines TEXT NOT NULL,
    received_at TEXT NOT NULL,
    PRIMARY KEY (export_id, partner_name)
);

CREATE TABLE share_imports (
    id TEXT PRIMARY KEY,
    agreement_id TEXT NOT NULL REFERENCES share_agreements(id),
    sequence BIGINT NOT NULL,
    partner_name TEXT NOT NULL,
    checkpoint TEXT NOT NULL,
    tree_size BIGINT NOT NULL,
    root TEXT NOT NULL,
    record_count BIGINT NOT NULL,
    imported_at TEXT NOT NULL,
    cosignature TEXT,
    UNIQUE (agreement_id, sequence)
);

CREATE TABLE share_imported_records (
    reference TEXT PRIMARY KEY,
    import_id TEXT NOT NULL REFERENCES share_imports(id),
    kind TEXT NOT NULL,
    parent TEXT,
    leaf_index BIGINT NOT NULL,
    fields_json TEXT NOT NULL,
    files_json TEXT NOT NULL
);
CREATE INDEX share_imported_records_import ON share_imported_records (import_id);

-- Hit answers: `received` ones (a partner's, which became an alert here) and `sent` ones (ours to a partner).
CREATE TABLE share_answers (
    id TEXT PRIMARY KEY,
    direction TEXT NOT NULL,
    agreement_id TEXT NOT NULL REFERENCES share_agreements(id),
    reference TEXT NOT NULL,
    category TEXT NOT NULL,
    score DOUBLE PRECISION NOT NULL,
    answered_at TEXT NOT NULL,
    signed_json TEXT NOT NULL,
    alert_id TEXT,
    received_at TEXT NOT NULL
);

-- Where an alert came from: NULL for the local 1:N search, `partner:<name>` for a partner's answer.
ALTER TABLE alerts ADD COLUMN source TEXT;
