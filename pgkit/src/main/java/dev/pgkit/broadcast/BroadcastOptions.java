package dev.pgkit.broadcast;

import java.time.Duration;
import java.util.Objects;
import java.util.Optional;

/**
 * Options of a {@link Broadcast}, with the names and defaults of {@code @socket.io/postgres-adapter}
 * 0.5.0, so a Java node and Node servers configured alike share channels and the attachment table.
 *
 * @param channelPrefix     the prefix of each namespace's channel {@code <channelPrefix>#<namespace>}
 *                          (default {@code socket.io}); no double quotes or control characters
 * @param tableName         the attachment table (default {@code socket_io_attachments}), in the {@code Pgkit}'s
 *                          schema; created on first use like every pgkit table
 * @param payloadThreshold  JSON messages longer than this many bytes go through the attachment table
 *                          (default 8000); whatever PostgreSQL refuses in a NOTIFY (8000 bytes or more)
 *                          always does
 * @param requestsTimeout   how long a request ({@code fetchSockets}, {@code serverSideEmitWithAck}) waits
 *                          for the other nodes' responses (default 5 s)
 * @param heartbeatInterval a node that published nothing for this long sends a heartbeat (default 5 s)
 * @param heartbeatTimeout  a node not heard from for this long is considered gone (default 10 s)
 * @param cleanupInterval   how often this process deletes old attachments (default 30 s); only those
 *                          older than {@link Broadcast#ATTACHMENT_SAFE_AGE} and this interval, so a slow
 *                          reader still finds its attachment
 * @param durableRetention  empty (the default, and what Node servers understand): messages go out as
 *                          notifications. Present: durable mode, pgkit to pgkit only: server-side events
 *                          ({@code serverSideEmit} of a {@link ClusterNode}, its {@link ClusterNode#clients()} or an
 *                          {@link Emitter}) are stored for this long and read in commit order, so a node whose
 *                          listener reconnects, or that rejoins from its last offset within the retention, receives
 *                          every one exactly once, in order per sender. Heartbeats, goodbyes, requests and their
 *                          responses stay live notifications: they are about now (who is alive, who waits for an
 *                          answer), and replayed they would count nodes long gone or answer requests nobody awaits
 */
public record BroadcastOptions(String channelPrefix, String tableName, int payloadThreshold, Duration requestsTimeout,
                               Duration heartbeatInterval, Duration heartbeatTimeout, Duration cleanupInterval,
                               Optional<Duration> durableRetention) {
    /** The attachment table's name in the Node adapter's documentation. */
    public static final String DEFAULT_TABLE = "socket_io_attachments";
    /** The longest channel prefix accepted, in bytes (a namespace needs room in the 63-byte channel name). */
    public static final int MAX_PREFIX_BYTES = 48;

    /**
     * @throws IllegalArgumentException naming the option when a value is missing or impossible: a prefix with a
     *                                  double quote, a control character or over {@value #MAX_PREFIX_BYTES} bytes,
     *                                  an unsafe table name, a threshold below 1, a duration not positive, or a
     *                                  heartbeat timeout not longer than the heartbeat interval
     */
    public BroadcastOptions {
        Wire.channelPrefix(channelPrefix);
        Wire.tableName(tableName);
        if (payloadThreshold < 1) {
            throw new IllegalArgumentException("payloadThreshold must be at least 1 byte, was " + payloadThreshold);
        }
        positive("requestsTimeout", requestsTimeout);
        positive("heartbeatInterval", heartbeatInterval);
        positive("heartbeatTimeout", heartbeatTimeout);
        positive("cleanupInterval", cleanupInterval);
        Objects.requireNonNull(durableRetention, "durableRetention must not be null (Optional.empty() for non-durable)");
        durableRetention.ifPresent(retention -> positive("durableRetention", retention));
        if (heartbeatTimeout.compareTo(heartbeatInterval) <= 0) {
            throw new IllegalArgumentException("heartbeatTimeout (" + heartbeatTimeout.toMillis() + " ms) must be longer than heartbeatInterval ("
                    + heartbeatInterval.toMillis() + " ms), or every node is considered gone between two heartbeats");
        }
    }

    private static void positive(String option, Duration value) {
        Objects.requireNonNull(value, () -> option + " must not be null");
        if (value.isZero() || value.isNegative()) {
            throw new IllegalArgumentException(option + " must be a positive duration, was " + value);
        }
    }

    /** The Node adapter's defaults. */
    public static BroadcastOptions defaults() {
        return new BroadcastOptions("socket.io", DEFAULT_TABLE, 8000, Duration.ofMillis(5000), Duration.ofMillis(5000),
                Duration.ofMillis(10000), Duration.ofMillis(30000), Optional.empty());
    }

    /** A copy with another channel prefix. */
    public BroadcastOptions withChannelPrefix(String channelPrefix) {
        return new BroadcastOptions(channelPrefix, tableName, payloadThreshold, requestsTimeout, heartbeatInterval, heartbeatTimeout, cleanupInterval, durableRetention);
    }

    /** A copy with another attachment table. */
    public BroadcastOptions withTableName(String tableName) {
        return new BroadcastOptions(channelPrefix, tableName, payloadThreshold, requestsTimeout, heartbeatInterval, heartbeatTimeout, cleanupInterval, durableRetention);
    }

    /** A copy with another payload threshold. */
    public BroadcastOptions withPayloadThreshold(int payloadThreshold) {
        return new BroadcastOptions(channelPrefix, tableName, payloadThreshold, requestsTimeout, heartbeatInterval, heartbeatTimeout, cleanupInterval, durableRetention);
    }

    /** A copy with another requests timeout. */
    public BroadcastOptions withRequestsTimeout(Duration requestsTimeout) {
        return new BroadcastOptions(channelPrefix, tableName, payloadThreshold, requestsTimeout, heartbeatInterval, heartbeatTimeout, cleanupInterval, durableRetention);
    }

    /** A copy with another heartbeat interval and timeout. */
    public BroadcastOptions withHeartbeat(Duration heartbeatInterval, Duration heartbeatTimeout) {
        return new BroadcastOptions(channelPrefix, tableName, payloadThreshold, requestsTimeout, heartbeatInterval, heartbeatTimeout, cleanupInterval, durableRetention);
    }

    /**
     * A copy in durable mode (pgkit to pgkit only; Node servers must not share its channels): published
     * messages are kept for {@code retention}.
     */
    public BroadcastOptions withDurable(Duration retention) {
        return new BroadcastOptions(channelPrefix, tableName, payloadThreshold, requestsTimeout, heartbeatInterval, heartbeatTimeout, cleanupInterval,
                Optional.of(retention));
    }

    /** Whether durable mode is on. */
    public boolean durable() {
        return durableRetention.isPresent();
    }

    /** A copy with another cleanup interval. */
    public BroadcastOptions withCleanupInterval(Duration cleanupInterval) {
        return new BroadcastOptions(channelPrefix, tableName, payloadThreshold, requestsTimeout, heartbeatInterval, heartbeatTimeout, cleanupInterval, durableRetention);
    }
}
