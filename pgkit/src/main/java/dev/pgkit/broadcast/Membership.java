package dev.pgkit.broadcast;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;

/**
 * The other nodes of one namespace, as the Socket.IO cluster adapter tracks them: any message from a uid
 * (but {@code emitter}) marks it live; it is gone when it says goodbye ({@code ADAPTER_CLOSE}) or after
 * {@code heartbeatTimeout} without a message.
 */
final class Membership {
    private final long timeoutNanos;
    private final Map<String, Long> lastSeen = new ConcurrentHashMap<>();

    Membership(long timeoutNanos) {
        this.timeoutNanos = timeoutNanos;
    }

    void seen(String uid) {
        lastSeen.put(uid, System.nanoTime());
    }

    /** @return whether {@code uid} was a member */
    boolean remove(String uid) {
        return lastSeen.remove(uid) != null;
    }

    /** Removes and returns the nodes not heard from within the timeout. */
    List<String> expire() {
        long now = System.nanoTime();
        List<String> gone = new ArrayList<>();
        lastSeen.forEach((uid, seen) -> {
            if (now - seen > timeoutNanos && lastSeen.remove(uid, seen)) {
                gone.add(uid);
            }
        });
        return gone;
    }

    Set<String> live() {
        return Set.copyOf(lastSeen.keySet());
    }
}
