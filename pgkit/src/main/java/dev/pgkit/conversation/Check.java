package dev.pgkit.conversation;

import dev.pgkit.internal.Checks;

/** Argument checks, run before any SQL so that bad input never reaches the database. */
final class Check {
    /** BuilderBot's {@code VARCHAR(255)} columns (phone, ref, keyword), in characters. */
    static final int MAX_VARCHAR = 255;

    private Check() {
    }

    /** A phone: 1 to 255 characters, no control characters, not blank. */
    static String phone(String phone) {
        varchar("phone", phone);
        if (phone.isBlank()) {
            throw new IllegalArgumentException("phone must not be blank");
        }
        for (int i = 0; i < phone.length(); i++) {
            if (Character.isISOControl(phone.charAt(i))) {
                throw new IllegalArgumentException("phone contains control character U+" + String.format("%04X", (int) phone.charAt(i))
                        + " at index " + i);
            }
        }
        return phone;
    }

    /** Text for a {@code VARCHAR(255)} column: not null, not empty, at most 255 characters, no NUL. */
    static String varchar(String name, String value) {
        varcharMaybeEmpty(name, value);
        if (value.isEmpty()) {
            throw new IllegalArgumentException(name + " must not be empty");
        }
        return value;
    }

    static String varcharMaybeEmpty(String name, String value) {
        Checks.notNull(name, value);
        int length = value.codePointCount(0, value.length());
        if (length > MAX_VARCHAR) {
            throw new IllegalArgumentException(name + " is " + length + " characters long; the column holds at most " + MAX_VARCHAR);
        }
        return noNul(name, value);
    }

    /** Text for a {@code TEXT} column: not null, at most {@link ConversationStore#MAX_TEXT_LENGTH} characters, no NUL. */
    static String text(String name, String value) {
        Checks.notNull(name, value);
        if (value.length() > ConversationStore.MAX_TEXT_LENGTH) {
            throw new IllegalArgumentException(name + " is " + value.length() + " characters long; at most "
                    + ConversationStore.MAX_TEXT_LENGTH + " are accepted");
        }
        return noNul(name, value);
    }

    /** JSON text for a {@code JSONB} column: at most the text limit, and no NUL escape (jsonb cannot hold U+0000). */
    static String json(String name, String json) {
        if (json.length() > ConversationStore.MAX_TEXT_LENGTH) {
            throw new IllegalArgumentException(name + " encode to " + json.length() + " characters of JSON; at most "
                    + ConversationStore.MAX_TEXT_LENGTH + " are accepted");
        }
        if (json.contains("\\u0000")) {
            throw new IllegalArgumentException(name + " contain the character U+0000, which PostgreSQL's jsonb cannot hold");
        }
        return json;
    }

    static int limit(int limit) {
        return Checks.limit(limit, HistoryQuery.MAX_LIMIT);
    }

    private static String noNul(String name, String value) {
        int nul = value.indexOf('\0');
        if (nul >= 0) {
            throw new IllegalArgumentException(name + " contains the character U+0000 at index " + nul + ", which PostgreSQL text cannot hold");
        }
        return value;
    }
}
