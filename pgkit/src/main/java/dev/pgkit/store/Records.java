package dev.pgkit.store;

import dev.pgkit.internal.Checks;
import java.util.Map;
import java.util.Optional;

/**
 * A store's versioned JSON records. Every write bumps the record's version and is queued for sync in the
 * same statement; a write can be made conditional on the version a read returned, and then fails with
 * {@link VersionConflictException} (naming the current version) if another writer got there first.
 * Listings are in key order (byte order of the UTF-8 key), paged with a cursor. Thread-safe.
 */
public final class Records {
    private final Rows rows;

    Records(Rows rows) {
        this.rows = rows;
    }

    /** Writes {@code value} (encoded by the codec) under {@code key}; returns the new version (1 for a new record). */
    public long put(String key, Object value) {
        Check.key("key", key);
        return rows.put(key, rows.encode(value), null);
    }

    /**
     * Writes {@code value} only if the record is at {@code expectedVersion} (0: absent or deleted).
     *
     * @return the new version
     * @throws VersionConflictException if it is at another version; nothing was written
     */
    public long put(String key, Object value, long expectedVersion) {
        Check.key("key", key);
        Check.version("expectedVersion", expectedVersion);
        return rows.put(key, rows.encode(value), expectedVersion);
    }

    /** Writes JSON text as it is (checked to be one JSON value first); returns the new version. */
    public long putJson(String key, String json) {
        Check.key("key", key);
        return rows.put(key, Check.json("json", json), null);
    }

    /** Writes JSON text only if the record is at {@code expectedVersion} (0: absent or deleted). */
    public long putJson(String key, String json, long expectedVersion) {
        Check.key("key", key);
        Check.version("expectedVersion", expectedVersion);
        return rows.put(key, Check.json("json", json), expectedVersion);
    }

    /** The record, decoded as a {@code type}; empty when absent or deleted. */
    public <T> Optional<StoredRecord<T>> get(String key, Class<T> type) {
        Check.key("key", key);
        return rows.get(key, type);
    }

    /** The record's version: 0 when absent or deleted. */
    public long version(String key) {
        Check.key("key", key);
        return rows.currentVersion(key);
    }

    /** Deletes the record; true if it existed. */
    public boolean delete(String key) {
        Check.key("key", key);
        return rows.delete(key, null);
    }

    /**
     * Deletes the record only if it is at {@code expectedVersion}.
     *
     * @throws VersionConflictException if it is absent or at another version
     */
    public boolean delete(String key, long expectedVersion) {
        Check.key("key", key);
        if (expectedVersion < 1) {
            throw new IllegalArgumentException("expectedVersion must be a version a read returned (at least 1), was " + expectedVersion);
        }
        return rows.delete(key, expectedVersion);
    }

    /** The first page of records whose key starts with {@code prefix} ("" for all), at most {@code limit}. */
    public <T> Page<StoredRecord<T>> list(String prefix, int limit, Class<T> type) {
        return list(prefix, limit, type, null);
    }

    /** The page after {@code cursor} (from a previous page of the same listing; null for the first page). */
    public <T> Page<StoredRecord<T>> list(String prefix, int limit, Class<T> type, String cursor) {
        Check.prefix("prefix", prefix);
        return rows.list(prefix, Check.limit(limit), type, cursor);
    }

    /**
     * Records whose value contains {@code fragment} (JSON containment, {@code @>}: an object whose fields
     * and nested values all appear in the record), in key order; served by the migration's GIN index.
     */
    public <T> Page<StoredRecord<T>> whereContains(Object fragment, int limit, Class<T> type, String cursor) {
        return rows.contains(rows.encode(fragment), Check.limit(limit), type, cursor);
    }

    /** Records whose top-level {@code field} equals {@code value} (as JSON), in key order; served by the GIN index. */
    public <T> Page<StoredRecord<T>> whereField(String field, Object value, int limit, Class<T> type, String cursor) {
        Check.key("field", field);
        return rows.contains(rows.encode(Map.of(field, Checks.notNull("value", value))), Check.limit(limit), type, cursor);
    }

    /**
     * Full-text search over the string values of the records' JSON (web-search syntax: words, "phrases",
     * {@code or}, {@code -excluded}; no stemming), in key order; served by the migration's GIN index.
     */
    public <T> Page<StoredRecord<T>> search(String query, int limit, Class<T> type, String cursor) {
        Check.key("query", query);
        return rows.search(query, Check.limit(limit), type, cursor);
    }
}
