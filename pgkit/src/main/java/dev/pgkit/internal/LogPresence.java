package dev.pgkit.internal;

import java.util.ArrayList;
import java.util.List;

/**
 * Presence gating of an ordered log's NOTIFY (DESIGN: writers notify only when someone listens): the writer's side
 * ({@link #notifySql}) and the reader's ({@link OrderedLog#followGated}). Internal to pgkit (not exported).
 *
 * <p>A live reader of channel {@code c} holds, on its process's listener connection, the shared advisory locks
 * {@code (WakeProtocol.LOG_PRESENCE_CLASS, hashtext(c || chr(31) || shard))} of every shard while it runs. A writer
 * tries the exclusive transaction lock of one shard, which succeeds when no reader of the channel holds its presence
 * (a reader whose presence is still pending, or refused by the listener's cap on presence locks, falls back to the
 * re-check interval; each gated channel takes {@link #SHARDS} of those slots); it then sends no NOTIFY, and its lock keeps a starting reader's presence out until it commits. That
 * reader is woken when its presence becomes held, so it re-reads after the commit that announced nothing: without
 * the lock held to commit, a reader could take its presence, read before the commit and sleep through it. Only when
 * the try fails does the writer NOTIFY, so appends nobody follows never take NOTIFY's commit-serialising global lock.
 *
 * <p>Readers hold every shard so that a writer may pick any: concurrent writers that picked one shard find each
 * other's exclusive lock and NOTIFY needlessly, so the shard key should differ between concurrent writers.
 */
public final class LogPresence {
    /** How many presence keys a channel is spread over. */
    public static final int SHARDS = 16;

    private LogPresence() {
    }

    /**
     * The writer's SQL expression, evaluated once in the writing transaction: NOTIFYs {@code channelSql} (empty payload)
     * only while some live reader of it runs. Its value is the number of notifications sent (0 or 1).
     *
     * @param channelSql  a SQL expression of the channel's name (a bound parameter or a column)
     * @param shardKeySql a SQL expression whose text picks the shard
     */
    public static String notifySql(String channelSql, String shardKeySql) {
        String lock = WakeProtocol.LOG_PRESENCE_CLASS + ", hashtext(" + channelSql + " || chr(31) || (abs(hashtext(("
                + shardKeySql + ")::text)::bigint) % " + SHARDS + ")::text)";
        return "CASE WHEN pg_try_advisory_xact_lock(" + lock + ") THEN 0"
                + " ELSE (SELECT count(*) FROM (SELECT pg_notify(" + channelSql + ", '')) notified) END";
    }

    /** The presence key of one shard of {@code channel}, as {@link #notifySql} computes it. */
    public static String key(String channel, int shard) {
        return channel + '\u001f' + shard;
    }

    /**
     * Holds the presence of every shard of {@code channel} until the holds are closed; {@code onHeld} runs (on the
     * listener thread: keep it short) each time one becomes held, when a writer may just have committed unannounced.
     */
    static List<NotificationListener.PresenceHold> hold(NotificationListener listener, String channel, Runnable onHeld) {
        List<NotificationListener.PresenceHold> holds = new ArrayList<>(SHARDS);
        for (int shard = 0; shard < SHARDS; shard++) {
            holds.add(listener.holdPresence(WakeProtocol.LOG_PRESENCE_CLASS, key(channel, shard), onHeld));
        }
        return holds;
    }
}
