package dev.pgkit.broadcast;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.nio.charset.StandardCharsets;

/**
 * One message ready to send: its channel and either its JSON (a NOTIFY payload) or its msgpack (an
 * attachment, announced by a header). A message is spilled when it holds binary content, when its JSON
 * is longer than the payload threshold, or when PostgreSQL would refuse it in a NOTIFY (8000 bytes or
 * more; the Node adapter spills only over 8000, and its 8000-byte messages are lost).
 *
 * @param channel    the namespace's channel
 * @param inline     the NOTIFY payload, or null when spilled
 * @param attachment the msgpack of the whole message, or null when inline
 * @param uid        the sender's uid (for the header)
 * @param type       the message type (for the header)
 */
record Outgoing(String channel, String inline, byte[] attachment, String uid, int type) {

    /** Builds the envelope {@code {type, data, uid, nsp}} (data omitted when null) and encodes it. */
    static Outgoing of(String channel, int type, JsonNode data, String uid, String namespace, int payloadThreshold) {
        ObjectNode envelope = Wire.NODES.objectNode();
        envelope.put("type", type);
        if (data != null) {
            envelope.set("data", data);
        }
        envelope.put("uid", uid);
        envelope.put("nsp", namespace);
        // its strings' characters alone make its JSON at least that many bytes: a message that cannot go inline is not written as JSON
        int inlineLimit = Math.min(payloadThreshold, Wire.NOTIFY_LIMIT - 1);
        if (!Wire.hasBinary(envelope) && Wire.textLength(envelope, inlineLimit) <= inlineLimit) {
            String json = Wire.json(envelope);
            int bytes = json.getBytes(StandardCharsets.UTF_8).length;
            if (bytes <= payloadThreshold && bytes < Wire.NOTIFY_LIMIT) {
                return new Outgoing(channel, json, null, uid, type);
            }
        }
        return new Outgoing(channel, null, Wire.msgpack(envelope), uid, type);
    }

    /** A message for the durable table: always its whole msgpack (binary or not, any size). */
    static Outgoing durable(String channel, int type, JsonNode data, String uid, String namespace) {
        ObjectNode envelope = Wire.NODES.objectNode();
        envelope.put("type", type);
        envelope.set("data", data);
        envelope.put("uid", uid);
        envelope.put("nsp", namespace);
        return new Outgoing(channel, null, Wire.msgpack(envelope), uid, type);
    }

    boolean spilled() {
        return attachment != null;
    }

    int size() {
        return spilled() ? attachment.length : inline.length();
    }
}
