package dev.pgkit.persistence;

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
        if (value == null) {
            throw new IllegalArgumentException(name + " must not be null");
        }
        if (value.isEmpty()) {
            throw new IllegalArgumentException(name + " must not be empty");
        }
        if (value.length() > maxLength) {
            throw new IllegalArgumentException(name + " is " + value.length() + " characters long; at most " + maxLength + " are allowed");
        }
        for (int i = 0; i < value.length(); i++) {
            char c = value.charAt(i);
            if (c == 0 || (Character.isISOControl(c) && c != '\t')) {
                throw new IllegalArgumentException(name + " contains control character U+" + String.format("%04X", (int) c) + " at index " + i
                        + "; PostgreSQL text cannot hold NUL and pgkit rejects control characters in ids and tags");
            }
        }
        return value;
    }

    static long notNegative(String name, long value) {
        if (value < 0) {
            throw new IllegalArgumentException(name + " must not be negative, was " + value);
        }
        return value;
    }

    static long positive(String name, long value) {
        if (value < 1) {
            throw new IllegalArgumentException(name + " must be at least 1, was " + value);
        }
        return value;
    }

    static <T> T notNull(String name, T value) {
        if (value == null) {
            throw new IllegalArgumentException(name + " must not be null");
        }
        return value;
    }

    /** The JSON text of a user value; a value the codec cannot encode (or encodes with a NUL) fails here, before any SQL. */
    static String encode(JsonCodec codec, String name, Object value) {
        notNull(name, value);
        String json;
        try {
            json = codec.encode(value);
        } catch (RuntimeException e) {
            throw new IllegalArgumentException(name + " cannot be stored: the codec cannot encode a " + value.getClass().getName()
                    + " (" + e.getMessage() + ")", e);
        }
        if (json == null) {
            throw new IllegalArgumentException(name + " cannot be stored: the codec encoded a " + value.getClass().getName() + " as null");
        }
        if (json.indexOf('\0') >= 0) {
            throw new IllegalArgumentException(name + " cannot be stored: its JSON holds a NUL character, which PostgreSQL text cannot");
        }
        return json;
    }

    static <T> Class<T> type(Class<T> type) {
        return notNull("type", type);
    }
}
