-- PostgreSQL only (docs/storage.md): the append-only audit table is range-partitioned by month of `at`, so listing
-- recent events touches the newest partitions only and an audit purge, when one is configured, drops whole months
-- (DETACH + DROP) instead of deleting rows. Partitions are named audit_YYYY_MM and cover ['YYYY-MM', next month):
-- `at` is fixed-width UTC text, compared bytewise (COLLATE "C", as in SQLite). The store creates the partitions of
-- the current and next two months at start, and a month's partition before its first row; a row no partition covers
-- lands in audit_default. The key becomes (at, id): a partitioned table's unique keys must contain its partition
-- key; ids are random UUIDs, unique on their own.
ALTER TABLE audit RENAME TO audit_unpartitioned;
ALTER INDEX audit_at RENAME TO audit_unpartitioned_at;
ALTER INDEX audit_actor RENAME TO audit_unpartitioned_actor;
ALTER INDEX audit_subject RENAME TO audit_unpartitioned_subject;

CREATE TABLE audit (
    id TEXT NOT NULL,
    at TEXT COLLATE "C" NOT NULL,
    actor_kind TEXT NOT NULL,
    actor_id TEXT,
    actor_name TEXT,
    action TEXT NOT NULL,
    object_kind TEXT NOT NULL,
    object_id TEXT,
    subject_id TEXT,
    remote_addr TEXT,
    outcome TEXT NOT NULL,
    salt TEXT,
    leaf_index BIGINT,
    PRIMARY KEY (at, id)
) PARTITION BY RANGE (at);
CREATE INDEX audit_actor ON audit (actor_id, at);
CREATE INDEX audit_subject ON audit (subject_id, at);
CREATE TABLE audit_default PARTITION OF audit DEFAULT;

-- A partition for every month that already has rows, then the rows.
DO $$
DECLARE
    month TEXT;
BEGIN
    FOR month IN SELECT DISTINCT SUBSTR(at, 1, 7) FROM audit_unpartitioned WHERE at ~ '^[0-9]{4}-[0-9]{2}-' LOOP
        EXECUTE format(
            'CREATE TABLE %I PARTITION OF audit FOR VALUES FROM (%L) TO (%L)',
            'audit_' || replace(month, '-', '_'),
            month,
            to_char(to_date(month || '-01', 'YYYY-MM-DD') + interval '1 month', 'YYYY-MM')
        );
    END LOOP;
END
$$;
INSERT INTO audit (id, at, actor_kind, actor_id, actor_name, action, object_kind, object_id, subject_id, remote_addr,
                   outcome, salt, leaf_index)
SELECT id, at, actor_kind, actor_id, actor_name, action, object_kind, object_id, subject_id, remote_addr, outcome,
       salt, leaf_index
FROM audit_unpartitioned;
DROP TABLE audit_unpartitioned;
