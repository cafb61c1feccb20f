package dev.pgkit.store;

import java.util.Optional;

/**
 * A store's key-value entries: JSON values by key. Every write is queued for sync in the same statement
 * and synced like records. Thread-safe.
 */
public final class KeyValue {
    private final Rows rows;

    KeyValue(Rows rows) {
        this.rows = rows;
    }

    /** Stores {@code value} (encoded by the codec) under {@code key}. */
    public void set(String key, Object value) {
        Check.key("key", key);
        rows.put(key, rows.encode(value), null);
    }

    /** Stores JSON text as it is (checked to be one JSON value first). */
    public void setJson(String key, String json) {
        Check.key("key", key);
        rows.put(key, Check.json("json", json), null);
    }

    /** The value of {@code key} as a {@code type}; empty when absent. */
    public <T> Optional<T> get(String key, Class<T> type) {
        Check.key("key", key);
        return rows.get(key, type).map(StoredRecord::value);
    }

    /** Deletes {@code key}; true if it had a value. */
    public boolean delete(String key) {
        Check.key("key", key);
        return rows.delete(key, null);
    }
}
