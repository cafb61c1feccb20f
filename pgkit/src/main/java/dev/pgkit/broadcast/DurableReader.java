package dev.pgkit.broadcast;

import com.fasterxml.jackson.databind.JsonNode;
import dev.pgkit.LogOffset;
import dev.pgkit.internal.Context;
import dev.pgkit.internal.OrderedLog;
import java.util.function.Consumer;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Durable mode's reader of one node: follows the message table for the node's channel (everything but its
 * own messages) through the foundation's commit-safe {@link OrderedLog}, so a message that commits late is
 * never skipped and none is delivered twice; the channel's notifications only wake it.
 */
final class DurableReader implements AutoCloseable {
    private static final Logger log = LoggerFactory.getLogger(DurableReader.class);
    static final int BATCH = 500;

    private record Row(String sender, byte[] message) {
    }

    private final OrderedLog.Live live;

    DurableReader(Context context, BroadcastSql sql, String channel, String uid, LogOffset after, Consumer<JsonNode> deliver) {
        OrderedLog<Row> journal = new OrderedLog<>(context.database(), "broadcast " + channel,
                new OrderedLog.Source("m.sender, m.message", sql.messages + " m", "m.channel = ? AND m.sender <> ?", "m.tx", "m.seq"),
                rs -> new Row(rs.getString(1), rs.getBytes(2)));
        this.live = journal.follow(context, channel, after, BATCH, s -> {
            s.setString(1, channel);
            s.setString(2, uid);
        }, new OrderedLog.Listener<>() {
            @Override
            public void onEntries(java.util.List<OrderedLog.Entry<Row>> batch) {
                for (OrderedLog.Entry<Row> entry : batch) {
                    JsonNode message;
                    try {
                        message = Wire.fromMsgpack(entry.value().message());
                    } catch (IllegalArgumentException e) {
                        log.warn("pgkit broadcast: durable message {} on {} is unreadable ({}); skipped", entry.offset(), channel, e.getMessage());
                        continue;
                    }
                    deliver.accept(message);
                }
            }

            @Override
            public void onError(Throwable failure) {
                log.error("pgkit broadcast: the durable reader of {} stopped at {}", channel, failure);
            }
        });
    }

    /** The offset of the last message delivered. */
    LogOffset offset() {
        return live.offset();
    }

    boolean isRunning() {
        return live.isRunning();
    }

    @Override
    public void close() {
        live.close();
    }
}
