package dev.pgkit.persistence;

import dev.pgkit.internal.Checks;
import dev.pgkit.json.JsonCodec;

/** Argument checks, run before any SQL so that bad input never reaches the database. */
final class Check {
    /** The longest persistence id accepted, in characters. */
    static final int MAX_ID_LENGTH = 1024;
    /** The longest tag accepted, in characters. */
    static final int MAX_TAG_LENGTH = 256;
    /** The most events one append takes. */
    static final int MAX_BATCH = 100_000;

    private Check() {
    }

    static String persistenceId(String value) {
        return text("persistenceId", value, MAX_ID_LENGTH);
    }

    static String tag(String value) {
        text("tag", value, MAX_TAG_LENGTH);
        if (value.indexOf(',') >= 0) {
            throw new IllegalArgumentException("tag '" + value + "' contains a comma; actor-ts stores tags comma-separated, so a tag cannot hold one");
        }
        return value;
    }

    static String text(String name, String value, int maxLength) {
        return Checks.text(name, value, maxLength, "ids and tags");
    }

    /** The JSON text of a user value; a value the codec cannot encode (or encodes with a NUL) fails here, before any SQL. */
    static String encode(JsonCodec codec, String name, Object value) {
        String json = Checks.encode(codec, name, value, (n, v, e) -> n + " cannot be stored: the codec cannot encode a "
                + v.getClass().getName() + " (" + e.getMessage() + ")");
        if (json == null) {
            throw new IllegalArgumentException(name + " cannot be stored: the codec encoded a " + value.getClass().getName() + " as null");
        }
        if (json.indexOf('\0') >= 0) {
            throw new IllegalArgumentException(name + " cannot be stored: its JSON holds a NUL character, which PostgreSQL text cannot");
        }
        return json;
    }

    static <T> Class<T> type(Class<T> type) {
        return Checks.notNull("type", type);
    }
}
