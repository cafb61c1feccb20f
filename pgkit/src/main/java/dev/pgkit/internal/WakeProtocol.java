package dev.pgkit.internal;

import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.HexFormat;

/**
 * The one home of the wake-up protocol between writers (SQL) and waiters (Java), so the two cannot
 * disagree. A waiter on key {@code (scope, key)} of a {@link Kind}:
 * <ul>
 *   <li>holds the shared advisory lock {@code (kind.presenceClass, hashtext(scope || chr(31) || key))}
 *       on the listener's connection (its <em>presence</em>, see {@link #presenceName});</li>
 *   <li>listens on {@code kind.channel} for the payload {@code kind.letter || md5(scope || chr(31) || key)}
 *       ({@link #topic}).</li>
 * </ul>
 * A writer embeds {@link #notifyWaitersSql}: it tries the exclusive lock of that key, which succeeds
 * exactly when no process has a waiter (and then keeps a late waiter's presence out until commit, after
 * which the waiter re-checks); only when it fails does the writer {@code NOTIFY}, so writes nobody waits
 * for never take NOTIFY's global commit lock.
 */
public final class WakeProtocol {
    private static final char SEPARATOR = '\u001f';

    /** What is waited for. Letters and presence classes are unique across adapters. */
    public enum Kind {
        /** A state lock's release. */
        STATE_LOCK("pgkit_state", 'L', 0x70676b03),
        /** An entry enqueued on a state queue. */
        STATE_QUEUE("pgkit_state", 'Q', 0x70676b04);

        private final String channel;
        private final char letter;
        private final int presenceClass;

        Kind(String channel, char letter, int presenceClass) {
            this.channel = channel;
            this.letter = letter;
            this.presenceClass = presenceClass;
        }

        public String channel() {
            return channel;
        }

        public int presenceClass() {
            return presenceClass;
        }
    }

    /**
     * The presence class of ordered logs' live readers ({@link LogPresence}), keyed by channel and shard. pgkit's
     * advisory-lock classes are {@code 0x70676bNN}: 01 and 02 the state adapter's list and queue locks, 03 and 04 the
     * {@link Kind}s, 10 this one; a new class takes a free number here.
     */
    public static final int LOG_PRESENCE_CLASS = 0x70676b10;

    private WakeProtocol() {
    }

    /** The notification payload naming {@code (scope, key)}, as {@link #notifyWaitersSql} computes it. */
    public static String topic(Kind kind, String scope, String key) {
        try {
            byte[] digest = MessageDigest.getInstance("MD5").digest(presenceName(scope, key).getBytes(StandardCharsets.UTF_8));
            return kind.letter + HexFormat.of().formatHex(digest);
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException("MD5 is not available", e);
        }
    }

    /** The text whose {@code hashtext} is the second half of the presence lock of {@code (scope, key)}. */
    public static String presenceName(String scope, String key) {
        return scope + SEPARATOR + key;
    }

    /**
     * A SQL expression that wakes the waiters of one key if some process has any: {@code scopeSql} and
     * {@code keySql} are SQL expressions (column references) of the row written. Its value is the number
     * of notifications sent (0 or 1).
     */
    public static String notifyWaitersSql(Kind kind, String scopeSql, String keySql) {
        String name = scopeSql + " || chr(31) || " + keySql;
        return "CASE WHEN pg_try_advisory_xact_lock(" + kind.presenceClass + ", hashtext(" + name + ")) THEN 0"
                + " ELSE (SELECT count(*) FROM (SELECT pg_notify('" + kind.channel + "', '" + kind.letter + "' || md5(convert_to("
                + name + ", 'UTF8')))) notified) END";
    }
}
