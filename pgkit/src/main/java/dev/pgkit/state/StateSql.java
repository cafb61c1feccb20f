package dev.pgkit.state;

import dev.pgkit.internal.Identifier;
import dev.pgkit.internal.Sql;
import dev.pgkit.internal.WakeProtocol;

/**
 * Every statement the state adapter sends, named after its operation and declared safe to repeat or
 * not (see {@link Sql}). Each is one round trip. The list append and the capped enqueue are batches
 * sent together (one round trip): {@code BEGIN ISOLATION LEVEL READ COMMITTED}, a per-key advisory
 * lock, the work, {@code COMMIT}. The work's fresh snapshot (READ COMMITTED, whatever the pool's, role's
 * or database's default) then sees every earlier writer of that key, so caps hold exactly under
 * concurrency. An explicit transaction block, unlike {@code SET TRANSACTION} in the extended protocol's
 * implicit transaction, draws no warning from the server.
 */
final class StateSql {
    /** First halves of the advisory lock keys serialising writers of one list / one queue. */
    static final int LIST_LOCK_CLASS = 0x70676b01;
    static final int QUEUE_LOCK_CLASS = 0x70676b02;

    final Sql subscribe;
    final Sql unsubscribe;
    final Sql isSubscribed;
    final Sql lockAcquire;
    final Sql lockRelease;
    final Sql lockForceRelease;
    final Sql lockExtend;
    final String lockRenew;
    final Sql cacheGet;
    final Sql cacheSet;
    final Sql cacheSetIfAbsent;
    final Sql cacheDelete;
    final Sql listAppend;
    final Sql listGet;
    final Sql queueEnqueue;
    final Sql queueEnqueueUncapped;
    final Sql queueDequeue;
    final Sql queueDepth;

