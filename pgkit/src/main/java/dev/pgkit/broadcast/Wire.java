package dev.pgkit.broadcast;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.BinaryNode;
import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.pgkit.internal.Identifier;
import dev.pgkit.json.JsonCodec;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.time.Instant;
import java.util.Collection;
import java.util.Iterator;
import java.util.Map;
import org.msgpack.core.MessageBufferPacker;
import org.msgpack.core.MessageFormat;
import org.msgpack.core.MessagePack;
import org.msgpack.core.MessageUnpacker;
import org.msgpack.core.buffer.MessageBuffer;
import org.msgpack.value.ExtensionValue;
import org.msgpack.value.ValueType;

/**
 * The Socket.IO cluster adapter's wire format ({@code socket.io-adapter} 2.5 {@code cluster-adapter.js},
 * {@code @socket.io/postgres-adapter} 0.5.0): message types, channel names, the JSON of a NOTIFY and the
 * msgpack of an attachment, and the conversion of Java arguments to that format.
 */
final class Wire {
    static final int INITIAL_HEARTBEAT = 1;
    static final int HEARTBEAT = 2;
    static final int BROADCAST = 3;
    static final int SOCKETS_JOIN = 4;
    static final int SOCKETS_LEAVE = 5;
    static final int DISCONNECT_SOCKETS = 6;
    static final int FETCH_SOCKETS = 7;
    static final int FETCH_SOCKETS_RESPONSE = 8;
    static final int SERVER_SIDE_EMIT = 9;
    static final int SERVER_SIDE_EMIT_RESPONSE = 10;
    static final int BROADCAST_CLIENT_COUNT = 11;
    static final int BROADCAST_ACK = 12;
    static final int ADAPTER_CLOSE = 13;

    /** The uid of emitters, which cluster members never count as nodes. */
    static final String EMITTER_UID = "emitter";
    /** PostgreSQL refuses a NOTIFY payload of this many bytes or more. */
    static final int NOTIFY_LIMIT = 8000;
    /** How deep a value may nest: deeper is taken for a cycle. */
    private static final int MAX_DEPTH = 200;

    static final ObjectMapper JSON = new ObjectMapper();
    static final JsonNodeFactory NODES = JsonNodeFactory.instance;

    private Wire() {
    }

    static void channelPrefix(String prefix) {
        Identifier.channel("channelPrefix", prefix);
        int bytes = prefix.getBytes(StandardCharsets.UTF_8).length;
        if (bytes > BroadcastOptions.MAX_PREFIX_BYTES) {
            throw new IllegalArgumentException("channelPrefix '" + prefix + "' is " + bytes + " bytes long: at most "
                    + BroadcastOptions.MAX_PREFIX_BYTES + " bytes, so that '<prefix>#<namespace>' fits PostgreSQL's 63-byte channel names");
        }
    }

    static void tableName(String table) {
        Identifier.of("tableName", table);
    }

    /** {@code /chat} for {@code chat} and {@code /chat}, as Socket.IO names namespaces. */
    static String namespace(String namespace) {
        if (namespace == null || namespace.isEmpty()) {
            throw new IllegalArgumentException("namespace must not be null or empty (the main namespace is \"/\")");
        }
        return namespace.charAt(0) == '/' ? namespace : "/" + namespace;
    }

    /** The channel of a namespace, {@code <prefix>#<namespace>}, checked against PostgreSQL's limits. */
    static String channel(String prefix, String namespace) {
        String channel = prefix + "#" + namespace;
        try {
            return Identifier.channel("channel", channel).name();
        } catch (IllegalArgumentException e) {
            throw new IllegalArgumentException("namespace '" + namespace + "' cannot be used with channelPrefix '" + prefix + "': " + e.getMessage(), e);
        }
    }

    // ---------------------------------------------------------------- Java values to the wire

    /**
     * A Java value as the wire's tree: {@code byte[]} and {@link ByteBuffer} become binary (sent as msgpack
     * bin, received by Node as a {@code Buffer}), maps and collections are converted element by element, and
     * everything else goes through the {@code Pgkit}'s codec, as {@code JSON.stringify} would write it.
     *
     * @throws IllegalArgumentException naming {@code what} when the value cannot be encoded
     */
    static JsonNode toNode(Object value, JsonCodec codec, String what) {
        try {
            return convert(value, codec, 0);
        } catch (IllegalArgumentException e) {
            throw new IllegalArgumentException(what + " cannot be encoded: " + e.getMessage(), e);
        } catch (RuntimeException | StackOverflowError e) {
            throw new IllegalArgumentException(what + " cannot be encoded as JSON (" + e.getClass().getSimpleName() + "): "
                    + "pass values the Pgkit's codec can write, byte[] for binary", e);
        }
    }

