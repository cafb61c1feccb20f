package dev.pgkit.store;

import dev.pgkit.ConcurrencyConflictException;

/**
 * A conditional write lost its race: the record's version was not the one expected. Nothing was written;
 * {@link #currentVersion()} is the version found (0 when the record is absent or deleted).
 */
public final class VersionConflictException extends ConcurrencyConflictException {
    private final String key;
    private final long expectedVersion;
    private final long currentVersion;

    VersionConflictException(String kind, String key, long expectedVersion, long currentVersion) {
        super(kind + " '" + key + "' is at version " + currentVersion + ", not the expected " + expectedVersion
                + ": another writer changed it; read it again and decide", null, null);
        this.key = key;
        this.expectedVersion = expectedVersion;
        this.currentVersion = currentVersion;
    }

    /** The key written. */
    public String key() {
        return key;
    }

    /** The version the write expected. */
    public long expectedVersion() {
        return expectedVersion;
    }

    /** The version found: 0 when absent or deleted. */
    public long currentVersion() {
        return currentVersion;
    }
}
