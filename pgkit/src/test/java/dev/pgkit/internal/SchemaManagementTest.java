package dev.pgkit.internal;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.zaxxer.hikari.HikariConfig;
import com.zaxxer.hikari.HikariDataSource;
import dev.pgkit.Pgkit;
import dev.pgkit.SchemaNotReadyException;
import dev.pgkit.test.Db;
import dev.pgkit.testing.PostgresExtension;
import dev.pgkit.testing.TestPostgres;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

/** Versioned DDL applied exactly once under concurrency; a managed schema verified with clear errors. */
@ExtendWith(PostgresExtension.class)
class SchemaManagementTest {

    @Test
    void tenInstancesStartingTogetherMigrateExactlyOnce(TestPostgres postgres) throws Exception {
        String schema = TestPostgres.uniqueName("migrate_race");
        List<Pgkit> instances = new ArrayList<>();
        for (int i = 0; i < 10; i++) {
            instances.add(Db.builder(postgres, schema).poolSize(2).build());
        }
        try {
            migrateAllAtOnceAndCheckEachVersionAppliedOnce(instances, schema);
            assertThat(instances.get(3).status().schemaVersions()).containsEntry("state", 2);
            // and every instance can use the tables at once
            for (Pgkit pgkit : instances) {
                pgkit.state("race").set("k", 1);
            }
        } finally {
            for (int i = 1; i < instances.size(); i++) {
                instances.get(i).close();
            }
            Db.dropAndClose(instances.get(0));
        }
    }

    /**
     * Ten instances migrating one fresh schema at once through pools whose default isolation is
     * REPEATABLE READ: each reads the applied version after its advisory-lock wait, at READ COMMITTED, so
     * none re-applies what another committed meanwhile (which failed with 23505 on the version table).
     */
    @Test
    void coldStartRaceSucceedsWhenTheDefaultIsolationIsRepeatableRead(TestPostgres postgres) throws Exception {
        String schema = TestPostgres.uniqueName("migrate_rr");
        String role = TestPostgres.uniqueName("pgkit_rr");
        Db.admin(postgres, "CREATE ROLE " + role + " LOGIN PASSWORD 'pw'",
                "ALTER ROLE " + role + " SET default_transaction_isolation = 'repeatable read'",
                "CREATE SCHEMA " + schema + " AUTHORIZATION " + role);
        List<HikariDataSource> pools = new ArrayList<>();
        List<Pgkit> instances = new ArrayList<>();
        try {
            for (int i = 0; i < 10; i++) {
                HikariConfig config = new HikariConfig();
                config.setJdbcUrl(Db.server(postgres).urlFor(role, "pw", 0));
                config.setMaximumPoolSize(2);
                pools.add(new HikariDataSource(config));
                instances.add(Pgkit.builder().dataSource(pools.get(i)).schema(schema).disableHousekeeping().build());
            }
            migrateAllAtOnceAndCheckEachVersionAppliedOnce(instances, schema);
        } finally {
            instances.forEach(Pgkit::close);
            pools.forEach(HikariDataSource::close);
            Db.admin(postgres, "DROP SCHEMA " + schema + " CASCADE", "DROP OWNED BY " + role, "DROP ROLE " + role);
        }
    }

    /**
     * An instance waiting for another's migration waits as long as the migration transaction may run, not
     * just the DDL's lock_timeout: the advisory lock is taken before lock_timeout is set. Here the DDL's
     * lock_timeout is 200 ms and the other "instance" holds the migration lock until this one has waited
     * three times that long.
     */
    @Test
    void waitingForAnotherInstancesMigrationIsNotBoundedByTheDdlLockTimeout(TestPostgres postgres) throws Exception {
        String schema = TestPostgres.uniqueName("migrate_wait");
        Duration ddlLockTimeout = Duration.ofMillis(200);
        Db.Server server = Db.server(postgres);
        HikariConfig config = new HikariConfig();
        config.setJdbcUrl(server.jdbcUrl());
        config.setDataSourceProperties(server.superuser());
        config.setMaximumPoolSize(1);
        try (HikariDataSource pool = new HikariDataSource(config); java.sql.Connection holder = server.admin()) {
            Database database = new Database(pool, "test server", Timeouts.of(Duration.ofSeconds(30)), false);
            SchemaManager manager = new SchemaManager(database, Identifier.of("schema", schema), ddlLockTimeout);
            SchemaComponent component = AdapterRegistry.components().get(0).schema();
            String lockKey = "hashtextextended('pgkit.migrate." + schema + "', 0)";
            try (var s = holder.createStatement()) {
                s.execute("SELECT pg_advisory_lock(" + lockKey + ")");
            }
            var migrated = java.util.concurrent.CompletableFuture.supplyAsync(() -> manager.migrate(component));
            long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
            while (true) {
                if (migrated.isDone()) {
                    migrated.join(); // throws what ended the wait
                    throw new AssertionError("the migration ran while another instance held the migration lock");
                }
                try (var c = server.admin(); var s = c.prepareStatement("SELECT count(*) FROM pg_stat_activity WHERE wait_event = 'advisory'"
                        + " AND query LIKE '%pg_advisory_xact_lock%' AND now() - query_start > ? * interval '1 millisecond'")) {
                    s.setLong(1, ddlLockTimeout.multipliedBy(3).toMillis());
                    try (var rs = s.executeQuery()) {
                        rs.next();
                        if (rs.getInt(1) > 0) {
                            break;
                        }
                    }
                }
                assertThat(System.nanoTime()).as("the migration waits for the advisory lock").isLessThan(deadline);
                Thread.sleep(20);
            }
            try (var s = holder.createStatement()) {
                s.execute("SELECT pg_advisory_unlock(" + lockKey + ")");
            }
            assertThat(migrated.get(30, TimeUnit.SECONDS)).as("migrations applied after the wait").isNotEmpty();
        } finally {
            Db.admin(postgres, "DROP SCHEMA IF EXISTS " + schema + " CASCADE");
        }
    }