    private static JsonNode convert(Object value, JsonCodec codec, int depth) {
        if (depth > MAX_DEPTH) {
            throw new IllegalArgumentException("it nests more than " + MAX_DEPTH + " levels deep (a cycle?)");
        }
        if (value == null) {
            return NODES.nullNode();
        }
        if (value instanceof JsonNode node) {
            return node;
        }
        if (value instanceof byte[] bytes) {
            return NODES.binaryNode(bytes.clone());
        }
        if (value instanceof ByteBuffer buffer) {
            byte[] bytes = new byte[buffer.remaining()];
            buffer.duplicate().get(bytes);
            return NODES.binaryNode(bytes);
        }
        if (value instanceof Map<?, ?> map) {
            ObjectNode object = NODES.objectNode();
            for (Map.Entry<?, ?> e : map.entrySet()) {
                if (!(e.getKey() instanceof String key)) {
                    throw new IllegalArgumentException("a map key is " + (e.getKey() == null ? "null" : "a " + e.getKey().getClass().getSimpleName())
                            + ", not a String");
                }
                object.set(key, convert(e.getValue(), codec, depth + 1));
            }
            return object;
        }
        if (value instanceof Collection<?> collection) {
            ArrayNode array = NODES.arrayNode();
            for (Object element : collection) {
                array.add(convert(element, codec, depth + 1));
            }
            return array;
        }
        if (value instanceof Object[] elements) {
            ArrayNode array = NODES.arrayNode();
            for (Object element : elements) {
                array.add(convert(element, codec, depth + 1));
            }
            return array;
        }
        if (value instanceof String text) { // no round trip through the codec's text (it dominated large strings)
            return NODES.textNode(text);
        }
        if (value instanceof Double d && !Double.isFinite(d) || value instanceof Float f && !Float.isFinite(f)) {
            throw new IllegalArgumentException("the number " + value + " has no JSON form");
        }
        String json = codec.encode(value);
        try {
            return JSON.readTree(json);
        } catch (JsonProcessingException e) {
            throw new IllegalArgumentException("the codec wrote text that is not JSON (" + e.getOriginalMessage() + ")");
        }
    }

    static boolean hasBinary(JsonNode node) {
        if (node.isBinary()) {
            return true;
        }
        if (node.isContainerNode()) {
            for (Iterator<JsonNode> it = node.elements(); it.hasNext(); ) {
                if (hasBinary(it.next())) {
                    return true;
                }
            }
        }
        return false;
    }

    /**
     * The characters of {@code node}'s strings and keys, a lower bound of its JSON's length in bytes; counting stops
     * once it is past {@code limit}.
     */
    static long textLength(JsonNode node, long limit) {
        if (node.isTextual()) {
            return node.textValue().length();
        }
        long total = 0;
        if (node.isObject()) {
            for (Iterator<Map.Entry<String, JsonNode>> it = node.fields(); it.hasNext() && total <= limit; ) {
                Map.Entry<String, JsonNode> e = it.next();
                total += e.getKey().length() + textLength(e.getValue(), limit - total - e.getKey().length());
            }
        } else if (node.isArray()) {
            for (Iterator<JsonNode> it = node.elements(); it.hasNext() && total <= limit; ) {
                total += textLength(it.next(), limit - total);
            }
        }
        return total;
    }

    static String json(JsonNode node) {
        try {
            return JSON.writeValueAsString(node);
        } catch (JsonProcessingException e) {
            throw new IllegalArgumentException("message cannot be written as JSON: " + e.getOriginalMessage(), e);
        }
    }

    // ---------------------------------------------------------------- msgpack (what @msgpack/msgpack writes and reads)

    private static final MessagePack.PackerConfig PACKER = new MessagePack.PackerConfig().withBufferSize(512);

