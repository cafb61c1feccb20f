package dev.pgkit.broadcast;

import dev.pgkit.internal.Identifier;
import dev.pgkit.internal.Sql;

/**
 * Every statement the broadcast adapter sends. A batch of messages is one statement, so one
 * transaction and one commit (NOTIFY serialises committers on one global lock): it stores the spilled
 * messages in the attachment table and sends every message's notification, in the batch's order.
 *
 * <p>Live (non-durable) batches that store attachments commit without waiting for their WAL flush
 * ({@link #ASYNC_COMMIT}): a notification is not durable (a server crash drops every LISTEN connection anyway),
 * nor is an attachment needed past its notification. It matters beyond the flush itself: a notifying
 * transaction holds PostgreSQL's global NOTIFY lock from its pre-commit until its commit returns, so with
 * synchronous commit every such batch's WAL flush is serialised behind the others' and none share a flush.
 * A batch of inline messages writes no WAL but its commit record, and PostgreSQL never waits for the flush
 * of such a transaction: it needs no setting.
 */
final class BroadcastSql {
    /**
     * params: channels text[], inline payloads text[] (null where spilled), attachments bytea[] (null where
     * inline), sender uids text[], message types int[]. A spilled message's notification is the Node adapter's
     * header {@code {"uid":...,"type":...,"attachmentId":"<id>"}}, byte for byte. The attachment ids are matched
     * to their messages by rank: one INSERT takes its ids from the sequence in the order it inserts. The
     * notifications are sent in the batch's order: a volatile target list is evaluated after the sort.
     * Not safe to repeat: the messages would be sent twice.
     */
    final Sql publish;
    /**
     * The same for a batch of one spilled message (what a lone sender sends): params attachment bytea, channel,
     * sender uid, message type. Not safe to repeat.
     */
    final Sql publishOneSpilled;
    /**
     * The same for a batch without spilled messages: params channels text[], payloads text[]. Not safe to repeat.
     */
    final Sql publishInline;
    /**
     * Durable mode: stores a batch of messages and wakes their channels' readers in the same transaction.
     * params: channels text[], senders text[], msgpack messages bytea[]. Not safe to repeat.
     */
    final Sql publishDurable;
    /** Durable mode: the horizon a new reader starts at (every transaction below it has ended). */
    final Sql durableStart;
    /** The message table, qualified. */
    final String messages;
    /** params: attachment ids bigint[]; returns (id, payload) of those still stored, in no order. */
    final Sql attachmentsGet;

    /**
     * A one-row FROM item that turns off the wait for this transaction's WAL flush ({@code set_config(..., true)}
     * lasts until the transaction's end, and is read when it commits): one statement, no extra round trip.
     */
    static final String ASYNC_COMMIT = "(SELECT set_config('synchronous_commit', 'off', true)) AS async_commit";
    /** A batch of one inline message (what a lone blocking sender sends; no setting needed): params channel, payload. Not safe to repeat. */
    final Sql publishOneInline;

    BroadcastSql(Identifier schema, Identifier table) {
        String attachments = schema.qualify(table.name());
        publish = Sql.write("broadcast.publish", """
                WITH m AS (
                  SELECT * FROM unnest(?::text[], ?::text[], ?::bytea[], ?::text[], ?::int[])
                    WITH ORDINALITY AS m(channel, inline, attachment, uid, type, ord)
                ), stored AS (
                  INSERT INTO %1$s (payload) SELECT attachment FROM m WHERE attachment IS NOT NULL ORDER BY ord RETURNING id
                ), ids AS (
                  SELECT id, row_number() OVER (ORDER BY id) AS rank FROM stored
                ), spilled AS (
                  SELECT ord, row_number() OVER (ORDER BY ord) AS rank FROM m WHERE attachment IS NOT NULL
                )
                SELECT pg_notify(m.channel, coalesce(m.inline,
                         '{"uid":' || to_json(m.uid)::text || ',"type":' || m.type || ',"attachmentId":"' || ids.id || '"}'))
                FROM %2$s, m LEFT JOIN spilled ON spilled.ord = m.ord LEFT JOIN ids ON ids.rank = spilled.rank
                ORDER BY m.ord""".formatted(attachments, ASYNC_COMMIT));
        publishOneSpilled = Sql.write("broadcast.publishOneSpilled", """
                WITH stored AS (INSERT INTO %1$s (payload) VALUES (?) RETURNING id)
                SELECT pg_notify(?, '{"uid":' || to_json(?::text)::text || ',"type":' || ?::int || ',"attachmentId":"' || stored.id || '"}')
                FROM %2$s, stored""".formatted(attachments, ASYNC_COMMIT));
        publishInline = Sql.write("broadcast.publishInline", """
                SELECT pg_notify(m.channel, m.payload) FROM unnest(?::text[], ?::text[]) WITH ORDINALITY AS m(channel, payload, ord)
                ORDER BY m.ord""");
        publishOneInline = Sql.write("broadcast.publishOneInline", "SELECT pg_notify(?, ?)");
        messages = schema.qualify(BroadcastSchema.MESSAGES);
        publishDurable = Sql.write("broadcast.publishDurable", """
                WITH m AS (
                  SELECT * FROM unnest(?::text[], ?::text[], ?::bytea[]) WITH ORDINALITY AS m(channel, sender, message, ord)
                ), stored AS (
                  INSERT INTO %1$s (channel, sender, message) SELECT channel, sender, message FROM m ORDER BY ord RETURNING channel
                )
                SELECT pg_notify(c.channel, '') FROM (SELECT DISTINCT channel FROM stored) c""".formatted(messages));
        durableStart = Sql.read("broadcast.durableStart", "SELECT pg_snapshot_xmin(pg_current_snapshot())::text::bigint");
        attachmentsGet = Sql.read("broadcast.attachmentsGet", "SELECT id, payload FROM " + attachments + " WHERE id = ANY(?)");
    }
}
