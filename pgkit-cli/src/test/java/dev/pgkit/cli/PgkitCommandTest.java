package dev.pgkit.cli;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.pgkit.testing.TestPostgres;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The pgkit command against the test run's PostgreSQL. */
class PgkitCommandTest {
    static String url;
    static String schema;

    record Run(int exit, String out, String err) {
    }

    @BeforeAll
    static void setUp() {
        url = TestPostgres.shared().url();
        schema = TestPostgres.uniqueName("cli");
    }

    @AfterAll
    static void dropSchema() throws Exception {
        run(Map.of(), "migrate", "--url", url, "--schema", schema); // ensures the schema exists, then drop it
        try (dev.pgkit.Pgkit pgkit = dev.pgkit.Pgkit.builder().url(url).disableHousekeeping().build();
             Connection c = pgkit.dataSource().getConnection()) {
            c.createStatement().execute("DROP SCHEMA IF EXISTS \"" + schema + "\" CASCADE");
        }
    }

    static Run run(Map<String, String> env, String... args) {
        StringWriter out = new StringWriter();
        StringWriter err = new StringWriter();
        int exit = PgkitCommand.commandLine(new PgkitCommand(env))
                .setOut(new PrintWriter(out, true)).setErr(new PrintWriter(err, true)).execute(args);
        return new Run(exit, out.toString(), err.toString());
    }

    @Test
    void schemaPrintsTheDdlWithoutADatabase() {
        Run run = run(Map.of(), "schema", "--schema", "app_state");
        assertThat(run.exit()).isZero();
        assertThat(run.out()).contains("CREATE TABLE IF NOT EXISTS \"app_state\".chat_state_locks")
                .contains("CREATE SEQUENCE IF NOT EXISTS \"app_state\".chat_state_lock_fence")
                .contains("INSERT INTO \"app_state\".pgkit_schema_version");
    }

    @Test
    void migrateStatusAndCleanup() {
        Run migrate = run(Map.of(), "migrate", "--url", url, "--schema", schema);
        assertThat(migrate.exit()).as(migrate.err()).isZero();
        assertThat(migrate.out()).contains("state=2");
        Run status = run(Map.of("DATABASE_URL", url), "status", "--schema", schema);
        assertThat(status.exit()).as(status.err()).isZero();
        assertThat(status.out()).contains("state=2").contains("chat_state_locks").contains("listener:");
        Run cleanup = run(Map.of(), "cleanup", "--url", url, "--schema", schema);
        assertThat(cleanup.exit()).as(cleanup.err()).isZero();
        assertThat(cleanup.out()).containsPattern("deleted \\d+ expired row");
    }

    @Test
    void demoRunsEveryOperation() {
        Run demo = run(Map.of(), "demo", "--url", url, "--schema", schema);
        assertThat(demo.exit()).as(demo.err()).isZero();
        assertThat(demo.out()).contains("refused: already held").contains("woken by the release")
                .contains("getList = [message 3, message 4, message 5]").contains("woken by the enqueue").contains("demo finished");
    }

    @Test
    void withoutADatabaseTheCommandSaysHowToConfigureOne() {
        Run status = run(Map.of(), "status");
        assertThat(status.exit()).isEqualTo(2);
        assertThat(status.err()).contains("no database configured").contains("--url").contains("DATABASE_URL");
    }

    @Test
    void benchWritesFiguresAsJson(@TempDir Path dir) throws Exception {
        Path json = dir.resolve("bench.json");
        Run bench = run(Map.of(), "bench", "state", "--url", url, "--schema", schema, "--duration", "1", "--concurrency", "1",
                "--json", json.toString());
        assertThat(bench.exit()).as(bench.err()).isZero();
        JsonNode report = new ObjectMapper().readTree(Files.readString(json));
        List<String> operations = report.get("cells").findValuesAsText("operation");
        assertThat(operations).contains("floor select", "floor upsert", "get", "set", "enqueue", "appendToList", "lock+release");
        report.get("cells").forEach(cell -> assertThat(cell.get("opsPerSecond").asLong()).as(cell.toString()).isPositive());
    }
}
