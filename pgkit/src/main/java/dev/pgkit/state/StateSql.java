package dev.pgkit.state;

import dev.pgkit.internal.Identifier;
import dev.pgkit.internal.WakeProtocol;

/**
 * Every statement the state adapter sends, named after its operation. Each is one round trip;
 * the list append and the enqueue are two statements sent together (one round trip, one implicit
 * transaction): a per-key advisory lock, then the work, whose fresh snapshot then sees every
 * earlier writer of that key, so caps hold exactly under concurrency. That needs READ COMMITTED (a new
 * snapshot per statement), so those batches set it first, whatever the pool or database default is.
 */
final class StateSql {
    /** First halves of the advisory lock keys serialising writers of one list / one queue. */
    static final int LIST_LOCK_CLASS = 0x70676b01;
    static final int QUEUE_LOCK_CLASS = 0x70676b02;

    final String subscribe;
    final String unsubscribe;
    final String isSubscribed;
    final String lockAcquire;
    final String lockRelease;
    final String lockForceRelease;
    final String lockExtend;
    final String lockRenew;
    final String cacheGet;
    final String cacheSet;
    final String cacheSetIfAbsent;
    final String cacheDelete;
    final String listAppend;
    final String listGet;
    final String queueEnqueue;
    final String queueDequeue;
    final String queueDepth;

