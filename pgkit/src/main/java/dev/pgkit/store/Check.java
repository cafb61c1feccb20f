package dev.pgkit.store;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.pgkit.internal.Checks;
import dev.pgkit.json.JsonCodec;

/** Argument checks, run before any SQL so that bad input never reaches the database. */
final class Check {
    /** The longest key, stream or store name accepted, in characters. */
    static final int MAX_KEY_LENGTH = 1024;
    /** The largest JSON value accepted, in characters (PostgreSQL's jsonb holds far more, but such a value is surely a mistake). */
    static final int MAX_VALUE_CHARS = 16 * 1024 * 1024;
    /** The largest page. */
    static final int MAX_LIMIT = 10_000;
    static final ObjectMapper JSON = new ObjectMapper().enable(com.fasterxml.jackson.databind.DeserializationFeature.FAIL_ON_TRAILING_TOKENS);

    private Check() {
    }

    static String key(String name, String value) {
        Checks.notEmpty(name, value);
        return prefix(name, value);
    }

    /** Like {@link #key} but may be empty (a prefix). */
    static String prefix(String name, String value) {
        Checks.maxLength(name, value, MAX_KEY_LENGTH);
        return Checks.printableUtf8(name, value, "keys");
    }

    static int limit(int limit) {
        return Checks.limit(limit, MAX_LIMIT);
    }

    static long version(String name, long version) {
        if (version < 0) {
            throw new IllegalArgumentException(name + " must be 0 (absent) or a version a read returned, was " + version);
        }
        return version;
    }

    /** Encodes a value with the codec; a value the codec cannot write, or JSON null, is refused. */
    static String encode(JsonCodec codec, String name, Object value) {
        return size(name, Checks.encode(codec, name, value, (n, v, e) -> n + " cannot be written as JSON (" + v.getClass().getName() + "): "
                + e.getMessage()));
    }

    /** Checks JSON text given as is: well-formed, one value, not {@code null}, within the size limit. */
    static String json(String name, String json) {
        Checks.notNull(name, json);
        size(name, json);
        try {
            var node = JSON.readTree(json);
            if (node == null || node.isMissingNode()) {
                throw new IllegalArgumentException(name + " is empty: it must be one JSON value");
            }
            if (node.isNull()) {
                throw new IllegalArgumentException(name + " is JSON null: delete the key instead");
            }
        } catch (JsonProcessingException e) {
            throw new IllegalArgumentException(name + " is not valid JSON (at line " + e.getLocation().getLineNr() + ", column "
                    + e.getLocation().getColumnNr() + "): pass one JSON value, or use the method taking an object", null);
        }
        if (json.indexOf('\u0000') >= 0 || json.contains("\\u0000")) {
            throw new IllegalArgumentException(name + " contains a NUL character, which PostgreSQL's jsonb cannot hold");
        }
        return json;
    }

    private static String size(String name, String json) {
        if (json.length() > MAX_VALUE_CHARS) {
            throw new IllegalArgumentException(name + " is " + json.length() + " characters of JSON; at most " + MAX_VALUE_CHARS + " are allowed");
        }
        if ("null".equals(json.strip())) {
            throw new IllegalArgumentException(name + " is JSON null: delete the key instead");
        }
        if (json.contains("\\u0000")) {
            throw new IllegalArgumentException(name + " contains a NUL character, which PostgreSQL's jsonb cannot hold");
        }
        return json;
    }
}
