package dev.pgkit.json;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.catchThrowable;

import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

/** A stored value that does not decode is reported by type, problem and position, never by its content. */
class JacksonJsonCodecTest {
    static final String SECRET = "sk-live-7f3a9c0SECRET";
    final JacksonJsonCodec codec = new JacksonJsonCodec();

    public record Account(String name, int balance) {
    }

    @Test
    void aValueOfTheWrongTypeIsReportedWithoutItsContent() {
        assertNoSecret(catchThrowable(() -> codec.decode("\"" + SECRET + "\"", Integer.class)), "java.lang.Integer", "line 1");
        assertNoSecret(catchThrowable(() -> codec.decode("{\"name\": \"a\", \"balance\": \"" + SECRET + "\"}", Account.class)),
                Account.class.getName(), "the wrong format for int");
        assertNoSecret(catchThrowable(() -> codec.decode("{\"apiKey\": \"" + SECRET + "\"}", List.class)), "java.util.List", "does not fit");
        assertNoSecret(catchThrowable(() -> codec.decode("{\"" + SECRET + "\": 1}", Account.class)), Account.class.getName(),
                "a property the type does not declare");
    }

    @Test
    void malformedJsonIsReportedWithoutItsContent() {
        assertNoSecret(catchThrowable(() -> codec.decode(SECRET, Map.class)), "java.util.Map", "not well-formed JSON");
        assertNoSecret(catchThrowable(() -> codec.decode("{\"token\": \"" + SECRET, Map.class)), "java.util.Map", "not well-formed JSON");
    }

    private static void assertNoSecret(Throwable thrown, String... expected) {
        assertThat(thrown).isInstanceOf(dev.pgkit.PgkitException.class).hasMessageContainingAll(expected);
        for (Throwable t = thrown; t != null; t = t.getCause()) {
            assertThat(t.getMessage()).as("message of %s", t.getClass().getName()).doesNotContain(SECRET).doesNotContain("sk-live");
            assertThat(t.toString()).doesNotContain(SECRET);
            for (Throwable suppressed : t.getSuppressed()) {
                assertThat(suppressed.getMessage()).doesNotContain(SECRET);
            }
        }
    }
}
