package dev.pgkit.broadcast;

import com.fasterxml.jackson.databind.JsonNode;
import dev.pgkit.json.JsonCodec;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.util.List;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.function.Consumer;

/**
 * An event another node of the cluster (Java or Node, {@code io.serverSideEmit(...)}) or an emitter sent to
 * every server. When the sender waits for acknowledgements, {@link #ack} answers it (once; later calls
 * are ignored, as in Socket.IO).
 */
public final class ServerSideEvent {
    private final String event;
    private final List<JsonNode> args;
    private final String from;
    private final JsonCodec codec;
    private final Consumer<JsonNode> acknowledge;
    private final AtomicBoolean acked = new AtomicBoolean();

    ServerSideEvent(String event, List<JsonNode> args, String from, JsonCodec codec, Consumer<JsonNode> acknowledge) {
        this.event = event;
        this.args = List.copyOf(args);
        this.from = from;
        this.codec = codec;
        this.acknowledge = acknowledge;
    }

    /** The event's name. */
    public String event() {
        return event;
    }

    /** The arguments after the name, as sent (binary arguments are {@code BinaryNode}s). */
    public List<JsonNode> args() {
        return args;
    }

    /**
     * Argument {@code index} decoded by the {@code Pgkit}'s codec ({@code byte[]} for a binary argument).
     *
     * @throws IndexOutOfBoundsException if there is no such argument
     */
    public <T> T arg(int index, Class<T> type) {
        JsonNode node = args.get(index);
        if (type == byte[].class && node.isBinary()) {
            try {
                return type.cast(node.binaryValue());
            } catch (IOException e) {
                throw new UncheckedIOException(e);
            }
        }
        return codec.decode(node.toString(), type);
    }

    /** The uid of the sending node ({@code emitter} for an emitter). */
    public String from() {
        return from;
    }

    /** Whether the sender waits for an acknowledgement. */
    public boolean expectsAck() {
        return acknowledge != null;
    }

    /**
     * Answers the sender with {@code value} (encoded like an argument); a no-op when it expects no
     * acknowledgement or this event was already acknowledged.
     *
     * @throws IllegalArgumentException if {@code value} cannot be encoded (nothing is sent)
     */
    public void ack(Object value) {
        if (acknowledge == null) {
            return;
        }
        JsonNode node = Wire.toNode(value, codec, "acknowledgement of " + event);
        if (acked.compareAndSet(false, true)) {
            acknowledge.accept(node);
        }
    }

    @Override
    public String toString() {
        return "ServerSideEvent[" + event + " from " + from + ", " + args.size() + " arg(s)" + (expectsAck() ? ", expects ack]" : "]");
    }
}
