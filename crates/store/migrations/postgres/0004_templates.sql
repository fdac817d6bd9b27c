-- Finger templates extracted from samples (garita-finger native format, stored as blobs), for the 1:N gallery.
CREATE TABLE templates (
    sample_id TEXT PRIMARY KEY REFERENCES samples(id),
    encounter_id TEXT NOT NULL REFERENCES encounters(id),
    subject_id TEXT NOT NULL REFERENCES subjects(id),
    position BIGINT NOT NULL,
    blob_sha256 TEXT NOT NULL
);
CREATE INDEX templates_encounter ON templates (encounter_id);
