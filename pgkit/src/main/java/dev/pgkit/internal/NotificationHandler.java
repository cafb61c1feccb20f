package dev.pgkit.internal;

/**
 * Receives the notifications of one channel. Calls to one handler are serialized (never two at once),
 * on a pool thread of the listener, never on the listener's own thread. Internal to pgkit (not exported).
 */
public interface NotificationHandler {
    /** A notification arrived on {@code channel}. */
    void onNotification(String channel, String payload);

    /**
     * Notifications arrived on {@code channel}, in order: whatever was queued for this handler when it was
     * called (at most {@value NotificationDispatcher#BATCH}), so a handler that does work per notification can
     * do it once per batch. By default, {@link #onNotification} for each.
     */
    default void onNotifications(String channel, java.util.List<String> payloads) {
        for (String payload : payloads) {
            onNotification(channel, payload);
        }
    }

    /**
     * Notifications may have been missed: re-read the state they announce (from your cursor). Called
     * once the subscription becomes active (notifications sent before that were never seen), after
     * every reconnect (notifications sent during the outage are gone; those received before it come
     * first), and instead of the queued notifications when this handler was stalled so long that they
     * were dropped (see {@link NotificationListener#DEFAULT_MAILBOX_BYTES}).
     */
    default void onGap() {
    }
}
