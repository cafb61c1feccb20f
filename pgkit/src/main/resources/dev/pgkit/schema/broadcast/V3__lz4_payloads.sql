-- Attachments and durable messages are written once and read back within seconds, and a message over
-- about 2 KB is compressed on the way in: lz4 does it many times faster than pglz, PostgreSQL's default
-- (a 20 KB JSON message: about 5 µs against 80 µs; 18 of them per statement: 1,640 statements a second
-- against 500 on one core). Only new rows are affected; every reader, Node's included, decompresses either
-- transparently. Skipped where the server was built without lz4 (or predates PostgreSQL 14).
-- Each ALTER takes an ACCESS EXCLUSIVE lock on a table Node servers may be using: it waits at most 2 s for it,
-- and where it cannot have it (or the role does not own the table) the tables keep their compression, with a
-- notice; nothing else depends on it.
DO $do$
DECLARE
  previous_lock_timeout text := current_setting('lock_timeout');
BEGIN
  IF EXISTS (SELECT FROM pg_settings WHERE name = 'default_toast_compression' AND 'lz4' = ANY (enumvals)) THEN
    PERFORM set_config('lock_timeout', '2s', true);
    BEGIN
      EXECUTE 'ALTER TABLE ${schema}.${socket_io_attachments} ALTER COLUMN payload SET COMPRESSION lz4';
      EXECUTE 'ALTER TABLE ${schema}.pgkit_broadcast_messages ALTER COLUMN message SET COMPRESSION lz4';
    EXCEPTION WHEN lock_not_available OR insufficient_privilege THEN
      RAISE NOTICE 'pgkit: stored broadcast messages keep the default compression (%); as the tables'' owner, when they are idle: ALTER TABLE ... ALTER COLUMN ... SET COMPRESSION lz4', SQLERRM;
    END;
    PERFORM set_config('lock_timeout', previous_lock_timeout, true);
  END IF;
END
$do$;