    StateSql(Identifier schema) {
        String subscriptions = schema.qualify(StateSchema.SUBSCRIPTIONS);
        String locks = schema.qualify(StateSchema.LOCKS);
        String cache = schema.qualify(StateSchema.CACHE);
        String lists = schema.qualify(StateSchema.LISTS);
        String queues = schema.qualify(StateSchema.QUEUES);
        String fence = schema.quoted() + "." + StateSchema.LOCK_FENCE;

        subscribe = "INSERT INTO " + subscriptions + " (key_prefix, thread_id) VALUES (?, ?) ON CONFLICT DO NOTHING";
        unsubscribe = "DELETE FROM " + subscriptions + " WHERE key_prefix = ? AND thread_id = ?";
        isSubscribed = "SELECT EXISTS (SELECT 1 FROM " + subscriptions + " WHERE key_prefix = ? AND thread_id = ?)";

        // params: prefix, thread, token, ttl ms, prefix, thread.
        // One row either way: acquired with its fence, or not with the holder's remaining lease.
        lockAcquire = """
                WITH acquired AS (
                  INSERT INTO %1$s AS l (key_prefix, thread_id, token, expires_at)
                  VALUES (?, ?, ?, now() + ? * interval '1 millisecond')
                  ON CONFLICT (key_prefix, thread_id) DO UPDATE
                    SET token = EXCLUDED.token, expires_at = EXCLUDED.expires_at, updated_at = now()
                    WHERE l.expires_at <= now()
                  RETURNING l.expires_at, nextval('%2$s') AS fence)
                SELECT true, expires_at, fence, NULL::bigint FROM acquired
                UNION ALL
                SELECT false, l.expires_at, NULL, greatest(ceil(extract(epoch FROM l.expires_at - now()) * 1000), 0)::bigint
                FROM %1$s l
                WHERE l.key_prefix = ? AND l.thread_id = ? AND NOT EXISTS (SELECT 1 FROM acquired)""".formatted(locks, fence);
        String wakeLockWaiters = wakeWaiters(WakeProtocol.Kind.STATE_LOCK, "key_prefix", "thread_id");
        // params: prefix, thread, token. A row when released; waiters of the key, if any, are woken.
        // A release commits without waiting for the WAL flush: if the server crashes before the flush, the
        // lock merely stays taken until its lease ends, which is always safe (an acquisition, an extension
        // and every other write stay durable).
        lockRelease = """
                WITH released AS (
                  DELETE FROM %s WHERE key_prefix = ? AND thread_id = ? AND token = ? RETURNING key_prefix, thread_id)
                SELECT set_config('synchronous_commit', 'off', true), %s FROM released""".formatted(locks, wakeLockWaiters);
        // params: prefix, thread
        lockForceRelease = """
                WITH released AS (
                  DELETE FROM %s WHERE key_prefix = ? AND thread_id = ? RETURNING key_prefix, thread_id)
                SELECT set_config('synchronous_commit', 'off', true), %s FROM released""".formatted(locks, wakeLockWaiters);
        // params: ttl ms, prefix, thread, token
        lockExtend = "UPDATE " + locks + " SET expires_at = now() + ? * interval '1 millisecond', updated_at = now()"
                + " WHERE key_prefix = ? AND thread_id = ? AND token = ? AND expires_at > now() RETURNING expires_at";
        // params: thread ids[], tokens[], ttls ms[], prefix, prefix, prefix. The watchdog's renewal of every due lock of
        // a store, on the listener's connection: one row per lock, renewed (its new expiry), busy (row-locked by another
        // transaction right now: SKIP LOCKED keeps the listener thread from waiting; retried soon) or neither (lost).
        lockRenew = """
                WITH v AS (SELECT * FROM unnest(?::text[], ?::text[], ?::bigint[]) AS v(thread_id, token, ttl_ms)),
                due AS (
                  SELECT l.thread_id, v.ttl_ms FROM %1$s l JOIN v ON l.thread_id = v.thread_id AND l.token = v.token
                  WHERE l.key_prefix = ? AND l.expires_at > now()
                  FOR UPDATE OF l SKIP LOCKED),
                renewed AS (
                  UPDATE %1$s l SET expires_at = now() + due.ttl_ms * interval '1 millisecond', updated_at = now()
                  FROM due WHERE l.key_prefix = ? AND l.thread_id = due.thread_id
                  RETURNING l.token, l.expires_at)
                SELECT v.token, r.expires_at,
                       r.token IS NULL AND EXISTS (SELECT 1 FROM %1$s l WHERE l.key_prefix = ? AND l.thread_id = v.thread_id
                                                   AND l.token = v.token AND l.expires_at > now()) AS busy
                FROM v LEFT JOIN renewed r ON r.token = v.token""".formatted(locks);

        cacheGet = "SELECT value FROM " + cache
                + " WHERE key_prefix = ? AND cache_key = ? AND (expires_at IS NULL OR expires_at > now())";
        // params: prefix, key, value, ttl ms or null
        cacheSet = "INSERT INTO " + cache + " (key_prefix, cache_key, value, expires_at)"
                + " VALUES (?, ?, ?, now() + ? * interval '1 millisecond')"
                + " ON CONFLICT (key_prefix, cache_key) DO UPDATE"
                + " SET value = EXCLUDED.value, expires_at = EXCLUDED.expires_at, updated_at = now()";
        cacheSetIfAbsent = cacheSet + " WHERE " + cache + ".expires_at IS NOT NULL AND " + cache + ".expires_at <= now()";
        // params: prefix, key. Counts only a live entry as deleted.
        cacheDelete = """
                WITH deleted AS (DELETE FROM %s WHERE key_prefix = ? AND cache_key = ? RETURNING expires_at)
                SELECT count(*) FILTER (WHERE expires_at IS NULL OR expires_at > now()) FROM deleted""".formatted(cache);

        // params: prefix, key (lock); prefix, key, value, ttl ms or null, max length or null.
        // The new row and the newest (max - 1) rows stay; older rows go (expired rows count, as in the Node
        // adapter, so the boundary comes from the primary key alone). A ttl re-times the live rows (the TTL
        // applies to the whole list). Work is bounded by the cap, not by the list's history.
        listAppend = """
                SET TRANSACTION ISOLATION LEVEL READ COMMITTED;
                SELECT pg_advisory_xact_lock(%2$d, hashtext(?::text || chr(31) || ?::text));
                WITH p AS (SELECT ?::text AS prefix, ?::text AS list_key, ?::text AS value, ?::bigint AS ttl_ms, ?::integer AS max_length),
                oldest_dropped AS (
                  SELECT l.seq FROM %1$s l, p
                  WHERE p.max_length IS NOT NULL AND l.key_prefix = p.prefix AND l.list_key = p.list_key
                  ORDER BY l.seq DESC OFFSET (SELECT max_length - 1 FROM p) LIMIT 1),
                trimmed AS (
                  DELETE FROM %1$s l USING p, oldest_dropped d
                  WHERE l.key_prefix = p.prefix AND l.list_key = p.list_key AND l.seq <= d.seq),
                retimed AS (
                  UPDATE %1$s l SET expires_at = now() + p.ttl_ms * interval '1 millisecond'
                  FROM p
                  WHERE p.ttl_ms IS NOT NULL AND l.key_prefix = p.prefix AND l.list_key = p.list_key
                    AND (l.expires_at IS NULL OR l.expires_at > now())
                    AND l.seq > coalesce((SELECT seq FROM oldest_dropped), 0)),
                appended AS (
                  INSERT INTO %1$s (key_prefix, list_key, value, expires_at)
                  SELECT prefix, list_key, value, now() + ttl_ms * interval '1 millisecond' FROM p
                  RETURNING seq)
                SELECT count(*) FROM appended""".formatted(lists, LIST_LOCK_CLASS);
        listGet = "SELECT value FROM " + lists
                + " WHERE key_prefix = ? AND list_key = ? AND (expires_at IS NULL OR expires_at > now()) ORDER BY seq";

        // params: prefix, thread (lock); prefix, thread, message JSON, max size or null, ttl ms.
        // Stores a Chat SDK QueueEntry {message, enqueuedAt, expiresAt} stamped with the server's clock,
        // drops the oldest live entries beyond max size, wakes dequeue waiters and returns the new depth.
        // Expired entries are invisible to every read and left to housekeeping.
        queueEnqueue = """
                SET TRANSACTION ISOLATION LEVEL READ COMMITTED;
                SELECT pg_advisory_xact_lock(%3$d, hashtext(?::text || chr(31) || ?::text));
                WITH p AS (SELECT ?::text AS prefix, ?::text AS thread_id, ?::text AS message, ?::integer AS max_size,
                                  clock_timestamp() AS enqueued_at, clock_timestamp() + ?::bigint * interval '1 millisecond' AS expires_at),
                newest AS (
                  SELECT q.seq, row_number() OVER (ORDER BY q.seq DESC) AS newer
                  FROM %1$s q, p
                  WHERE q.key_prefix = p.prefix AND q.thread_id = p.thread_id AND q.expires_at > now()
                  ORDER BY q.seq DESC LIMIT (SELECT max_size FROM p)),
                dropped AS (
                  DELETE FROM %1$s q USING p
                  WHERE q.key_prefix = p.prefix AND q.thread_id = p.thread_id AND q.expires_at > now()
                    AND q.seq <= (SELECT seq FROM newest WHERE newer = p.max_size)),
                enqueued AS (
                  INSERT INTO %1$s (key_prefix, thread_id, value, expires_at)
                  SELECT prefix, thread_id,
                         '{"message":' || message
                           || ',"enqueuedAt":' || floor(extract(epoch FROM enqueued_at) * 1000)::bigint
                           || ',"expiresAt":' || floor(extract(epoch FROM expires_at) * 1000)::bigint || '}',
                         expires_at
                  FROM p
                  RETURNING seq)
                SELECT least((SELECT count(*) FROM newest) + (SELECT count(*) FROM enqueued), coalesce(p.max_size, 2147483647)),
                       %2$s
                FROM p""".formatted(queues, wakeWaiters(WakeProtocol.Kind.STATE_QUEUE, "p.prefix", "p.thread_id"), QUEUE_LOCK_CLASS);
        // params: prefix, thread, prefix, thread. Claims the oldest live entry no one else is claiming.
        queueDequeue = """
                WITH next AS (
                  SELECT seq FROM %1$s
                  WHERE key_prefix = ? AND thread_id = ? AND expires_at > now()
                  ORDER BY seq LIMIT 1
                  FOR UPDATE SKIP LOCKED)
                DELETE FROM %1$s q USING next
                WHERE q.key_prefix = ? AND q.thread_id = ? AND q.seq = next.seq
                RETURNING q.value""".formatted(queues);
        queueDepth = "SELECT count(*) FROM " + queues + " WHERE key_prefix = ? AND thread_id = ? AND expires_at > now()";
    }

    /** Wakes the waiters of one key, if any process has some (the protocol lives in {@link WakeProtocol}). */
    private static String wakeWaiters(WakeProtocol.Kind kind, String prefix, String key) {
        return WakeProtocol.notifyWaitersSql(kind, prefix, key);
    }
}
