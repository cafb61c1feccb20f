package dev.pgkit.internal;

/** Receives the notifications of the channels it listens to. Internal to pgkit (not exported). */
public interface NotificationHandler {
    /** A notification arrived on {@code channel}; called on the listener's dispatch thread, keep it short. */
    void onNotification(String channel, String payload);

    /**
     * The LISTEN connection was lost and has been re-established: notifications sent in between are
     * gone, so state that depends on them must be re-read.
     */
    default void onReconnect() {
    }
}