    /** PostgreSQL 15+ lets only a schema's owner (and roles granted CREATE) create tables in it: say so, and what to do. */
    @Test
    void aRoleThatMayNotCreateTablesIsToldWhatToDo(TestPostgres postgres) {
        String schema = TestPostgres.uniqueName("no_create");
        String role = TestPostgres.uniqueName("pgkit_no_create");
        Db.admin(postgres, "CREATE ROLE " + role + " LOGIN PASSWORD 'pw'",
                "CREATE SCHEMA " + schema, "GRANT USAGE ON SCHEMA " + schema + " TO " + role);
        try (Pgkit pgkit = Pgkit.builder().url(Db.server(postgres).urlFor(role, "pw", 0)).schema(schema).disableHousekeeping().build()) {
            assertThatThrownBy(pgkit::state)
                    .isInstanceOf(SchemaNotReadyException.class)
                    .hasMessageContaining("pgkit cannot create its state tables in schema " + schema)
                    .hasMessageContaining("permission denied for schema " + schema)
                    .hasMessageContaining("run `pgkit migrate`")
                    .hasMessageContaining("GRANT CREATE ON SCHEMA \"" + schema + "\" TO <role>;")
                    .satisfies(e -> assertThat(((SchemaNotReadyException) e).sqlState()).contains("42501"));
        } finally {
            Db.admin(postgres, "DROP SCHEMA " + schema + " CASCADE", "DROP OWNED BY " + role, "DROP ROLE " + role);
        }
    }

    @Test
    void aMissingColumnIsNamedWhenAutoCreationIsOff(TestPostgres postgres) {
        String schema = TestPostgres.uniqueName("no_column");
        try (Pgkit admin = Db.pgkit(postgres, schema)) {
            admin.migrate();
            Db.execute(admin, "ALTER TABLE \"" + schema + "\".chat_state_locks DROP COLUMN token");
            try (Pgkit pgkit = Db.builder(postgres, schema).autoCreateSchema(false).build()) {
                assertThatThrownBy(pgkit::state)
                        .isInstanceOf(SchemaNotReadyException.class)
                        .hasMessageContaining("column " + schema + ".chat_state_locks.token does not exist")
                        .satisfies(e -> assertThat(((SchemaNotReadyException) e).problems())
                                .containsExactly("column " + schema + ".chat_state_locks.token does not exist"));
            }
            Db.execute(admin, "DROP SCHEMA \"" + schema + "\" CASCADE");
        }
    }

    @Test
    void missingTablesAreNamedWhenAutoCreationIsOff(TestPostgres postgres) {
        String schema = TestPostgres.uniqueName("no_tables");
        try (Pgkit admin = Db.pgkit(postgres, schema)) {
            Db.execute(admin, "CREATE SCHEMA \"" + schema + "\"");
            try (Pgkit pgkit = Db.builder(postgres, schema).autoCreateSchema(false).build()) {
                assertThatThrownBy(pgkit::state)
                        .isInstanceOf(SchemaNotReadyException.class)
                        .hasMessageContaining("table " + schema + ".chat_state_locks does not exist")
                        .hasMessageContaining("sequence " + schema + ".chat_state_lock_fence does not exist")
                        .hasMessageContaining("pgkit migrate");
                assertThat(Db.scalar(pgkit, "SELECT count(*) FROM pg_tables WHERE schemaname = '" + schema + "'"))
                        .as("verification creates nothing").isZero();
            }
            Db.execute(admin, "DROP SCHEMA \"" + schema + "\" CASCADE");
        }
    }

