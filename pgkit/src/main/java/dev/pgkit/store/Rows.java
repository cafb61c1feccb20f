package dev.pgkit.store;

import dev.pgkit.internal.Checks;
import dev.pgkit.internal.Database;
import dev.pgkit.internal.Params;
import dev.pgkit.internal.Sql;
import dev.pgkit.json.JsonCodec;
import java.nio.charset.StandardCharsets;
import java.sql.ResultSet;
import java.util.ArrayList;
import java.util.Base64;
import java.util.List;
import java.util.Optional;

/**
 * The writes and reads records and key-value entries share: each write bumps the version, stamps the row
 * with the server's clock and this replica, and queues its sync entry in the same statement.
 */
final class Rows {
    private final Database database;
    private final JsonCodec codec;
    private final StoreSql.Table sql;
    private final String store;
    private final String origin;
    private final String what;

    Rows(Database database, JsonCodec codec, StoreSql.Table sql, String store, String origin, String what) {
        this.database = database;
        this.codec = codec;
        this.sql = sql;
        this.store = store;
        this.origin = origin;
        this.what = what;
    }

    String encode(Object value) {
        return Check.encode(codec, "value", value);
    }

    <T> T decode(String json, Class<T> type) {
        return codec.decode(json, type);
    }

    /** Writes JSON; with an expected version (0: absent or deleted) only if the row is at it. Returns the new version. */
    long put(String key, String json, Long expected) {
        Sql statement = expected == null ? sql.put : expected == 0 ? sql.putNew : sql.putIfVersion;
        Long written = database.query(statement, key, s -> {
            s.setString(1, store);
            s.setString(2, key);
            Params.jsonb(s, 3, json);
            s.setString(4, origin);
            Params.nullableLong(s, 5, expected);
        }, rs -> rs.next() ? rs.getLong(1) : null);
        if (written == null) {
            throw new VersionConflictException(what, key, expected, currentVersion(key));
        }
        return written;
    }

    /** Deletes (keeps a tombstone for sync); with an expected version only if the row is at it. */
    boolean delete(String key, Long expected) {
        Boolean deleted = database.query(expected == null ? sql.delete : sql.deleteIfVersion, key, s -> {
            s.setString(1, store);
            s.setString(2, key);
            Params.jsonb(s, 3, null);
            s.setString(4, origin);
            Params.nullableLong(s, 5, expected);
        }, ResultSet::next);
        if (!deleted && expected != null) {
            throw new VersionConflictException(what, key, expected, currentVersion(key));
        }
        return deleted;
    }

    long currentVersion(String key) {
        return database.query(sql.currentVersion, key, s -> {
            s.setString(1, store);
            s.setString(2, key);
        }, rs -> rs.next() ? rs.getLong(1) : 0L);
    }

    <T> Optional<StoredRecord<T>> get(String key, Class<T> type) {
        Checks.notNull("type", type);
        return database.query(sql.get, key, s -> {
            s.setString(1, store);
            s.setString(2, key);
        }, rs -> rs.next() ? Optional.of(new StoredRecord<>(key, decode(rs.getString(1), type), rs.getLong(2), rs.getTimestamp(3).toInstant()))
                : Optional.empty());
    }

    <T> Page<StoredRecord<T>> list(String prefix, int limit, Class<T> type, String cursor) {
        String after = afterKey(cursor);
        String upper = upperBound(prefix);
        return page(sql.list, prefix, limit, type, s -> {
            s.setString(1, store);
            s.setString(2, prefix);
            s.setString(3, upper);
            s.setString(4, upper);
            s.setString(5, after);
            s.setInt(6, limit + 1);
        });
    }

    <T> Page<StoredRecord<T>> contains(String json, int limit, Class<T> type, String cursor) {
        String after = afterKey(cursor);
        return page(sql.contains, "containment", limit, type, s -> {
            s.setString(1, store);
            Params.jsonb(s, 2, json);
            s.setString(3, after);
            s.setInt(4, limit + 1);
        });
    }

    <T> Page<StoredRecord<T>> search(String query, int limit, Class<T> type, String cursor) {
        String after = afterKey(cursor);
        return page(sql.search, "search", limit, type, s -> {
            s.setString(1, store);
            s.setString(2, query);
            s.setString(3, after);
            s.setInt(4, limit + 1);
        });
    }

    /** Reads {@code limit + 1} rows: the extra one tells whether there is a next page. */
    private <T> Page<StoredRecord<T>> page(Sql statement, String subject, int limit, Class<T> type, Database.Binder binder) {
        Checks.notNull("type", type);
        List<StoredRecord<T>> items = database.query(statement, subject, binder, rs -> {
            List<StoredRecord<T>> out = new ArrayList<>();
            while (rs.next()) {
                out.add(new StoredRecord<>(rs.getString(1), decode(rs.getString(2), type), rs.getLong(3), rs.getTimestamp(4).toInstant()));
            }
            return out;
        });
        if (items.size() <= limit) {
            return new Page<>(items, Optional.empty());
        }
        List<StoredRecord<T>> shown = items.subList(0, limit);
        return new Page<>(shown, Optional.of(cursorOf(shown.get(limit - 1).key())));
    }

    static String cursorOf(String key) {
        return Base64.getUrlEncoder().withoutPadding().encodeToString(key.getBytes(StandardCharsets.UTF_8));
    }

    /** The key a cursor stands for ("" before the first page). */
    static String afterKey(String cursor) {
        if (cursor == null) {
            return "";
        }
        try {
            String key = new String(Base64.getUrlDecoder().decode(cursor), StandardCharsets.UTF_8);
            Check.key("cursor", key);
            return key;
        } catch (IllegalArgumentException e) {
            throw new IllegalArgumentException("cursor '" + (cursor.length() > 40 ? cursor.substring(0, 40) + "…" : cursor)
                    + "' is not a cursor a listing returned", e);
        }
    }

    /**
     * The least string above every string starting with {@code prefix} in byte (code point) order, or null when
     * there is none (an empty prefix, or one of only U+10FFFF).
     */
    static String upperBound(String prefix) {
        int[] cps = prefix.codePoints().toArray();
        for (int i = cps.length - 1; i >= 0; i--) {
            int next = cps[i] + 1;
            if (next == 0xD800) {
                next = 0xE000; // surrogates are not characters
            }
            if (next <= Character.MAX_CODE_POINT) {
                cps[i] = next;
                return new String(cps, 0, i + 1);
            }
        }
        return null;
    }
}
