package dev.pgkit.internal;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.pgkit.Pgkit;
import dev.pgkit.state.StateStore;
import dev.pgkit.test.Db;
import dev.pgkit.testing.PostgresExtension;
import dev.pgkit.testing.TestPostgres;
import java.sql.Connection;
import java.sql.ResultSet;
import java.sql.Statement;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

/**
 * Cleanups delete only garbage, in bounded batches (each DELETE statement is observed by a statement-level
 * trigger on the server), skipping rows other sessions hold; expiry, retention and keep-newest-N forms.
 */
@ExtendWith(PostgresExtension.class)
class HousekeepingTest {

    @Test
    void periodicHousekeepingDeletesExpiredRowsInBatches(TestPostgres postgres) throws Exception {
        String schema = TestPostgres.uniqueName("housekeeping");
        Pgkit pgkit = Db.builder(postgres, schema).housekeepingInterval(Duration.ofMillis(300)).build();
        try {
            StateStore state = pgkit.state("hk");
            state.set("keep", 1);
            state.set("keep-ttl", 1, Duration.ofHours(1));
            String cache = "\"" + schema + "\".chat_state_cache";
            logDeleteStatements(pgkit, schema, "chat_state_cache");
            int expired = Housekeeper.DEFAULT_BATCH * 2 + 17; // more than two batches
            Db.execute(pgkit, "INSERT INTO " + cache + " (key_prefix, cache_key, value, expires_at)"
                    + " SELECT 'hk', 'old-' || i, '1', now() - interval '1 minute' FROM generate_series(1, " + expired + ") i");
            long deadline = System.nanoTime() + Duration.ofSeconds(20).toNanos();
            while (Db.scalar(pgkit, "SELECT count(*) FROM " + cache + " WHERE expires_at <= now()") > 0 && System.nanoTime() < deadline) {
                Thread.sleep(50); // polling for the background run's effect, not waiting for time to pass
            }
            assertThat(Db.scalar(pgkit, "SELECT count(*) FROM " + cache + " WHERE expires_at <= now()")).isZero();
            assertThat(state.get("keep", Integer.class)).contains(1);
            assertThat(state.get("keep-ttl", Integer.class)).contains(1);
            List<Long> batches = deleteStatements(pgkit, schema);
            assertThat(batches).as("rows deleted by each DELETE statement").allMatch(n -> n <= Housekeeper.DEFAULT_BATCH);
            assertThat(batches.stream().mapToLong(Long::longValue).sum()).isEqualTo(expired);
            assertThat(batches).as("statements that deleted rows").hasSizeGreaterThanOrEqualTo(3);
        } finally {
            Db.dropAndClose(pgkit);
        }
    }

    @Test
    void cleanupSkipsRowsAnotherSessionHolds(TestPostgres postgres) throws Exception {
        String schema = TestPostgres.uniqueName("hk_skip");
        Pgkit pgkit = Db.pgkit(postgres, schema);
        try {
            StateStore state = pgkit.state("hk");
            state.set("live", 1, Duration.ofHours(1));
            String cache = "\"" + schema + "\".chat_state_cache";
            Db.execute(pgkit, "INSERT INTO " + cache + " (key_prefix, cache_key, value, expires_at)"
                    + " SELECT 'hk', 'old-' || i, '1', now() - interval '1 minute' FROM generate_series(1, 50) i");
            try (Connection holder = pgkit.dataSource().getConnection()) {
                holder.setAutoCommit(false);
                try (Statement s = holder.createStatement()) {
                    s.executeQuery("SELECT 1 FROM " + cache + " WHERE cache_key = 'old-7' FOR UPDATE").close();
                }
                // bounded: a cleanup that waited for the held row would never return while the holder is open
                long deleted = CompletableFuture.supplyAsync(pgkit::cleanup).get(10, TimeUnit.SECONDS);
                assertThat(deleted).isEqualTo(49);
                assertThat(Db.scalar(pgkit, "SELECT count(*) FROM " + cache + " WHERE cache_key LIKE 'old-%'")).isEqualTo(1);
                holder.rollback();
            }
            assertThat(pgkit.cleanup()).as("the row no longer held goes at the next run").isEqualTo(1);
            assertThat(state.get("live", Integer.class)).contains(1);
        } finally {
            Db.dropAndClose(pgkit);
        }
    }

