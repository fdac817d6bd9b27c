-- The payload blob's name, so retention purges can tell whether a blob is still referenced.
ALTER TABLE captures ADD COLUMN payload_sha256 TEXT;
CREATE INDEX captures_received ON captures (payload_type, received_at);
