-- The Socket.IO Postgres adapter's attachment table (its documented DDL), shared with Node servers:
-- messages with binary content or too large for a NOTIFY, msgpack-encoded, announced by id.
CREATE TABLE IF NOT EXISTS ${schema}.${socket_io_attachments} (
    id          bigserial UNIQUE,
    created_at  timestamptz DEFAULT NOW(),
    payload     bytea
);
-- cleanup deletes by age: indexed, so it never scans the table
CREATE INDEX IF NOT EXISTS "${socket_io_attachments:name}_created_at" ON ${schema}.${socket_io_attachments} (created_at);
