package dev.pgkit.internal;

import static org.assertj.core.api.Assertions.assertThat;

import dev.pgkit.Pgkit;
import dev.pgkit.state.StateStore;
import dev.pgkit.test.Db;
import dev.pgkit.testing.PostgresExtension;
import dev.pgkit.testing.TestPostgres;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

/** What the adapters of one Pgkit share: one component's slow preparation holds up nothing else. */
@ExtendWith(PostgresExtension.class)
class ContextTest {

    @Test
    void aMigrationWaitingForAnotherInstanceBlocksNothingElse(TestPostgres postgres) throws Exception {
        String schema = TestPostgres.uniqueName("context_blocked");
        try (Pgkit pgkit = Db.pgkit(postgres, schema); Connection other = pgkit.dataSource().getConnection()) {
            Context context = contextOf(pgkit);
            StateStore store = pgkit.state("ready");
            store.set("k", "v"); // the state component is prepared
            Component blocked = new Component(new SchemaComponent("context_test",
                    List.of(new SchemaComponent.Migration(1, "test table", "dev/pgkit/internal/context_test_v1.sql")), List.of()),
                    List.of(), List.of());
            // another instance migrating this schema holds the migration lock
            try (PreparedStatement lock = other.prepareStatement("SELECT pg_advisory_lock(hashtextextended(?, 0))")) {
                lock.setString(1, "pgkit.migrate." + schema);
                lock.execute();
            }
            CompletableFuture<Void> migration = CompletableFuture.runAsync(() -> context.prepare(blocked));
            Db.awaitTrue(pgkit, "the migration waits for the other instance's lock", "SELECT count(*) = 1 FROM pg_stat_activity"
                    + " WHERE wait_event_type = 'Lock' AND wait_event = 'advisory' AND query LIKE '%pg_advisory_xact_lock%'");

            assertThat(within(() -> pgkit.status())).as("status() answers").isNotNull();
            assertThat(within(context::listener)).as("the listener (the watchdog asks for it)").isNotNull();
            assertThat(within(context::scheduler)).isNotNull();
            assertThat(within(context::startedListener)).isPresent();
            long start = System.nanoTime();
            assertThat(within(() -> store.dequeue("q", String.class, Duration.ofMillis(500)))).as("a waiting dequeue").isEmpty();
            assertThat((System.nanoTime() - start) / 1_000_000).as("it kept its maxWait").isLessThan(2_000);
            assertThat(migration).isNotDone();

            try (PreparedStatement unlock = other.prepareStatement("SELECT pg_advisory_unlock(hashtextextended(?, 0))")) {
                unlock.setString(1, "pgkit.migrate." + schema);
                unlock.execute();
            }
            migration.get(10, TimeUnit.SECONDS);
        } finally {
            Db.admin(postgres, "DROP SCHEMA IF EXISTS " + schema + " CASCADE");
        }
    }

    private static <T> T within(java.util.function.Supplier<T> call) throws Exception {
        return CompletableFuture.supplyAsync(call).get(3, TimeUnit.SECONDS);
    }

    static Context contextOf(Pgkit pgkit) throws ReflectiveOperationException {
        java.lang.reflect.Field field = Pgkit.class.getDeclaredField("context");
        field.setAccessible(true);
        return (Context) field.get(pgkit);
    }
}
