-- pgkit's addition: every lock acquisition draws a fencing number from this sequence, so a protected
-- resource can reject writes from a holder whose lock has since passed to someone else.
-- (A sequence, not a column, so the Node adapter's table stays exactly as it defines it.)
CREATE SEQUENCE IF NOT EXISTS ${schema}.chat_state_lock_fence AS bigint;
