package dev.pgkit.internal;

/**
 * Receives the notifications of one channel. Calls to one handler are serialized (never two at once),
 * on a pool thread of the listener, never on the listener's own thread. Internal to pgkit (not exported).
 */
public interface NotificationHandler {
    /** A notification arrived on {@code channel}. */
    void onNotification(String channel, String payload);

    /**
     * Notifications may have been missed: re-read the state they announce (from your cursor). Called
     * once the subscription becomes active (notifications sent before that were never seen), after
     * every reconnect (notifications sent during the outage are gone), and instead of the queued
     * notifications when this handler fell too far behind and they were dropped.
     */
    default void onGap() {
    }
}