    StateSql(Identifier schema) {
        String subscriptions = schema.qualify(StateSchema.SUBSCRIPTIONS);
        String locks = schema.qualify(StateSchema.LOCKS);
        String cache = schema.qualify(StateSchema.CACHE);
        String lists = schema.qualify(StateSchema.LISTS);
        String queues = schema.qualify(StateSchema.QUEUES);
        String fence = schema.quoted() + "." + StateSchema.LOCK_FENCE;

        subscribe = Sql.idempotentWrite("state.subscribe",
                "INSERT INTO " + subscriptions + " (key_prefix, thread_id) VALUES (?, ?) ON CONFLICT DO NOTHING");
        unsubscribe = Sql.idempotentWrite("state.unsubscribe", "DELETE FROM " + subscriptions + " WHERE key_prefix = ? AND thread_id = ?");
        isSubscribed = Sql.read("state.isSubscribed",
                "SELECT EXISTS (SELECT 1 FROM " + subscriptions + " WHERE key_prefix = ? AND thread_id = ?)");

        // params: prefix, thread, token, ttl ms, prefix, thread.
        // One row either way: acquired with its fence, or not with the holder's remaining lease.
        // Not safe to repeat: after a lost answer, a second attempt would find the lock taken (by the first).
        lockAcquire = Sql.write("state.acquireLock", """
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
                WHERE l.key_prefix = ? AND l.thread_id = ? AND NOT EXISTS (SELECT 1 FROM acquired)""".formatted(locks, fence));
        String wakeLockWaiters = wakeWaiters(WakeProtocol.Kind.STATE_LOCK, "key_prefix", "thread_id");
        // params: prefix, thread, token. A row when released; waiters of the key, if any, are woken.
        // A release commits without waiting for the WAL flush: if the server crashes before the flush, the
        // lock merely stays taken until its lease ends, which is always safe (an acquisition, an extension
        // and every other write stay durable). Repeated after a lost connection: the lock ends up released
        // either way (the repeat may then report "not released" for a release the first attempt made).
        lockRelease = Sql.idempotentWrite("state.releaseLock", """
                WITH released AS (
                  DELETE FROM %s WHERE key_prefix = ? AND thread_id = ? AND token = ? RETURNING key_prefix, thread_id)
                SELECT set_config('synchronous_commit', 'off', true), %s FROM released""".formatted(locks, wakeLockWaiters));
        // params: prefix, thread
        lockForceRelease = Sql.idempotentWrite("state.forceReleaseLock", """
                WITH released AS (
                  DELETE FROM %s WHERE key_prefix = ? AND thread_id = ? RETURNING key_prefix, thread_id)
                SELECT set_config('synchronous_commit', 'off', true), %s FROM released""".formatted(locks, wakeLockWaiters));
        // params: ttl ms, prefix, thread, token
        lockExtend = Sql.idempotentWrite("state.extendLock",
                "UPDATE " + locks + " SET expires_at = now() + ? * interval '1 millisecond', updated_at = now()"
                + " WHERE key_prefix = ? AND thread_id = ? AND token = ? AND expires_at > now() RETURNING expires_at");
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

        cacheGet = Sql.read("state.get", "SELECT value FROM " + cache
                + " WHERE key_prefix = ? AND cache_key = ? AND (expires_at IS NULL OR expires_at > now())");
        // params: prefix, key, value, ttl ms or null
        String upsert = "INSERT INTO " + cache + " (key_prefix, cache_key, value, expires_at)"
                + " VALUES (?, ?, ?, now() + ? * interval '1 millisecond')"
                + " ON CONFLICT (key_prefix, cache_key) DO UPDATE"
                + " SET value = EXCLUDED.value, expires_at = EXCLUDED.expires_at, updated_at = now()";
        cacheSet = Sql.idempotentWrite("state.set", upsert);
        // Not safe to repeat: a second attempt would find the value the first stored, and report "not stored".
        cacheSetIfAbsent = Sql.write("state.setIfNotExists",
                upsert + " WHERE " + cache + ".expires_at IS NOT NULL AND " + cache + ".expires_at <= now()");
        // params: prefix, key. Counts only a live entry as deleted.
        cacheDelete = Sql.idempotentWrite("state.delete", """
                WITH deleted AS (DELETE FROM %s WHERE key_prefix = ? AND cache_key = ? RETURNING expires_at)
                SELECT count(*) FILTER (WHERE expires_at IS NULL OR expires_at > now()) FROM deleted""".formatted(cache));

        // params: prefix, key (lock); prefix, key, value, ttl ms or null, max length or null.
        // The new row and the newest (max - 1) rows stay; older rows go (expired rows count, as in the Node
        // adapter, so the boundary comes from the primary key alone). A ttl re-times the live rows (the TTL
        // applies to the whole list). Work is bounded by the cap, not by the list's history. The key and the
        // boundary are scalar subqueries, so that they become index conditions: a backward index-only scan finds
        // the boundary without a sort, and the trim touches only the rows it deletes (joining the parameters
        // instead scanned the whole list twice: twice the execution time on a 100-entry list).
        listAppend = Sql.write("state.appendToList", """
                BEGIN ISOLATION LEVEL READ COMMITTED;
                SELECT pg_advisory_xact_lock(%2$d, hashtext(?::text || chr(31) || ?::text));
                WITH p AS (SELECT ?::text AS prefix, ?::text AS list_key, ?::text AS value, ?::bigint AS ttl_ms, ?::integer AS max_length),
                oldest_dropped AS (
                  SELECT l.seq FROM %1$s l
                  WHERE l.key_prefix = (SELECT prefix FROM p) AND l.list_key = (SELECT list_key FROM p)
                    AND (SELECT max_length FROM p) IS NOT NULL
                  ORDER BY l.seq DESC OFFSET (SELECT max_length - 1 FROM p) LIMIT 1),
                trimmed AS (
                  DELETE FROM %1$s l
                  WHERE l.key_prefix = (SELECT prefix FROM p) AND l.list_key = (SELECT list_key FROM p)
                    AND l.seq <= (SELECT seq FROM oldest_dropped)),
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
                SELECT count(*) FROM appended;
                COMMIT""".formatted(lists, LIST_LOCK_CLASS));
        listGet = Sql.read("state.getList", "SELECT value FROM " + lists
                + " WHERE key_prefix = ? AND list_key = ? AND (expires_at IS NULL OR expires_at > now()) ORDER BY seq");

        // Stores a Chat SDK QueueEntry {message, enqueuedAt, expiresAt} stamped with the server's clock.
        String queueEntry = """
                '{"message":' || message
                  || ',"enqueuedAt":' || floor(extract(epoch FROM enqueued_at) * 1000)::bigint
                  || ',"expiresAt":' || floor(extract(epoch FROM expires_at) * 1000)::bigint || '}'""";
        String wakeQueueWaiters = wakeWaiters(WakeProtocol.Kind.STATE_QUEUE, "p.prefix", "p.thread_id");
        // params: prefix, thread (lock); prefix, thread, message JSON, max size, ttl ms.
        // Drops the oldest live entries beyond max size, wakes dequeue waiters and returns the new depth.
        // Expired entries are invisible to every read and left to housekeeping. Work is bounded by the cap.
        queueEnqueue = Sql.write("state.enqueue", """
                BEGIN ISOLATION LEVEL READ COMMITTED;
                SELECT pg_advisory_xact_lock(%3$d, hashtext(?::text || chr(31) || ?::text));
                WITH p AS (SELECT ?::text AS prefix, ?::text AS thread_id, ?::text AS message, ?::integer AS max_size,
                                  clock_timestamp() AS enqueued_at, clock_timestamp() + ?::bigint * interval '1 millisecond' AS expires_at),
                newest AS (
                  SELECT q.seq, row_number() OVER (ORDER BY q.seq DESC) AS newer
                  FROM %1$s q
                  WHERE q.key_prefix = (SELECT prefix FROM p) AND q.thread_id = (SELECT thread_id FROM p) AND q.expires_at > now()
                  ORDER BY q.seq DESC LIMIT (SELECT max_size FROM p)),
                dropped AS (
                  DELETE FROM %1$s q
                  WHERE q.key_prefix = (SELECT prefix FROM p) AND q.thread_id = (SELECT thread_id FROM p) AND q.expires_at > now()
                    AND q.seq <= (SELECT seq FROM newest WHERE newer = (SELECT max_size FROM p))),
                enqueued AS (
                  INSERT INTO %1$s (key_prefix, thread_id, value, expires_at)
                  SELECT prefix, thread_id, %4$s, expires_at FROM p
                  RETURNING seq)
                SELECT least((SELECT count(*) FROM newest) + (SELECT count(*) FROM enqueued), p.max_size), %2$s
                FROM p;
                COMMIT""".formatted(queues, wakeQueueWaiters, QUEUE_LOCK_CLASS, queueEntry));
        // params: prefix, thread, message JSON, ttl ms. Without a cap there is nothing to trim, so no lock and
        // no window over the queue: one statement, whose depth counts the live entries it saw plus its own.
        queueEnqueueUncapped = Sql.write("state.enqueue", """
                WITH p AS (SELECT ?::text AS prefix, ?::text AS thread_id, ?::text AS message,
                                  clock_timestamp() AS enqueued_at, clock_timestamp() + ?::bigint * interval '1 millisecond' AS expires_at),
                enqueued AS (
                  INSERT INTO %1$s (key_prefix, thread_id, value, expires_at)
                  SELECT prefix, thread_id, %3$s, expires_at FROM p
                  RETURNING seq)
                SELECT (SELECT count(*) FROM %1$s q WHERE q.key_prefix = p.prefix AND q.thread_id = p.thread_id AND q.expires_at > now())
                         + (SELECT count(*) FROM enqueued),
                       %2$s
                FROM p""".formatted(queues, wakeQueueWaiters, queueEntry));
        // params: prefix, thread, prefix, thread. Claims the oldest live entry no one else is claiming.
        queueDequeue = Sql.write("state.dequeue", """
                WITH next AS (
                  SELECT seq FROM %1$s
                  WHERE key_prefix = ? AND thread_id = ? AND expires_at > now()
                  ORDER BY seq LIMIT 1
                  FOR UPDATE SKIP LOCKED)
                DELETE FROM %1$s q USING next
                WHERE q.key_prefix = ? AND q.thread_id = ? AND q.seq = next.seq
                RETURNING q.value""".formatted(queues));
        queueDepth = Sql.read("state.queueDepth",
                "SELECT count(*) FROM " + queues + " WHERE key_prefix = ? AND thread_id = ? AND expires_at > now()");
    }

    /** Wakes the waiters of one key, if any process has some (the protocol lives in {@link WakeProtocol}). */
    private static String wakeWaiters(WakeProtocol.Kind kind, String prefix, String key) {
        return WakeProtocol.notifyWaitersSql(kind, prefix, key);
    }
}
