-- Each record that goes into the ledger keeps its leaf index and the per-record salt of its commitment.
-- (captures already have both.) Deleting the salt on purge leaves the logged commitment unopenable.
ALTER TABLE audit ADD COLUMN salt TEXT;
ALTER TABLE audit ADD COLUMN leaf_index BIGINT;
ALTER TABLE decisions ADD COLUMN salt TEXT;
ALTER TABLE decisions ADD COLUMN leaf_index BIGINT;
ALTER TABLE seizures ADD COLUMN salt TEXT;
ALTER TABLE seizures ADD COLUMN leaf_index BIGINT;
ALTER TABLE alerts ADD COLUMN status_salt TEXT;
ALTER TABLE alerts ADD COLUMN status_leaf_index BIGINT;
