package dev.pgkit.broadcast;

import com.fasterxml.jackson.databind.JsonNode;
import dev.pgkit.internal.NotificationHandler;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.OptionalLong;
import java.util.function.Consumer;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Reads one node's channel: parses each notification, drops the node's own messages before anything
 * else (a sender never re-reads its own attachments), fetches the attachments announced by headers
 * ({@code attachmentId} as a JSON string, as Node sends it, or a number) of a delivered batch in one query and
 * hands the full messages on, in the order they were sent.
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
        onNotifications(channel, List.of(payload));
    }

    /**
     * Reads a batch: the attachments it announces are fetched in one query, then the messages are handed on in
     * the order they were sent.
     */
    @Override
    public void onNotifications(String channel, List<String> payloads) {
        List<JsonNode> messages = new ArrayList<>(payloads.size());
        List<Long> ids = new ArrayList<>(); // per message: its attachment's id, or null when inline
        for (String payload : payloads) {
            JsonNode message = read(channel, payload);
            if (message == null) {
                continue;
            }
            JsonNode attachment = message.get("attachmentId");
            Long id = null;
            if (attachment != null && !attachment.isNull()) {
                OptionalLong parsed = attachmentId(channel, attachment);
                if (parsed.isEmpty()) {
                    continue;
                }
                id = parsed.getAsLong();
            }
            messages.add(message);
            ids.add(id);
        }
        Map<Long, byte[]> attachments = fetch(channel, ids);
        for (int i = 0; i < messages.size(); i++) {
            JsonNode message = messages.get(i);
            Long id = ids.get(i);
            if (id != null) {
                if (attachments == null) {
                    broadcast.unreadable("attachment " + id + " announced on " + channel + " could not be read");
                    continue;
                }
                message = resolve(channel, id, attachments);
                if (message == null || !message.isObject() || uid.equals(message.path("uid").textValue())) {
                    continue;
                }
            }
            deliver.accept(message);
        }
    }

    /** The batch's attachments in one query; null when it failed (the inline messages still go on). */
    private Map<Long, byte[]> fetch(String channel, List<Long> ids) {
        List<Long> wanted = ids.stream().filter(java.util.Objects::nonNull).toList();
        if (wanted.isEmpty()) {
            return Map.of();
        }
        try {
            return broadcast.attachments(wanted);
        } catch (RuntimeException e) {
            log.error("pgkit broadcast node {}: could not read {} attachment(s) announced on {}", uid, wanted.size(), channel, e);
            return null;
        }
    }

    /** The notification as JSON, or null when it is unreadable or this node's own. */
    private JsonNode read(String channel, String payload) {
        JsonNode message;
        try {
            message = Wire.JSON.readTree(payload);
        } catch (Exception e) {
            broadcast.unreadable("a notification on " + channel + " is not JSON");
            return null;
        }
        if (!message.isObject() || uid.equals(message.path("uid").textValue())) {
            return null;
        }
        return message;
    }

    private OptionalLong attachmentId(String channel, JsonNode attachment) {
        if (attachment.isIntegralNumber() && attachment.canConvertToLong()) {
            return OptionalLong.of(attachment.longValue());
        }
        if (attachment.isTextual() && attachment.textValue().matches("[0-9]{1,18}")) {
            return OptionalLong.of(Long.parseLong(attachment.textValue()));
        }
        broadcast.unreadable("a notification on " + channel + " has attachmentId " + attachment + ", not a row id");
        return OptionalLong.empty();
    }

    private JsonNode resolve(String channel, long id, Map<Long, byte[]> attachments) {
        byte[] bytes = attachments.get(id);
        if (bytes == null) {
            broadcast.missingAttachment(channel, id);
            return null;
        }
        try {
            return Wire.fromMsgpack(bytes);
        } catch (IllegalArgumentException e) {
            broadcast.unreadable("attachment " + id + " announced on " + channel + ": " + e.getMessage());
            return null;
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