    @Test
    void ddlFromPgkitSchemaSatisfiesAManagedSchema(TestPostgres postgres) {
        String schema = TestPostgres.uniqueName("managed");
        try (Pgkit admin = Db.pgkit(postgres, schema)) {
            Db.execute(admin, admin.schemaDdl().replace("\"public\"", "\"" + schema + "\"")); // what a DBA would apply
            try (Pgkit pgkit = Db.builder(postgres, schema).autoCreateSchema(false).build()) {
                pgkit.state().set("k", "v", Duration.ofMinutes(1));
                assertThat(pgkit.state().get("k", String.class)).contains("v");
                assertThat(pgkit.status().schemaVersions()).containsEntry("state", 2);
            }
            Db.execute(admin, "DROP SCHEMA \"" + schema + "\" CASCADE");
        }
    }

    @Test
    void missingPrivilegesAreNamedWithTheGrantThatFixesThem(TestPostgres postgres) {
        String schema = TestPostgres.uniqueName("grants");
        String role = TestPostgres.uniqueName("pgkit_reader");
        try (Pgkit admin = Db.pgkit(postgres, schema)) {
            admin.migrate();
            Db.execute(admin, "CREATE ROLE " + role + " LOGIN PASSWORD 'reader'");
            try {
                Db.execute(admin, "GRANT USAGE ON SCHEMA \"" + schema + "\" TO " + role);
                Db.execute(admin, "GRANT SELECT ON ALL TABLES IN SCHEMA \"" + schema + "\" TO " + role);
                try (Pgkit reader = Db.builder(postgres, schema).credentials(role, "reader").autoCreateSchema(false).build()) {
                    assertThatThrownBy(reader::state)
                            .isInstanceOf(SchemaNotReadyException.class)
                            .hasMessageContaining("the role lacks DELETE on table " + schema + ".chat_state_locks")
                            .hasMessageContaining("INSERT (token) on table " + schema + ".chat_state_locks")
                            .hasMessageContaining("USAGE on sequence " + schema + ".chat_state_lock_fence")
                            .hasMessageContaining("GRANT DELETE ON \"" + schema + "\".\"chat_state_locks\" TO <role>;")
                            .satisfies(e -> assertThat(((SchemaNotReadyException) e).problems()).isNotEmpty()
                                    .noneMatch(p -> p.contains("does not exist")));
                }
                Db.execute(admin, "GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA \"" + schema + "\" TO " + role);
                Db.execute(admin, "GRANT USAGE ON ALL SEQUENCES IN SCHEMA \"" + schema + "\" TO " + role);
                try (Pgkit reader = Db.builder(postgres, schema).credentials(role, "reader").autoCreateSchema(false).build()) {
                    reader.state().set("granted", true);
                    assertThat(reader.state().acquireLock("granted", Duration.ofSeconds(5))).isPresent();
                }
                // with auto-creation on (the default), a role without CREATE still starts on a current schema
                try (Pgkit runtime = Db.builder(postgres, schema).credentials(role, "reader").build()) {
                    runtime.state().set("no-ddl-needed", 1);
                    assertThat(runtime.state().get("no-ddl-needed", Integer.class)).contains(1);
                }
            } finally {
                Db.execute(admin, "DROP OWNED BY " + role);
                Db.execute(admin, "DROP ROLE " + role);
                Db.execute(admin, "DROP SCHEMA \"" + schema + "\" CASCADE");
            }
        }
    }

    /** Starts every instance's migration at the same moment; each version must be applied exactly once overall. */
    static void migrateAllAtOnceAndCheckEachVersionAppliedOnce(List<Pgkit> instances, String schema) throws Exception {
        ExecutorService pool = Executors.newFixedThreadPool(instances.size());
        CountDownLatch go = new CountDownLatch(1);
        List<Future<Integer>> applied = new ArrayList<>();
        for (Pgkit pgkit : instances) {
            applied.add(pool.submit(() -> {
                go.await();
                return pgkit.migrate();
            }));
        }
        go.countDown();
        int total = 0;
        for (Future<Integer> f : applied) {
            total += f.get(2, TimeUnit.MINUTES);
        }
        pool.shutdown();
        // the adapters in the Pgkit's schema (a store's own schema migrates when the store is opened)
        int latest = AdapterRegistry.components().stream().filter(c -> c.schema().schemaOverride().isEmpty())
                .mapToInt(c -> c.schema().latestVersion()).sum();
        assertThat(total).as("versions applied across all instances").isEqualTo(latest);
        assertThat(Db.scalar(instances.get(0), "SELECT count(*) FROM \"" + schema + "\".pgkit_schema_version")).isEqualTo(latest);
    }
}
