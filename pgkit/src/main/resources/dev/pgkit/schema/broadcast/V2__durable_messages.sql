-- Durable mode (pgkit to pgkit): published messages kept for a retention window, read in commit-safe
-- (tx, seq) order; NOTIFY only wakes the readers.
CREATE TABLE IF NOT EXISTS ${schema}.pgkit_broadcast_messages (
    seq         bigserial PRIMARY KEY,
    tx          xid8 NOT NULL DEFAULT pg_current_xact_id(),
    channel     text NOT NULL,
    sender      text NOT NULL,
    message     bytea NOT NULL,
    created_at  timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX IF NOT EXISTS pgkit_broadcast_messages_channel_tx_seq ON ${schema}.pgkit_broadcast_messages (channel, tx, seq);
CREATE INDEX IF NOT EXISTS pgkit_broadcast_messages_created_at ON ${schema}.pgkit_broadcast_messages (created_at);
