package dev.pgkit.broadcast;

import com.fasterxml.jackson.databind.JsonNode;
import dev.pgkit.LogOffset;
import dev.pgkit.internal.AdapterRegistry;
import dev.pgkit.internal.Cleanup;
import dev.pgkit.internal.Context;
import dev.pgkit.json.JsonCodec;
import java.time.Duration;
import java.util.List;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Cluster messaging over LISTEN/NOTIFY, wire-compatible with Socket.IO's {@code @socket.io/postgres-adapter}
 * 0.5.0 and {@code @socket.io/postgres-emitter}: {@link #join} a namespace as a {@link ClusterNode} (a cluster
 * bus between Java services, and a member Node servers count), or send to the clients of Node servers with
 * an {@link #emitter()}.
 *
 * <p>Messages with binary content, or too large for a NOTIFY, are stored msgpack-encoded in the attachment
 * table and announced by id, as the Node adapter does. Concurrent senders are batched into one statement
 * (one commit) per batch. Notifications are received on the {@code Pgkit}'s one LISTEN connection.
 * Attachments are deleted once older than {@link #ATTACHMENT_SAFE_AGE} (and the cleanup interval), so a
 * slow reader still finds them. Obtain it from {@link dev.pgkit.Pgkit#broadcast()}; thread-safe.
 */
public final class Broadcast {
    private static final Logger log = LoggerFactory.getLogger(Broadcast.class);
    /** Attachments younger than this are never deleted. */
    public static final Duration ATTACHMENT_SAFE_AGE = Duration.ofMinutes(2);

    private final Context context;
    private final BroadcastOptions options;
    private final BroadcastSql sql;
    private final Publisher publisher;
    private final Publisher durablePublisher;
    private final Set<ClusterNode> nodes = ConcurrentHashMap.newKeySet();
    private final AtomicLong missingAttachments = new AtomicLong();
    private final AtomicLong unreadable = new AtomicLong();
    private final AtomicLong gaps = new AtomicLong();
    private final AtomicLong attachmentReads = new AtomicLong();
    private final ScheduledFuture<?> cleanup;

    static {
        // built by Pgkit#broadcast through the registry, so no public member takes pgkit's internal Context
        AdapterRegistry.register(Broadcast.class, BroadcastOptions.class, BroadcastOptions.defaults(), BroadcastSchema::component, Broadcast::new);
    }

    private Broadcast(Context context, BroadcastOptions options) {
        this.context = context;
        this.options = options;
        this.sql = new BroadcastSql(context.schema(), BroadcastSchema.table(options));
        java.util.concurrent.Executor sender = task -> context.poolWork().execute(task);
        this.publisher = new Publisher(context.database(), sql, false, sender);
        this.durablePublisher = options.durable() ? new Publisher(context.database(), sql, true, sender) : null;
        Duration age = options.cleanupInterval().compareTo(ATTACHMENT_SAFE_AGE) > 0 ? options.cleanupInterval() : ATTACHMENT_SAFE_AGE;
        List<Cleanup> cleanups = new java.util.ArrayList<>(List.of(BroadcastSchema.cleanup(options.tableName(), age)));
        options.durableRetention().ifPresent(retention -> cleanups.add(BroadcastSchema.messagesCleanup(retention)));
        long every = options.cleanupInterval().toMillis();
        this.cleanup = context.scheduler().scheduleWithFixedDelay(() -> {
            try {
                context.poolWork().execute(() -> {
                    try {
                        cleanups.forEach(context.housekeeper()::run);
                    } catch (RuntimeException e) {
                        log.warn("pgkit broadcast: attachment cleanup failed: {}", e.toString());
                    }
                });
            } catch (RuntimeException e) {
                log.debug("pgkit broadcast: attachment cleanup not started: {}", e.toString());
            }
        }, every, every, TimeUnit.MILLISECONDS);
    }

    /** The options this broadcast was opened with. */
    public BroadcastOptions options() {
        return options;
    }

    /**
     * Joins {@code namespace} ({@code /}, {@code /chat}; {@code chat} means {@code /chat}) as a new cluster node:
     * LISTENs on its channel, then announces itself. Close the node to leave.
     *
     * @throws IllegalArgumentException if the namespace is empty or its channel {@code <channelPrefix>#<namespace>}
     *                                  would exceed PostgreSQL's 63 bytes or hold a double quote
     * @throws dev.pgkit.PgkitConnectionException if the channel could not be LISTENed within 10 s
     */
    public ClusterNode join(String namespace) {
        ClusterNode node = new ClusterNode(this, namespace, Optional.empty());
        nodes.add(node);
        return node;
    }

    /**
     * Durable mode: joins {@code namespace} and first receives every message published on it after
     * {@code resumeAfter} (a previous node's {@link ClusterNode#offset()}) that is still within the retention,
     * in order per sender, each once.
     *
     * @throws IllegalStateException if these options are not durable
     */
    public ClusterNode join(String namespace, LogOffset resumeAfter) {
        if (!options.durable()) {
            throw new IllegalStateException("join(namespace, resumeAfter) needs durable mode: BroadcastOptions.withDurable(retention)");
        }
        ClusterNode node = new ClusterNode(this, namespace, Optional.of(java.util.Objects.requireNonNull(resumeAfter, "resumeAfter")));
        nodes.add(node);
        return node;
    }

    /** An emitter (uid {@code emitter}) on the main namespace {@code /}; {@link Emitter#of} for others. */
    public Emitter emitter() {
        return Emitter.standalone(this, "/");
    }

    /** Notifications this process sent (one per message, spilled or not; in durable mode one wake-up per batch). */
    public long notificationsSent() {
        return publisher.notifications() + (durablePublisher == null ? 0 : durablePublisher.notifications());
    }

    /** Statements that sent them: fewer than the messages when concurrent senders were batched. */
    public long batchesSent() {
        return publisher.batches() + (durablePublisher == null ? 0 : durablePublisher.batches());
    }

    /** Announced attachments that were not in the table when read (logged each time). */
    public long missingAttachments() {
        return missingAttachments.get();
    }

    /** Notifications that could not be read (not JSON, a bad attachment id or attachment), logged and skipped. */
    public long unreadableMessages() {
        return unreadable.get();
    }

    /** Times a node's listener reconnected or fell behind, so that messages may have been lost. */
    public long gaps() {
        return gaps.get();
    }

    /** The nodes joined through this broadcast and not closed. */
    public List<ClusterNode> nodes() {
        return List.copyOf(nodes);
    }

    // ---------------------------------------------------------------- for the package

    Context context() {
        return context;
    }

    JsonCodec codec() {
        return context.codec();
    }

    /**
     * Sends one message of a node or an emitter. In durable mode a server-side event without acknowledgement (what
     * {@code serverSideEmit} publishes, from a node, its {@code clients()} or an emitter) goes to the message table;
     * everything else stays a live notification, as in the Node adapter: heartbeats and goodbyes say who is alive
     * now (replayed, they would count nodes long gone), and a request and its responses are bound to its timeout
     * and its requester (replayed, a rejoining node would answer a request nobody waits for); the emitter's
     * messages to sockets reach Node servers, which durable mode excludes.
     *
     * @return whether it went out as a notification (which the other nodes count as a heartbeat)
     */
    boolean publish(String channel, int type, JsonNode data, String uid, String namespace) {
        if (durablePublisher != null && type == Wire.SERVER_SIDE_EMIT && (data == null || !data.has("requestId"))) {
            durablePublisher.send(Outgoing.durable(channel, type, data, uid, namespace));
            return false;
        }
        publisher.send(Outgoing.of(channel, type, data, uid, namespace, options.payloadThreshold()));
        return true;
    }

    java.util.concurrent.CompletableFuture<Void> sendAsync(Outgoing message) {
        return (options.durable() ? durablePublisher : publisher).sendAsync(message);
    }

    BroadcastSql sql() {
        return sql;
    }

    /** Where a new durable reader starts: after every transaction that has ended (the commit-safe horizon). */
    LogOffset durableStart() {
        long horizon = context.database().query(sql.durableStart, "horizon", s -> { }, rs -> {
            rs.next();
            return rs.getLong(1);
        });
        return new LogOffset(Math.max(0, horizon - 1), Long.MAX_VALUE);
    }

    /** The stored attachments among {@code ids}, by id (one query; a missing one is absent). */
    java.util.Map<Long, byte[]> attachments(List<Long> ids) {
        long[] wanted = ids.stream().mapToLong(Long::longValue).distinct().toArray();
        attachmentReads.incrementAndGet();
        return context.database().query(sql.attachmentsGet, wanted.length + " attachment(s)", s -> s.setObject(1, wanted), rs -> {
            java.util.Map<Long, byte[]> found = new java.util.HashMap<>();
            while (rs.next()) {
                found.put(rs.getLong(1), rs.getBytes(2));
            }
            return found;
        });
    }

    /** Queries that read attachments (for tests: a batch of notifications reads its attachments in one). */
    long attachmentReads() {
        return attachmentReads.get();
    }

    void missingAttachment(String channel, long id) {
        missingAttachments.incrementAndGet();
        log.warn("pgkit broadcast: attachment {} announced on {} is not in the attachment table (deleted, or another database?); "
                + "message skipped", id, channel);
    }

    void unreadable(String what) {
        unreadable.incrementAndGet();
        log.warn("pgkit broadcast: {}; skipped", what);
    }

    void gap() {
        gaps.incrementAndGet();
    }

    void left(ClusterNode node) {
        nodes.remove(node);
    }

    /** Stops the periodic attachment cleanup (the {@code Pgkit} is closing). */
    void stopCleanup() {
        cleanup.cancel(false);
    }
}
