package dev.pgkit.state;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.pgkit.Pgkit;
import dev.pgkit.test.Db;
import dev.pgkit.testing.PostgresExtension;
import dev.pgkit.testing.TestPostgres;
import java.time.Duration;
import org.assertj.core.api.ThrowableAssert.ThrowingCallable;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

/** Bad input gets a clear exception before any SQL runs, and leaves the database as it was. */
@ExtendWith(PostgresExtension.class)
class StateBadInputTest {
    static Pgkit pgkit;
    static StateStore state;

    @BeforeAll
    static void setUp(TestPostgres postgres) {
        pgkit = Db.pgkit(postgres, TestPostgres.uniqueName("state_bad_input"));
        state = pgkit.state(TestPostgres.uniqueName("b"));
    }

    @AfterAll
    static void tearDown() {
        Db.dropAndClose(pgkit);
    }

    long rows() {
        return Db.scalar(pgkit, "SELECT (SELECT count(*) FROM \"" + pgkit.schema() + "\".chat_state_cache)"
                + " + (SELECT count(*) FROM \"" + pgkit.schema() + "\".chat_state_locks)"
                + " + (SELECT count(*) FROM \"" + pgkit.schema() + "\".chat_state_lists)"
                + " + (SELECT count(*) FROM \"" + pgkit.schema() + "\".chat_state_queues)"
                + " + (SELECT count(*) FROM \"" + pgkit.schema() + "\".chat_state_subscriptions)");
    }

    void rejected(ThrowingCallable call, String messagePart) {
        long before = rows();
        assertThatThrownBy(call).isInstanceOf(IllegalArgumentException.class).hasMessageContaining(messagePart);
        assertThat(rows()).as("nothing written").isEqualTo(before);
    }

    @Test
    void nullAndEmptyKeys() {
        rejected(() -> state.set(null, 1), "key must not be null");
        rejected(() -> state.set("", 1), "key must not be empty");
        rejected(() -> state.get(null, String.class), "key must not be null");
        rejected(() -> state.subscribe(""), "threadId must not be empty");
        rejected(() -> state.acquireLock(null, Duration.ofSeconds(1)), "threadId must not be null");
        rejected(() -> state.enqueue("", "m", Duration.ofSeconds(1), 1), "threadId must not be empty");
        rejected(() -> state.appendToList(null, "v"), "key must not be null");
        rejected(() -> state.dequeue("", String.class), "threadId must not be empty");
    }

    @Test
    void nonPositiveTtls() {
        rejected(() -> state.set("k", 1, Duration.ZERO), "ttl must be at least 1 ms");
        rejected(() -> state.set("k", 1, Duration.ofSeconds(-5)), "ttl must be at least 1 ms");
        rejected(() -> state.set("k", 1, Duration.ofNanos(10)), "ttl must be at least 1 ms");
        rejected(() -> state.set("k", 1, null), "ttl must not be null");
        rejected(() -> state.acquireLock("t", Duration.ZERO), "ttl must be at least 1 ms");
        rejected(() -> state.enqueue("t", "m", Duration.ofMillis(-1), 5), "ttl must be at least 1 ms");
        rejected(() -> state.appendToList("l", "v", ListOptions.none().ttl(Duration.ZERO)), "ttl must be at least 1 ms");
        rejected(() -> state.set("k", 1, Duration.ofDays(365L * 1000)), "ttl must be at most");
    }

    @Test
    void nonPositiveCapsAndNegativeWaits() {
        rejected(() -> state.enqueue("t", "m", Duration.ofSeconds(1), 0), "maxSize must be at least 1");
        rejected(() -> state.appendToList("l", "v", ListOptions.none().maxLength(-1)), "maxLength must be at least 1");
        rejected(() -> state.acquireLock("t", LockOptions.lease(Duration.ofSeconds(1)).waitUpTo(Duration.ofSeconds(-1))), "maxWait must not be negative");
        rejected(() -> state.dequeue("t", String.class, Duration.ofMillis(-1)), "maxWait must not be negative");
    }

    @Test
    void hugeWaitsNameTheOption() {
        Duration huge = Duration.ofDays(365L * 1_000);
        rejected(() -> state.dequeue("t", String.class, huge), "maxWait must be at most");
        rejected(() -> state.acquireLock("t", LockOptions.lease(Duration.ofSeconds(1)).waitUpTo(huge)), "maxWait must be at most");
        rejected(() -> state.set("k", 1, huge), "ttl must be at most");
    }

    @Test
    void aLockFromAnotherStoreIsRejected() {
        StateStore other = pgkit.state(TestPostgres.uniqueName("other"));
        Lock lock = other.acquireLock("shared-name", Duration.ofSeconds(30)).orElseThrow();
        rejected(() -> state.releaseLock(lock), "was acquired through another StateStore");
        rejected(() -> state.extendLock(lock, Duration.ofSeconds(60)), "release or extend it through the store that acquired it");
        assertThat(lock.isHeld()).isTrue();
        assertThat(other.releaseLock(lock)).as("still held by its own store").isTrue();
    }

    @Test
    void nullValuesAndOversizedOrControlCharacterKeys() {
        rejected(() -> state.set("k", null), "value must not be null");
        rejected(() -> state.enqueue("t", null, Duration.ofSeconds(1), 1), "message must not be null");
        rejected(() -> state.set("x".repeat(Check.MAX_KEY_LENGTH + 1), 1), "at most 1024");
        rejected(() -> state.set("nul\u0000key", 1), "control character U+0000");
        rejected(() -> state.subscribe("line\nbreak"), "control character U+000A");
        rejected(() -> state.releaseLock(null), "lock must not be null");
        rejected(() -> state.get("k", null), "type must not be null");
    }

    @Test
    void valuesJacksonCannotWriteAreRejectedBeforeSql() {
        Object selfReferencing = new Object() {
            public Object getSelf() {
                return this;
            }
        };
        rejected(() -> state.set("k", selfReferencing), "cannot encode");
    }

    @Test
    void hostilePrefixes() {
        assertThatThrownBy(() -> pgkit.state("")).isInstanceOf(IllegalArgumentException.class).hasMessageContaining("keyPrefix must not be empty");
        assertThatThrownBy(() -> pgkit.state((String) null)).isInstanceOf(IllegalArgumentException.class).hasMessageContaining("keyPrefix must not be null");
        assertThatThrownBy(() -> pgkit.state("a\u0000b")).isInstanceOf(IllegalArgumentException.class).hasMessageContaining("control character");
        assertThatThrownBy(() -> pgkit.state("p".repeat(StateOptions.MAX_PREFIX_LENGTH + 1))).isInstanceOf(IllegalArgumentException.class);

        // SQL in a prefix or key is only data: every value is a bind parameter
        String injection = "x'); DROP TABLE \"" + pgkit.schema() + "\".chat_state_cache; --";
        StateStore hostile = pgkit.state(injection);
        hostile.set(injection, injection);
        assertThat(hostile.get(injection, String.class)).contains(injection);
        assertThat(Db.scalar(pgkit, "SELECT count(*) FROM \"" + pgkit.schema() + "\".chat_state_cache WHERE key_prefix = '"
                + injection.replace("'", "''") + "'")).isEqualTo(1);
    }
}