    @Test
    void retentionAndKeepNewestCleanupsDeleteOnlyWhatTheyName(TestPostgres postgres) throws Exception {
        String schema = TestPostgres.uniqueName("hk_forms");
        Pgkit pgkit = Db.pgkit(postgres, schema);
        try {
            String q = "\"" + schema + "\"";
            Db.execute(pgkit, "CREATE SCHEMA " + q);
            Db.execute(pgkit, "CREATE TABLE " + q + ".snapshots (entity text NOT NULL, seq int NOT NULL, PRIMARY KEY (entity, seq))");
            Db.execute(pgkit, "CREATE TABLE " + q + ".attachments (id int PRIMARY KEY, created_at timestamptz NOT NULL)");
            // a: 8 snapshots, b: 2, c: 5; keep the newest 3 of each
            Db.execute(pgkit, "INSERT INTO " + q + ".snapshots SELECT 'a', i FROM generate_series(1, 8) i");
            Db.execute(pgkit, "INSERT INTO " + q + ".snapshots SELECT 'b', i FROM generate_series(1, 2) i");
            Db.execute(pgkit, "INSERT INTO " + q + ".snapshots SELECT 'c', i FROM generate_series(1, 5) i");
            // 7 attachments two hours old, 4 ten minutes old; retention one hour
            Db.execute(pgkit, "INSERT INTO " + q + ".attachments SELECT i, now() - interval '2 hours' FROM generate_series(1, 7) i");
            Db.execute(pgkit, "INSERT INTO " + q + ".attachments SELECT i, now() - interval '10 minutes' FROM generate_series(8, 11) i");
            logDeleteStatements(pgkit, schema, "snapshots");
            logDeleteStatements(pgkit, schema, "attachments");

            Component component = new Component(new SchemaComponent("forms", List.of(), List.of()),
                    List.of(Cleanup.keepNewest("forms.snapshots.old", "snapshots", List.of("entity"), "seq", 3),
                            Cleanup.olderThan("forms.attachments.retention", "attachments", "created_at", Duration.ofHours(1))),
                    List.of());
            int batch = 2;
            Housekeeper housekeeper = new Housekeeper(new Database(pgkit.dataSource(), "test", Timeouts.of(Duration.ofSeconds(30)), false), Identifier.of("schema", schema), batch);

            assertThat(housekeeper.cleanup(component)).isEqualTo(5 + 2 + 7);
            assertThat(strings(pgkit, "SELECT entity || seq FROM " + q + ".snapshots ORDER BY 1"))
                    .containsExactly("a6", "a7", "a8", "b1", "b2", "c3", "c4", "c5");
            assertThat(Db.scalar(pgkit, "SELECT count(*) FROM " + q + ".attachments WHERE id >= 8")).isEqualTo(4);
            assertThat(Db.scalar(pgkit, "SELECT count(*) FROM " + q + ".attachments")).isEqualTo(4);
            List<Long> batches = deleteStatements(pgkit, schema);
            assertThat(batches).allMatch(n -> n <= batch);
            assertThat(batches.stream().mapToLong(Long::longValue).sum()).isEqualTo(14);
            assertThat(housekeeper.cleanup(component)).as("a second run finds nothing").isZero();
        } finally {
            Db.dropAndClose(pgkit);
        }
    }

    @Test
    void cleanupsAreDeclaredSafely() {
        assertThatThrownBy(() -> Cleanup.expired("x", "t; DROP TABLE t")).hasMessageContaining("not a safe identifier");
        assertThatThrownBy(() -> Cleanup.keepNewest("x", "t", List.of("k"), "seq", 0)).hasMessageContaining("keep must be at least 1");
        assertThatThrownBy(() -> Cleanup.olderThan("x", "t", "created_at", Duration.ZERO)).hasMessageContaining("retention must be a positive");
        assertThatThrownBy(() -> new Cleanup("x", "t", "DELETE FROM t", List.of())).hasMessageContaining("${table}");
        assertThatThrownBy(() -> new Housekeeper(null, Identifier.of("schema", "s"), 0)).hasMessageContaining("batchSize");
        Cleanup cleanup = Cleanup.expired("x", "t");
        assertThatThrownBy(() -> new Component(new SchemaComponent("c", List.of(), List.of()), List.of(cleanup, cleanup), List.of()))
                .hasMessageContaining("two cleanups are named x");
        assertThat(new StatusTable("t", Optional.empty()).garbageWhen()).isEmpty();
    }

    /** Records, on the server, how many rows each DELETE statement on {@code table} removed. */
    private static void logDeleteStatements(Pgkit pgkit, String schema, String table) {
        String q = "\"" + schema + "\"";
        Db.execute(pgkit, "CREATE TABLE IF NOT EXISTS " + q + ".delete_log (id bigserial PRIMARY KEY, deleted bigint NOT NULL)");
        Db.execute(pgkit, "CREATE OR REPLACE FUNCTION " + q + ".log_delete() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN "
                + "INSERT INTO " + q + ".delete_log (deleted) SELECT count(*) FROM gone; RETURN NULL; END $$");
        Db.execute(pgkit, "CREATE TRIGGER log_delete AFTER DELETE ON " + q + "." + table
                + " REFERENCING OLD TABLE AS gone FOR EACH STATEMENT EXECUTE FUNCTION " + q + ".log_delete()");
    }

    /** The row counts of the DELETE statements that removed something, in order. */
    private static List<Long> deleteStatements(Pgkit pgkit, String schema) throws Exception {
        List<Long> counts = new ArrayList<>();
        for (String n : strings(pgkit, "SELECT deleted FROM \"" + schema + "\".delete_log WHERE deleted > 0 ORDER BY id")) {
            counts.add(Long.parseLong(n));
        }
        return counts;
    }

    private static List<String> strings(Pgkit pgkit, String sql) throws Exception {
        List<String> out = new ArrayList<>();
        try (Connection c = pgkit.dataSource().getConnection(); Statement s = c.createStatement(); ResultSet rs = s.executeQuery(sql)) {
            while (rs.next()) {
                out.add(rs.getString(1));
            }
        }
        return out;
    }
}
