package dev.pgkit.state;

import com.fasterxml.jackson.core.JsonFactory;
import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.core.JsonToken;
import dev.pgkit.PgkitException;
import java.io.IOException;

/**
 * A stored Chat SDK QueueEntry, {@code {"message": ..., "enqueuedAt": ms, "expiresAt": ms}} as pgkit and
 * the Node adapter write it, split into the message's JSON text, as written, and the two times.
 *
 * <p>Read with a streaming parser in one pass, so the {@code Pgkit}'s codec, whatever it is, reads only
 * the message. Not done in SQL: PostgreSQL's JSON functions refuse a document with an escaped NUL
 * character anywhere in it, so such an entry could never be dequeued. Keys a newer Node version may add
 * are skipped.
 */
record StoredQueueEntry(String messageJson, long enqueuedAtMillis, long expiresAtMillis) {
    private static final JsonFactory JSON = new JsonFactory();

    static StoredQueueEntry parse(String json) {
        try (JsonParser parser = JSON.createParser(json)) {
            if (parser.nextToken() != JsonToken.START_OBJECT) {
                throw notAnEntry(null);
            }
            String message = "null"; // a missing message reads as JSON null (Node's JSON.parse leaves it undefined)
            long enqueuedAt = 0;
            long expiresAt = 0;
            JsonToken token = parser.nextToken();
            while (token == JsonToken.FIELD_NAME) {
                String field = parser.currentName();
                JsonToken value = parser.nextToken();
                int valueStart = (int) parser.currentTokenLocation().getCharOffset();
                switch (field) {
                    case "enqueuedAt" -> enqueuedAt = millis(parser, value);
                    case "expiresAt" -> expiresAt = millis(parser, value);
                    default -> parser.skipChildren();
                }
                token = parser.nextToken();
                if (field.equals("message")) {
                    message = rawText(json, valueStart, (int) parser.currentTokenLocation().getCharOffset(), token);
                }
            }
            if (token != JsonToken.END_OBJECT || parser.nextToken() != null) {
                throw notAnEntry(null);
            }
            return new StoredQueueEntry(message, enqueuedAt, expiresAt);
        } catch (IOException e) {
            throw notAnEntry(e);
        }
    }

    /** A value's text: from its first character to the next token, less the whitespace and comma between. */
    private static String rawText(String json, int start, int nextTokenStart, JsonToken next) {
        String text = json.substring(start, nextTokenStart).stripTrailing();
        if (next == JsonToken.FIELD_NAME) {
            text = text.substring(0, text.length() - 1).stripTrailing(); // the comma before the next key
        }
        return text;
    }

    private static long millis(JsonParser parser, JsonToken value) throws IOException {
        if (value != JsonToken.VALUE_NUMBER_INT && value != JsonToken.VALUE_NUMBER_FLOAT) {
            throw notAnEntry(null);
        }
        return parser.getValueAsLong();
    }

    private static PgkitException notAnEntry(Exception cause) {
        return new PgkitException("a dequeued entry is not a Chat SDK QueueEntry {message, enqueuedAt, expiresAt}", cause);
    }
}
