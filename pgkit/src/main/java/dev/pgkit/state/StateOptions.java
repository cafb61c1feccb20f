package dev.pgkit.state;

/**
 * Options of a {@link StateStore}.
 *
 * @param keyPrefix the namespace of every row (default {@code chat-sdk}, the Node adapter's default);
 *                  services sharing a prefix share subscriptions, locks, cache, lists and queues
 */
public record StateOptions(String keyPrefix) {
    /** The longest key prefix accepted, in characters. */
    public static final int MAX_PREFIX_LENGTH = 256;

    /** @throws IllegalArgumentException if the prefix is null, empty, too long or contains a NUL or control character */
    public StateOptions {
        Check.text("keyPrefix", keyPrefix, MAX_PREFIX_LENGTH);
    }

    /** The Node adapter's defaults: prefix {@code chat-sdk}. */
    public static StateOptions defaults() {
        return new StateOptions("chat-sdk");
    }

    /** A copy with another key prefix. */
    public StateOptions withKeyPrefix(String keyPrefix) {
        return new StateOptions(keyPrefix);
    }
}