    static byte[] msgpack(JsonNode node) {
        // a small first buffer: the default 8 KB one, allocated per message, cost more than the packing of a small message
        try (MessageBufferPacker packer = PACKER.newBufferPacker()) {
            pack(packer, node);
            return packer.toByteArray();
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    private static void pack(MessageBufferPacker packer, JsonNode node) throws IOException {
        switch (node.getNodeType()) {
            case NULL, MISSING -> packer.packNil();
            case BOOLEAN -> packer.packBoolean(node.booleanValue());
            case STRING -> packString(packer, node.textValue());
            case BINARY -> {
                byte[] bytes = node.binaryValue();
                packer.packBinaryHeader(bytes.length);
                packer.writePayload(bytes);
            }
            case NUMBER -> {
                if (node.isIntegralNumber() && node.canConvertToLong()) {
                    packer.packLong(node.longValue());
                } else {
                    packer.packDouble(node.doubleValue());
                }
            }
            case ARRAY -> {
                packer.packArrayHeader(node.size());
                for (JsonNode element : node) {
                    pack(packer, element);
                }
            }
            case OBJECT -> {
                packer.packMapHeader(node.size());
                for (Iterator<Map.Entry<String, JsonNode>> it = node.fields(); it.hasNext(); ) {
                    Map.Entry<String, JsonNode> e = it.next();
                    packString(packer, e.getKey());
                    pack(packer, e.getValue());
                }
            }
            default -> throw new IllegalArgumentException("a " + node.getNodeType() + " value has no msgpack form");
        }
    }

    /**
     * msgpack-core encodes a long string through a {@code CharsetEncoder}, several times slower than
     * {@link String#getBytes}; the bytes are added without a copy.
     */
    private static void packString(MessageBufferPacker packer, String text) throws IOException {
        if (text.length() < LONG_STRING) {
            packer.packString(text);
            return;
        }
        byte[] utf8 = text.getBytes(StandardCharsets.UTF_8);
        packer.packRawStringHeader(utf8.length);
        packer.addPayload(utf8);
    }

    /** Where {@link #packString} stops using msgpack-core's own encoding (its fast path ends at 512 chars too). */
    private static final int LONG_STRING = 512;

    /** @throws IllegalArgumentException if {@code bytes} is not one msgpack value */
    static JsonNode fromMsgpack(byte[] bytes) {
        try (MessageUnpacker unpacker = MessagePack.newDefaultUnpacker(bytes)) {
            JsonNode node = unpack(unpacker, 0);
            if (unpacker.hasNext()) {
                throw new IllegalArgumentException("attachment holds more than one msgpack value");
            }
            return node;
        } catch (IOException | RuntimeException e) {
            throw new IllegalArgumentException("attachment is not a msgpack message: " + e.getMessage(), e);
        }
    }

    private static JsonNode unpack(MessageUnpacker unpacker, int depth) throws IOException {
        if (depth > MAX_DEPTH) {
            throw new IllegalArgumentException("nests more than " + MAX_DEPTH + " levels deep");
        }
        MessageFormat format = unpacker.getNextFormat();
        ValueType type = format.getValueType();
        switch (type) {
            case NIL -> {
                unpacker.unpackNil();
                return NODES.nullNode();
            }
            case BOOLEAN -> {
                return NODES.booleanNode(unpacker.unpackBoolean());
            }
            case INTEGER -> {
                if (format == MessageFormat.UINT64) {
                    return NODES.numberNode(unpacker.unpackBigInteger());
                }
                return NODES.numberNode(unpacker.unpackLong());
            }
            case FLOAT -> {
                return NODES.numberNode(unpacker.unpackDouble());
            }
            case STRING -> {
                // not unpackString(): each unpacker allocates a 16 KB decoding buffer on its first string, per message
                int length = unpacker.unpackRawStringHeader();
                MessageBuffer utf8 = unpacker.readPayloadAsReference(length); // decoded in place: no copy of the bytes first
                return NODES.textNode(utf8.hasArray()
                        ? new String(utf8.array(), utf8.arrayOffset(), length, StandardCharsets.UTF_8)
                        : new String(utf8.toByteArray(), StandardCharsets.UTF_8));
            }
            case BINARY -> {
                int length = unpacker.unpackBinaryHeader();
                return NODES.binaryNode(unpacker.readPayload(length));
            }
            case ARRAY -> {
                int size = unpacker.unpackArrayHeader();
                ArrayNode array = NODES.arrayNode(size);
                for (int i = 0; i < size; i++) {
                    array.add(unpack(unpacker, depth + 1));
                }
                return array;
            }
            case MAP -> {
                int size = unpacker.unpackMapHeader();
                ObjectNode object = NODES.objectNode();
                for (int i = 0; i < size; i++) {
                    JsonNode key = unpack(unpacker, depth + 1);
                    object.set(key.isTextual() ? key.textValue() : key.toString(), unpack(unpacker, depth + 1));
                }
                return object;
            }
            case EXTENSION -> {
                ExtensionValue ext = unpacker.unpackValue().asExtensionValue();
                if (ext.getType() == -1) { // @msgpack/msgpack's Date: what JSON.stringify would have made of it
                    Instant instant = unpackTimestamp(ext.getData());
                    return NODES.textNode(instant.toString());
                }
                return NODES.binaryNode(ext.getData());
            }
            default -> throw new IllegalArgumentException("unknown msgpack type " + type);
        }
    }

    private static Instant unpackTimestamp(byte[] data) {
        ByteBuffer b = ByteBuffer.wrap(data);
        return switch (data.length) {
            case 4 -> Instant.ofEpochSecond(Integer.toUnsignedLong(b.getInt()));
            case 8 -> {
                long v = b.getLong();
                yield Instant.ofEpochSecond(v & 0x3ffffffffL, v >>> 34);
            }
            case 12 -> {
                int nanos = b.getInt();
                yield Instant.ofEpochSecond(b.getLong(), nanos);
            }
            default -> throw new IllegalArgumentException("bad msgpack timestamp of " + data.length + " bytes");
        };
    }

    static BinaryNode binary(byte[] bytes) {
        return NODES.binaryNode(bytes);
    }
}
