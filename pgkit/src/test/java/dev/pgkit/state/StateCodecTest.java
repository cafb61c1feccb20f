package dev.pgkit.state;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.pgkit.Pgkit;
import dev.pgkit.PgkitException;
import dev.pgkit.json.JsonCodec;
import dev.pgkit.test.Db;
import dev.pgkit.testing.PostgresExtension;
import dev.pgkit.testing.TestPostgres;
import java.time.Duration;
import java.time.Instant;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

/**
 * The {@code Pgkit}'s codec is pluggable: a codec that is not Jackson, and knows nothing of pgkit's
 * stored shapes, round-trips queue entries. The codec reads only the message; pgkit reads the entry.
 */
@ExtendWith(PostgresExtension.class)
class StateCodecTest {
    static final String AWKWARD = "he said \"hi\" \\ / \n\t tab, NUL \u0000, é, 😀, {\"message\":1}";
    static Pgkit pgkit;
    static StateStore state;

    @BeforeAll
    static void setUp(TestPostgres postgres) {
        pgkit = Db.builder(postgres, TestPostgres.uniqueName("state_codec")).codec(new StringsOnlyCodec()).build();
        state = pgkit.state(TestPostgres.uniqueName("p"));
    }

    @AfterAll
    static void tearDown() {
        Db.dropAndClose(pgkit);
    }

    @Test
    void aCodecThatOnlyKnowsStringsEnqueuesAndDequeues() {
        state.enqueue("q", AWKWARD, Duration.ofMinutes(1), 10);
        state.enqueue("q", "second", Duration.ofMinutes(1));
        QueueEntry<String> first = state.dequeue("q", String.class).orElseThrow();
        assertThat(first.message()).isEqualTo(AWKWARD);
        assertThat(first.expiresAt()).isAfter(first.enqueuedAt().plusSeconds(59));
        assertThat(state.dequeue("q", String.class, Duration.ofSeconds(5)).orElseThrow().message()).isEqualTo("second");
    }

    @Test
    void anEntryAsNodeWritesItIsReadWhateverItsKeyOrderAndExtraKeys() {
        // JSON.stringify of a QueueEntry built in another order, with a key a newer Chat SDK might add
        Db.execute(pgkit, "INSERT INTO \"" + pgkit.schema() + "\".chat_state_queues (key_prefix, thread_id, value, expires_at) VALUES ('"
                + state.keyPrefix() + "', 'node', '{\"expiresAt\":1700000060000,\"meta\":{\"a\":[1,{\"b\":\"}\"}]},"
                + "\"message\" : \"from node\\u0000\" ,\"enqueuedAt\":1700000000000}', now() + interval '1 minute')");
        QueueEntry<String> entry = state.dequeue("node", String.class).orElseThrow();
        assertThat(entry.message()).isEqualTo("from node\u0000");
        assertThat(entry.enqueuedAt()).isEqualTo(Instant.ofEpochMilli(1_700_000_000_000L));
        assertThat(entry.expiresAt()).isEqualTo(Instant.ofEpochMilli(1_700_000_060_000L));
    }

    @Test
    void theStoredShapeIsSplitIntoTheMessagesTextAndItsTimes() {
        assertThat(StoredQueueEntry.parse("{\"message\":{\"x\": [1, 2.50, \"\\u0000\"]},\"enqueuedAt\":5,\"expiresAt\":6}"))
                .isEqualTo(new StoredQueueEntry("{\"x\": [1, 2.50, \"\\u0000\"]}", 5, 6));
        assertThat(StoredQueueEntry.parse(" { \"enqueuedAt\" : 5 , \"message\" : 12.0e3 , \"expiresAt\" : 6.9 } "))
                .isEqualTo(new StoredQueueEntry("12.0e3", 5, 6));
        assertThat(StoredQueueEntry.parse("{\"message\":null,\"enqueuedAt\":1,\"expiresAt\":2}").messageJson()).isEqualTo("null");
        assertThat(StoredQueueEntry.parse("{\"enqueuedAt\":1,\"expiresAt\":2}").messageJson()).as("no message").isEqualTo("null");
        assertThatThrownBy(() -> StoredQueueEntry.parse("[1]")).isInstanceOf(PgkitException.class);
        assertThatThrownBy(() -> StoredQueueEntry.parse("{\"message\":1,\"enqueuedAt\":\"x\",\"expiresAt\":2}")).isInstanceOf(PgkitException.class);
        assertThatThrownBy(() -> StoredQueueEntry.parse("{\"message\":1} trailing")).isInstanceOf(PgkitException.class);
    }

    /** A hand-written codec for String values only: no Jackson, no reflection, nothing but JSON strings. */
    static final class StringsOnlyCodec implements JsonCodec {
        @Override
        public String encode(Object value) {
            if (!(value instanceof String s)) {
                throw new IllegalArgumentException("this codec writes strings only, not a " + value.getClass().getName());
            }
            StringBuilder out = new StringBuilder("\"");
            for (char c : s.toCharArray()) {
                switch (c) {
                    case '"' -> out.append("\\\"");
                    case '\\' -> out.append("\\\\");
                    default -> {
                        if (c < 0x20) {
                            out.append(String.format("\\u%04x", (int) c));
                        } else {
                            out.append(c);
                        }
                    }
                }
            }
            return out.append('"').toString();
        }

        @Override
        public <T> T decode(String json, Class<T> type) {
            if (type != String.class || json.length() < 2 || json.charAt(0) != '"' || json.charAt(json.length() - 1) != '"') {
                throw new IllegalArgumentException("this codec reads JSON strings only, as String: " + type.getName());
            }
            StringBuilder out = new StringBuilder();
            for (int i = 1; i < json.length() - 1; i++) {
                char c = json.charAt(i);
                if (c != '\\') {
                    out.append(c);
                    continue;
                }
                char e = json.charAt(++i);
                switch (e) {
                    case 'n' -> out.append('\n');
                    case 't' -> out.append('\t');
                    case 'r' -> out.append('\r');
                    case 'b' -> out.append('\b');
                    case 'f' -> out.append('\f');
                    case 'u' -> {
                        out.append((char) Integer.parseInt(json.substring(i + 1, i + 5), 16));
                        i += 4;
                    }
                    default -> out.append(e); // \" \\ \/
                }
            }
            return type.cast(out.toString());
        }
    }
}
