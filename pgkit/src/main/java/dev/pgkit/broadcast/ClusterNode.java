package dev.pgkit.broadcast;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.pgkit.LogOffset;
import dev.pgkit.PgkitConnectionException;
import dev.pgkit.PgkitException;
import dev.pgkit.PgkitTimeoutException;
import dev.pgkit.internal.NotificationListener;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collection;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.function.Consumer;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * A member of one namespace of a Socket.IO cluster: Node servers on {@code @socket.io/postgres-adapter}
 * 0.5.0 count it ({@code serverCount()}) and it counts them, it sends and answers server-side events
 * with acknowledgements, asks the other servers for their sockets, and makes their sockets join, leave
 * or disconnect. Between Java services it is a cluster bus: {@link #serverSideEmit} publishes to every
 * other node, {@link #on} subscribes, {@link #serverSideEmitWithAck} collects one response per live node.
 *
 * <p>Membership comes from heartbeats: a node that published nothing for {@code heartbeatInterval}
 * sends one; a node not heard from for {@code heartbeatTimeout} is gone, and one that {@link #close()}s
 * says goodbye. Messages are delivered at most once, in order per sender, while the shared LISTEN
 * connection is up: what is sent while it reconnects is lost (logged, counted in {@link Broadcast#gaps()}); in
 * durable mode server-side events are not (see {@link BroadcastOptions#durableRetention()}).
 * Obtain one from {@link Broadcast#join}; thread-safe. Listeners run one at a time, on a pgkit thread.
 */
public final class ClusterNode implements AutoCloseable {
    private static final Logger log = LoggerFactory.getLogger(ClusterNode.class);
    /** How long {@link Broadcast#join} waits for the channel to be LISTENed. */
    static final Duration ACTIVATION_TIMEOUT = Duration.ofSeconds(10);

    private final Broadcast broadcast;
    private final BroadcastOptions options;
    private final String uid;
    private final String namespace;
    private final String channel;
    private final Membership membership;
    private final Requests requests = new Requests();
    private final Map<String, List<Consumer<ServerSideEvent>>> listeners = new ConcurrentHashMap<>();
    private final NotificationListener.Subscription subscription;
    private final ScheduledFuture<?> ticker;
    private final AtomicBoolean heartbeatQueued = new AtomicBoolean();
    private final AtomicBoolean closed = new AtomicBoolean();
    private volatile long lastPublished = System.nanoTime();
    /** Delivery of messages from the inbox and the durable reader, one at a time. */
    private final Object dispatchLock = new Object();
    /** Durable mode: where reading starts (fixed at join), and the reader, started by the first {@link #on}. */
    private final LogOffset durableStart;
    private DurableReader durable;

    ClusterNode(Broadcast broadcast, String namespace, Optional<LogOffset> resumeAfter) {
        this.broadcast = broadcast;
        this.options = broadcast.options();
        this.namespace = Wire.namespace(namespace);
        this.channel = Wire.channel(options.channelPrefix(), this.namespace);
        this.uid = Requests.newId();
        this.membership = new Membership(options.heartbeatTimeout().toNanos());
        Inbox inbox = new Inbox(broadcast, uid, message -> onMessage(message, true));
        this.subscription = broadcast.context().wakeups().subscribe(channel, inbox);
        try {
            subscription.active().get(ACTIVATION_TIMEOUT.toMillis(), TimeUnit.MILLISECONDS);
        } catch (InterruptedException e) {
            subscription.close();
            Thread.currentThread().interrupt();
            throw new PgkitException("interrupted while joining " + channel, e);
        } catch (ExecutionException | TimeoutException e) {
            subscription.close();
            throw new PgkitConnectionException("could not LISTEN on channel " + channel + " within " + ACTIVATION_TIMEOUT.toSeconds()
                    + " s: is the server reachable and not behind a transaction-mode pooler?", e instanceof ExecutionException ? e.getCause() : e);
        }
        if (options.durable()) {
            try {
                this.durableStart = resumeAfter.orElseGet(broadcast::durableStart);
            } catch (RuntimeException e) {
                subscription.close();
                throw e;
            }
        } else {
            this.durableStart = null;
        }
        long tick = Math.max(50, Math.min(1000, Math.min(options.heartbeatInterval().toMillis(), options.heartbeatTimeout().toMillis()) / 5));
        this.ticker = broadcast.context().scheduler().scheduleWithFixedDelay(this::tick, tick, tick, TimeUnit.MILLISECONDS);
        try {
            send(Wire.INITIAL_HEARTBEAT, null);
        } catch (RuntimeException e) {
            close();
            throw e;
        }
    }

    /** This node's id on the cluster (random, 16 hex digits, as the Node adapter's). */
    public String uid() {
        return uid;
    }

    /** The namespace ({@code /} is the main one). */
    public String namespace() {
        return namespace;
    }

    /** The PostgreSQL channel of the namespace, {@code <channelPrefix>#<namespace>}. */
    public String channel() {
        return channel;
    }

    /** This node plus the live other nodes, as Socket.IO's {@code serverCount()}. */
    public int serverCount() {
        return 1 + membership.live().size();
    }

    /** The uids of the live other nodes (emitters are not nodes). */
    public Set<String> nodes() {
        return membership.live();
    }

    // ---------------------------------------------------------------- the bus: server-side events

    /**
     * Sends {@code event} with {@code args} to every other node ({@code io.on(event, ...)} on Node servers,
     * {@link #on} here); returns once it is committed.
     *
     * @throws IllegalArgumentException if the event name is empty or an argument cannot be encoded (nothing is sent)
     */
    public void serverSideEmit(String event, Object... args) {
        ObjectNode data = Wire.NODES.objectNode();
        data.set("packet", packet(event, args));
        send(Wire.SERVER_SIDE_EMIT, data);
    }

    /**
     * {@link #serverSideEmit} without waiting for the commit, so that one publishing thread's messages are sent in
     * batches too: returns once the message is queued (waiting only while a few thousand of this {@link Broadcast}'s
     * messages are in flight). The server-side events of this node go out in the order of the calls, waiting or not
     * (in durable mode, relative to other durable messages; acknowledged emits and requests stay live). The future
     * completes on a pool thread, never the sending one, once the message is committed, or exceptionally if its batch
     * failed (then later messages may still be sent).
     *
     * @throws IllegalArgumentException if the event name is empty or an argument cannot be encoded (nothing is sent)
     */
    public CompletableFuture<Void> serverSideEmitAsync(String event, Object... args) {
        ObjectNode data = Wire.NODES.objectNode();
        data.set("packet", packet(event, args));
        checkOpen(Wire.SERVER_SIDE_EMIT);
        CompletableFuture<Void> sent = broadcast.sendAsync(options.durable()
                ? Outgoing.durable(channel, Wire.SERVER_SIDE_EMIT, data, uid, namespace)
                : Outgoing.of(channel, Wire.SERVER_SIDE_EMIT, data, uid, namespace, options.payloadThreshold()));
        if (!options.durable()) {
            lastPublished = System.nanoTime(); // as in sendTracked: a durable message is no heartbeat
        }
        return sent;
    }

    /**
     * Durable mode: the offset of the last durable message delivered to this node; pass it to
     * {@link Broadcast#join(String, LogOffset)} to resume after a restart. Empty when not durable.
     */
    public synchronized Optional<LogOffset> offset() {
        if (!options.durable()) {
            return Optional.empty();
        }
        return Optional.of(durable == null ? durableStart : durable.offset());
    }

    /**
     * Sends {@code event} to every other node and waits up to {@code requestsTimeout} for one
     * acknowledgement per node live when it was sent (a node that leaves meanwhile is no longer waited for).
     *
     * @return the acknowledgements, and the nodes that did not answer in time ({@link Replies#requireComplete()}
     *         turns those into a {@link PgkitTimeoutException})
     */
    public Replies serverSideEmitWithAck(String event, Object... args) {
        return serverSideEmitWithAck(options.requestsTimeout(), event, args);
    }

    /** {@link #serverSideEmitWithAck(String, Object...)} waiting up to {@code timeout}. */
    public Replies serverSideEmitWithAck(Duration timeout, String event, Object... args) {
        checkTimeout(timeout);
        ArrayNode packet = packet(event, args);
        Requests.Request request = requests.open(membership.live(), timeout, broadcast.context().scheduler());
        ObjectNode data = Wire.NODES.objectNode();
        data.put("requestId", request.id);
        data.set("packet", packet);
        try {
            send(Wire.SERVER_SIDE_EMIT, data);
        } catch (RuntimeException e) {
            request.cancel();
            throw e;
        }
        return request.await();
    }

    /**
     * Calls {@code listener} for each {@code event} another node or an emitter sends; {@code close()} the result to
     * stop. Listeners of this node run one at a time, in arrival order, on a pgkit thread: keep them short. In
     * durable mode the first call starts reading the stored messages (from the node's join, or its resume offset),
     * so register every listener before publishing anything the node must see. A listener must not wait for a
     * request of its own node ({@link #serverSideEmitWithAck}, {@link #fetchSockets}): the responses are delivered
     * on the thread it holds, so the request would only end at its timeout.
     */
    public AutoCloseable on(String event, Consumer<ServerSideEvent> listener) {
        checkEvent(event);
        if (listener == null) {
            throw new IllegalArgumentException("listener must not be null");
        }
        listeners.computeIfAbsent(event, e -> new CopyOnWriteArrayList<>()).add(listener);
        startDurable();
        return () -> listeners.computeIfPresent(event, (e, list) -> {
            list.remove(listener);
            return list.isEmpty() ? null : list;
        });
    }

    /** Durable mode: the first listener starts reading the stored messages, so a rejoining node's backlog reaches it. */
    private synchronized void startDurable() {
        if (options.durable() && durable == null && !closed.get()) {
            durable = new DurableReader(broadcast.context(), broadcast.sql(), channel, uid, durableStart, message -> onMessage(message, false));
        }
    }

    private synchronized void stopDurable() {
        if (durable != null) {
            durable.close();
        }
    }

    // ---------------------------------------------------------------- the other servers' sockets

    /** The clients of the other servers, as this node: {@code to(...)}, {@code emit(...)}, {@code socketsJoin(...)}. */
    public Emitter clients() {
        return new Emitter(broadcast, namespace, uid, this::sendTracked);
    }

    /** Every socket of the namespace on the other servers; see {@link #fetchSockets(Collection, Collection)}. */
    public List<RemoteSocket> fetchSockets() {
        return fetchSockets(List.of(), List.of());
    }

    /**
     * The sockets of the other servers in any of {@code rooms} (all when empty) and in none of {@code exceptRooms}.
     *
     * @throws PgkitTimeoutException if a live server did not answer within {@code requestsTimeout}
     */
    public List<RemoteSocket> fetchSockets(Collection<String> rooms, Collection<String> exceptRooms) {
        ObjectNode opts = Emitter.opts(Emitter.rooms("rooms", rooms), Emitter.rooms("exceptRooms", exceptRooms));
        Requests.Request request = requests.open(membership.live(), options.requestsTimeout(), broadcast.context().scheduler());
        ObjectNode data = Wire.NODES.objectNode();
        data.set("opts", opts);
        data.put("requestId", request.id);
        try {
            send(Wire.FETCH_SOCKETS, data);
        } catch (RuntimeException e) {
            request.cancel();
            throw e;
        }
        Replies replies = request.await();
        if (!replies.isComplete()) {
            throw new PgkitTimeoutException("fetchSockets on " + namespace + ": timeout reached: missing " + replies.missingNodes().size()
                    + " response(s), from node(s) " + replies.missingNodes(), null);
        }
        List<RemoteSocket> sockets = new ArrayList<>();
        for (JsonNode socket : replies.values()) {
            Set<String> socketRooms = new LinkedHashSet<>();
            socket.path("rooms").forEach(r -> socketRooms.add(r.asText()));
            sockets.add(new RemoteSocket(socket.path("id").asText(), socketRooms, socket.path("data"), socket.path("handshake")));
        }
        return sockets;
    }

    // ---------------------------------------------------------------- receiving

    /**
     * @param live false for a message read from the durable table: it may be a replay from a node long gone, so it
     *             says nothing of who is alive (a node publishing only durable messages still heartbeats)
     */
    private void onMessage(JsonNode message, boolean live) {
        synchronized (dispatchLock) {
            handle(message, live);
        }
    }

    private void handle(JsonNode message, boolean live) {
        String from = message.path("uid").textValue();
        if (live && from != null && !Wire.EMITTER_UID.equals(from)) {
            membership.seen(from);
        }
        String nsp = message.path("nsp").textValue();
        if (nsp != null && !nsp.equals(namespace)) {
            return;
        }
        JsonNode data = message.path("data");
        switch (message.path("type").asInt(-1)) {
            case Wire.INITIAL_HEARTBEAT -> respondLater(Wire.HEARTBEAT, null);
            case Wire.ADAPTER_CLOSE -> {
                if (from != null && membership.remove(from)) {
                    requests.nodeGone(from);
                }
            }
            case Wire.BROADCAST -> {
                if (data.has("requestId")) { // a broadcast with acks: this server has no clients to wait for
                    ObjectNode count = Wire.NODES.objectNode();
                    count.set("requestId", data.get("requestId"));
                    count.put("clientCount", 0);
                    respondLater(Wire.BROADCAST_CLIENT_COUNT, count);
                }
            }
            case Wire.FETCH_SOCKETS -> {
                ObjectNode response = Wire.NODES.objectNode();
                response.set("requestId", data.get("requestId"));
                response.set("sockets", Wire.NODES.arrayNode());
                respondLater(Wire.FETCH_SOCKETS_RESPONSE, response);
            }
            case Wire.SERVER_SIDE_EMIT -> dispatch(from, data);
            case Wire.FETCH_SOCKETS_RESPONSE -> {
                List<JsonNode> sockets = new ArrayList<>();
                data.path("sockets").forEach(sockets::add);
                requests.respond(data.path("requestId").asText(), from, sockets);
            }
            case Wire.SERVER_SIDE_EMIT_RESPONSE -> requests.respond(data.path("requestId").asText(), from,
                    List.of(data.has("packet") ? data.get("packet") : Wire.NODES.nullNode()));
            default -> {
                // HEARTBEAT (membership is updated above); socket operations and broadcasts to clients, of
                // which this server has none; responses to broadcasts with acks, which it never sends
            }
        }
    }

    private void dispatch(String from, JsonNode data) {
        JsonNode packet = data.path("packet");
        if (!packet.isArray() || packet.isEmpty() || !packet.get(0).isTextual()) {
            return;
        }
        String event = packet.get(0).textValue();
        List<Consumer<ServerSideEvent>> handlers = listeners.get(event);
        List<JsonNode> args = new ArrayList<>();
        for (int i = 1; i < packet.size(); i++) {
            args.add(packet.get(i));
        }
        Consumer<JsonNode> ack = null;
        if (data.has("requestId")) {
            JsonNode requestId = data.get("requestId");
            ack = value -> {
                ObjectNode response = Wire.NODES.objectNode();
                response.set("requestId", requestId);
                response.set("packet", value);
                send(Wire.SERVER_SIDE_EMIT_RESPONSE, response);
            };
        }
        if (handlers == null) {
            return;
        }
        ServerSideEvent e = new ServerSideEvent(event, args, from == null ? "" : from, broadcast.codec(), ack);
        for (Consumer<ServerSideEvent> handler : handlers) {
            try {
                handler.accept(e);
            } catch (RuntimeException failure) {
                log.error("pgkit broadcast node {}: listener of '{}' failed", uid, event, failure);
            }
        }
    }

    // ---------------------------------------------------------------- sending

    private void respondLater(int type, JsonNode data) {
        try {
            broadcast.context().poolWork().execute(() -> {
                try {
                    send(type, data);
                } catch (RuntimeException e) {
                    log.warn("pgkit broadcast node {}: could not send a message of type {}: {}", uid, type, e.toString());
                }
            });
        } catch (RuntimeException e) {
            log.debug("pgkit broadcast node {}: closing, response of type {} not sent", uid, type);
        }
    }

    void send(int type, JsonNode data) {
        sendTracked(namespace, type, data);
    }

    private void checkOpen(int type) {
        if (closed.get() && type != Wire.ADAPTER_CLOSE) {
            throw new IllegalStateException("cluster node " + uid + " on " + namespace + " is closed");
        }
    }

    private void sendTracked(String nsp, int type, JsonNode data) {
        checkOpen(type);
        if (broadcast.publish(channel, type, data, uid, nsp)) {
            lastPublished = System.nanoTime(); // a notification the others count as a heartbeat; a durable message is not one
        }
    }

    private void tick() {
        try {
            for (String gone : membership.expire()) {
                log.debug("pgkit broadcast node {}: node {} seems down", uid, gone);
                requests.nodeGone(gone);
            }
            if (System.nanoTime() - lastPublished >= options.heartbeatInterval().toNanos() && heartbeatQueued.compareAndSet(false, true)) {
                broadcast.context().poolWork().execute(() -> {
                    try {
                        if (!closed.get() && System.nanoTime() - lastPublished >= options.heartbeatInterval().toNanos()) {
                            send(Wire.HEARTBEAT, null);
                        }
                    } catch (RuntimeException e) {
                        log.warn("pgkit broadcast node {}: heartbeat not sent: {}", uid, e.toString());
                    } finally {
                        heartbeatQueued.set(false);
                    }
                });
            }
        } catch (RuntimeException e) {
            log.debug("pgkit broadcast node {}: tick failed: {}", uid, e.toString());
        }
    }

    // ---------------------------------------------------------------- helpers

    private ArrayNode packet(String event, Object[] args) {
        checkEvent(event);
        ArrayNode packet = Wire.NODES.arrayNode();
        packet.add(event);
        Object[] values = args == null ? new Object[0] : args;
        for (int i = 0; i < values.length; i++) {
            packet.add(Wire.toNode(values[i], broadcast.codec(), "argument " + i + " of event '" + event + "'"));
        }
        return packet;
    }

    static void checkEvent(String event) {
        if (event == null || event.isEmpty()) {
            throw new IllegalArgumentException("event must not be null or empty");
        }
    }

    private static void checkTimeout(Duration timeout) {
        if (timeout == null || timeout.isNegative() || timeout.isZero()) {
            throw new IllegalArgumentException("timeout must be a positive duration, was " + timeout);
        }
    }

    /** Whether {@link #close()} was called. */
    public boolean isClosed() {
        return closed.get();
    }

    /**
     * Leaves the cluster: says goodbye (the other nodes stop counting this one at once), stops listening and
     * heartbeating, and completes waiting requests with what arrived. Idempotent.
     */
    @Override
    public void close() {
        if (!closed.compareAndSet(false, true)) {
            return;
        }
        ticker.cancel(false);
        subscription.close();
        stopDurable();
        requests.finishAll();
        try {
            send(Wire.ADAPTER_CLOSE, null);
        } catch (RuntimeException e) {
            log.warn("pgkit broadcast node {}: goodbye not sent ({}); the others notice after heartbeatTimeout", uid, e.toString());
        }
        broadcast.left(this);
    }

    /** Stops without a goodbye, as a crashed process would (for tests). */
    void crash() {
        if (closed.compareAndSet(false, true)) {
            ticker.cancel(false);
            subscription.close();
            stopDurable();
            requests.finishAll();
            broadcast.left(this);
        }
    }

    @Override
    public String toString() {
        return "ClusterNode[" + uid + " on " + channel + "]";
    }
}
