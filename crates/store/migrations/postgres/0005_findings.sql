-- Findings on NII scans: the analysis's and officers', kept apart by `source`; an officer's rejection is recorded,
-- never a deletion. The lane's reasons are kept beside the lane as JSON.
CREATE TABLE findings (
    id TEXT PRIMARY KEY,
    consignment_id TEXT NOT NULL REFERENCES consignments(id),
    x BIGINT NOT NULL,
    y BIGINT NOT NULL,
    width BIGINT NOT NULL,
    height BIGINT NOT NULL,
    kind TEXT NOT NULL,
    score DOUBLE PRECISION NOT NULL,
    source TEXT NOT NULL,
    reason TEXT NOT NULL,
    created_by TEXT REFERENCES users(id),
    created_at TEXT NOT NULL,
    rejected_by TEXT REFERENCES users(id),
    rejected_at TEXT,
    rejection_reason TEXT
);
CREATE INDEX findings_consignment ON findings (consignment_id);
ALTER TABLE consignments ADD COLUMN lane_reasons TEXT;
