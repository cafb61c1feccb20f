-- Attachments and durable messages are written once and read back within seconds, and a message over
-- about 2 KB is compressed on the way in: lz4 does it many times faster than pglz, PostgreSQL's default
-- (a 20 KB JSON message: about 5 µs against 80 µs; 18 of them per statement: 1,640 statements a second
-- against 500 on one core). Only new rows are affected; every reader, Node's included, decompresses either
-- transparently. Skipped where the server was built without lz4 (or predates PostgreSQL 14).
DO $do$
BEGIN
  IF EXISTS (SELECT FROM pg_settings WHERE name = 'default_toast_compression' AND 'lz4' = ANY (enumvals)) THEN
    EXECUTE 'ALTER TABLE ${schema}.${socket_io_attachments} ALTER COLUMN payload SET COMPRESSION lz4';
    EXECUTE 'ALTER TABLE ${schema}.pgkit_broadcast_messages ALTER COLUMN message SET COMPRESSION lz4';
  END IF;
END
$do$;
