package dev.pgkit.broadcast;

import com.fasterxml.jackson.databind.JsonNode;
import dev.pgkit.internal.NotificationHandler;
import java.util.Optional;
import java.util.function.Consumer;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Reads one node's channel: parses each notification, drops the node's own messages before anything
 * else (a sender never re-reads its own attachments), fetches an attachment announced by a header
 * ({@code attachmentId} as a JSON string, as Node sends it, or a number) and hands the full message on.
 * A missing attachment or an unreadable notification is logged and counted, never thrown: one bad message
 * must not stop the channel.
 */
final class Inbox implements NotificationHandler {
    private static final Logger log = LoggerFactory.getLogger(Inbox.class);

    private final Broadcast broadcast;
    private final String uid;
    private final Consumer<JsonNode> deliver;
    private volatile boolean active;

    Inbox(Broadcast broadcast, String uid, Consumer<JsonNode> deliver) {
        this.broadcast = broadcast;
        this.uid = uid;
        this.deliver = deliver;
    }

    @Override
    public void onNotification(String channel, String payload) {
        JsonNode message;
        try {
            message = Wire.JSON.readTree(payload);
        } catch (Exception e) {
            broadcast.unreadable("a notification on " + channel + " is not JSON");
            return;
        }
        if (!message.isObject() || uid.equals(message.path("uid").textValue())) {
            return;
        }
        JsonNode attachment = message.get("attachmentId");
        if (attachment != null && !attachment.isNull()) {
            Optional<JsonNode> full = fetch(channel, attachment);
            if (full.isEmpty()) {
                return;
            }
            message = full.get();
            if (!message.isObject() || uid.equals(message.path("uid").textValue())) {
                return;
            }
        }
        deliver.accept(message);
    }

    private Optional<JsonNode> fetch(String channel, JsonNode attachment) {
        long id;
        if (attachment.isIntegralNumber() && attachment.canConvertToLong()) {
            id = attachment.longValue();
        } else if (attachment.isTextual() && attachment.textValue().matches("[0-9]{1,19}")) {
            id = Long.parseLong(attachment.textValue());
        } else {
            broadcast.unreadable("a notification on " + channel + " has attachmentId " + attachment + ", not a row id");
            return Optional.empty();
        }
        Optional<byte[]> bytes = broadcast.attachment(id);
        if (bytes.isEmpty()) {
            broadcast.missingAttachment(channel, id);
            return Optional.empty();
        }
        try {
            return Optional.of(Wire.fromMsgpack(bytes.get()));
        } catch (IllegalArgumentException e) {
            broadcast.unreadable("attachment " + id + " announced on " + channel + ": " + e.getMessage());
            return Optional.empty();
        }
    }

    @Override
    public void onGap() {
        if (!active) {
            active = true; // the subscription is now LISTENed: nothing before it was meant for us
            return;
        }
        broadcast.gap();
        log.warn("pgkit broadcast node {}: the listener reconnected or fell behind; notifications sent meanwhile are lost "
                + "(heartbeats, requests and responses; in durable mode published messages are re-read from the table)", uid);
    }

    boolean isActive() {
        return active;
    }
}
