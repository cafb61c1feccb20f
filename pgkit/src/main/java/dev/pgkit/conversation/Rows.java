package dev.pgkit.conversation;

import dev.pgkit.json.JsonCodec;
import java.sql.Array;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.time.Instant;
import java.time.OffsetDateTime;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;

/** Reads the rows {@link ConversationSql}'s statements return. */
final class Rows {
    private final JsonCodec codec;

    Rows(JsonCodec codec) {
        this.codec = codec;
    }

    /** A history row in {@code ConversationSql.HISTORY_COLUMNS} order, from column 1. */
    HistoryEntry history(ResultSet rs) throws SQLException {
        int contactId = rs.getInt(10);
        Optional<Long> contact = rs.wasNull() ? Optional.empty() : Optional.of((long) contactId);
        long id = rs.getLong(1);
        Optional<Instant> created = instant(rs, 8);
        if (created.isEmpty()) {
            throw new SQLException("history entry " + id + " has no created_at");
        }
        return new HistoryEntry(id, rs.getString(2), Optional.ofNullable(rs.getString(3)), rs.getString(4), rs.getString(5),
                rs.getString(6), Optional.ofNullable(rs.getString(7)), created.get(), instant(rs, 9), contact);
    }

    List<HistoryEntry> histories(ResultSet rs) throws SQLException {
        List<HistoryEntry> out = new ArrayList<>();
        while (rs.next()) {
            out.add(history(rs));
        }
        return out;
    }

    /** A contact row in {@code ConversationSql.CONTACT_COLUMNS} order, from column 1. */
    Contact contact(ResultSet rs) throws SQLException {
        String json = rs.getString(6);
        return new Contact(rs.getLong(1), rs.getString(2), instant(rs, 3), instant(rs, 4), instant(rs, 5), values(json),
                Optional.ofNullable(json));
    }

    List<Contact> contacts(ResultSet rs) throws SQLException {
        List<Contact> out = new ArrayList<>();
        while (rs.next()) {
            out.add(contact(rs));
        }
        return out;
    }

    ContactMerge merge(ResultSet rs) throws SQLException {
        Array ids = rs.getArray(4);
        List<Long> merged = new ArrayList<>();
        for (Integer id : (Integer[]) ids.getArray()) {
            merged.add(id.longValue());
        }
        return new ContactMerge(rs.getObject(1, OffsetDateTime.class).toInstant(), rs.getString(2), rs.getLong(3), merged, rs.getLong(5));
    }

    /** Stored values that are not a JSON object (a Node writer may store anything) read as no values. */
    @SuppressWarnings("unchecked")
    private Map<String, Object> values(String json) {
        if (json == null || !json.stripLeading().startsWith("{")) {
            return Map.of();
        }
        return codec.decode(json, Map.class);
    }

    private static Optional<Instant> instant(ResultSet rs, int column) throws SQLException {
        OffsetDateTime value = rs.getObject(column, OffsetDateTime.class);
        return Optional.ofNullable(value).map(OffsetDateTime::toInstant);
    }
}
