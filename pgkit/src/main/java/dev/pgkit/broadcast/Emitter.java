package dev.pgkit.broadcast;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.util.Arrays;
import java.util.Collection;
import java.util.LinkedHashSet;
import java.util.Set;

/**
 * Sends to the clients of the Socket.IO servers of a cluster from a process that is not a member (uid
 * {@code emitter}, like {@code @socket.io/postgres-emitter}), or as a member through
 * {@link ClusterNode#clients()}. Immutable: {@link #to}, {@link #except} and {@link #of} return new
 * emitters. Every call returns once its message is committed.
 *
 * <p>Unlike the Node emitter 0.1.1, whose messages carry no top-level {@code nsp} and are therefore dropped by
 * adapter 0.5.0 (which routes by it), every message names its namespace both in its channel and in
 * {@code nsp}, so it reaches adapters that route either way.
 */
public final class Emitter {
    /** Event names Socket.IO reserves, which {@link #emit} refuses. */
    public static final Set<String> RESERVED_EVENTS = Set.of("connect", "connect_error", "disconnect", "disconnecting",
            "newListener", "removeListener");

    /** Sends one message of a namespace. */
    @FunctionalInterface
    interface Sender {
        void send(String namespace, int type, JsonNode data);
    }

    private final Broadcast broadcast;
    private final String namespace;
    private final String uid;
    private final Sender sender;
    private final Set<String> rooms;
    private final Set<String> except;

    Emitter(Broadcast broadcast, String namespace, String uid, Sender sender) {
        this(broadcast, namespace, uid, sender, Set.of(), Set.of());
    }

    private Emitter(Broadcast broadcast, String namespace, String uid, Sender sender, Set<String> rooms, Set<String> except) {
        this.broadcast = broadcast;
        this.namespace = namespace;
        this.uid = uid;
        this.sender = sender;
        this.rooms = rooms;
        this.except = except;
    }

    /** A standalone emitter on {@code namespace}. */
    static Emitter standalone(Broadcast broadcast, String namespace) {
        String nsp = Wire.namespace(namespace);
        String channel = Wire.channel(broadcast.options().channelPrefix(), nsp);
        return new Emitter(broadcast, nsp, Wire.EMITTER_UID, (n, type, data) -> broadcast.publish(channel, type, data, Wire.EMITTER_UID, n));
    }

    /**
     * An emitter (uid {@code emitter}) on another namespace ({@code chat} and {@code /chat} are the same).
     *
     * @throws IllegalArgumentException if the namespace is empty or its channel would exceed PostgreSQL's 63 bytes
     */
    public Emitter of(String namespace) {
        return standalone(broadcast, namespace);
    }

    /** The namespace messages go to. */
    public String namespace() {
        return namespace;
    }

    /** The uid messages are sent with ({@code emitter}, or the member's). */
    public String uid() {
        return uid;
    }

    /** Targets the clients in any of {@code rooms} (added to the rooms already targeted). */
    public Emitter to(String... rooms) {
        Set<String> all = new LinkedHashSet<>(this.rooms);
        all.addAll(rooms("rooms", rooms == null ? null : Arrays.asList(rooms)));
        return new Emitter(broadcast, namespace, uid, sender, Set.copyOf(all), except);
    }

    /** Same as {@link #to}. */
    public Emitter in(String... rooms) {
        return to(rooms);
    }

    /** Excludes the clients in any of {@code rooms}. */
    public Emitter except(String... rooms) {
        Set<String> all = new LinkedHashSet<>(this.except);
        all.addAll(rooms("rooms", rooms == null ? null : Arrays.asList(rooms)));
        return new Emitter(broadcast, namespace, uid, sender, this.rooms, Set.copyOf(all));
    }

    /**
     * Emits {@code event} with {@code args} to the targeted clients ({@code byte[]} arguments arrive as binary).
     *
     * @throws IllegalArgumentException if the event is empty or reserved, or an argument cannot be encoded (nothing is sent)
     */
    public void emit(String event, Object... args) {
        ClusterNode.checkEvent(event);
        if (RESERVED_EVENTS.contains(event)) {
            throw new IllegalArgumentException("\"" + event + "\" is a reserved event name");
        }
        ObjectNode packet = Wire.NODES.objectNode();
        packet.put("type", 2); // EVENT
        packet.set("data", packet(event, args));
        packet.put("nsp", namespace);
        ObjectNode data = Wire.NODES.objectNode();
        data.set("packet", packet);
        data.set("opts", opts(rooms, except));
        sender.send(namespace, Wire.BROADCAST, data);
    }

    /** Makes the targeted sockets join {@code rooms}. */
    public void socketsJoin(String... rooms) {
        sender.send(namespace, Wire.SOCKETS_JOIN, roomsOperation(rooms));
    }

    /** Makes the targeted sockets leave {@code rooms}. */
    public void socketsLeave(String... rooms) {
        sender.send(namespace, Wire.SOCKETS_LEAVE, roomsOperation(rooms));
    }

    /** Disconnects the targeted sockets; {@code close} also closes their underlying connections. */
    public void disconnectSockets(boolean close) {
        ObjectNode data = Wire.NODES.objectNode();
        data.set("opts", opts(rooms, except));
        data.put("close", close);
        sender.send(namespace, Wire.DISCONNECT_SOCKETS, data);
    }

    /** Sends {@code event} to every server of the namespace ({@code io.on(event, ...)}; no acknowledgements). */
    public void serverSideEmit(String event, Object... args) {
        ObjectNode data = Wire.NODES.objectNode();
        data.set("packet", packet(event, args));
        sender.send(namespace, Wire.SERVER_SIDE_EMIT, data);
    }

    private ObjectNode roomsOperation(String[] rooms) {
        Set<String> target = rooms("rooms", rooms == null ? null : Arrays.asList(rooms));
        if (target.isEmpty()) {
            throw new IllegalArgumentException("rooms must name at least one room");
        }
        ObjectNode data = Wire.NODES.objectNode();
        data.set("opts", opts(this.rooms, except));
        ArrayNode names = data.putArray("rooms");
        target.forEach(names::add);
        return data;
    }

    private ArrayNode packet(String event, Object[] args) {
        ClusterNode.checkEvent(event);
        ArrayNode packet = Wire.NODES.arrayNode();
        packet.add(event);
        Object[] values = args == null ? new Object[0] : args;
        for (int i = 0; i < values.length; i++) {
            packet.add(Wire.toNode(values[i], broadcast.codec(), "argument " + i + " of event '" + event + "'"));
        }
        return packet;
    }

    /** The adapter's encoded options {@code {rooms, except, flags}}. */
    static ObjectNode opts(Set<String> rooms, Set<String> except) {
        ObjectNode opts = Wire.NODES.objectNode();
        ArrayNode r = opts.putArray("rooms");
        rooms.forEach(r::add);
        ArrayNode e = opts.putArray("except");
        except.forEach(e::add);
        opts.putObject("flags");
        return opts;
    }

    static Set<String> rooms(String what, Collection<String> rooms) {
        if (rooms == null) {
            throw new IllegalArgumentException(what + " must not be null");
        }
        Set<String> checked = new LinkedHashSet<>();
        for (String room : rooms) {
            if (room == null || room.isEmpty()) {
                throw new IllegalArgumentException(what + " must not hold a null or empty room name");
            }
            checked.add(room);
        }
        return checked;
    }

    @Override
    public String toString() {
        return "Emitter[" + namespace + " as " + uid + (rooms.isEmpty() ? "" : " to " + rooms) + (except.isEmpty() ? "" : " except " + except) + "]";
    }
}
