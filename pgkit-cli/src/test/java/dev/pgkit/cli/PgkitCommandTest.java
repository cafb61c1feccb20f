package dev.pgkit.cli;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.pgkit.Pgkit;
import dev.pgkit.store.StoreOptions;
import dev.pgkit.testing.TestPostgres;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import picocli.CommandLine;

/** The pgkit command against the test run's PostgreSQL. */
class PgkitCommandTest {
    static String url;
    static String schema;
    static Pgkit admin;

    record Run(int exit, String out, String err) {
    }

    @BeforeAll
    static void setUp() {
        url = TestPostgres.shared().url();
        schema = TestPostgres.uniqueName("cli");
        admin = Pgkit.builder().url(url).schema(schema).disableHousekeeping().build();
    }

    @AfterAll
    static void dropSchema() throws Exception {
        try (Connection c = admin.dataSource().getConnection()) {
            c.createStatement().execute("DROP SCHEMA IF EXISTS \"" + schema + "\" CASCADE");
        }
        admin.close();
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
    void migrateStatusAndCleanup() throws Exception {
        String own = schema + "_mc";
        try {
            Run migrate = run(Map.of(), "migrate", "--url", url, "--schema", own);
            assertThat(migrate.exit()).as(migrate.err()).isZero();
            assertThat(migrate.out()).contains("state=2");
            execute("INSERT INTO \"" + own + "\".chat_state_cache (key_prefix, cache_key, value, expires_at)"
                    + " SELECT 'cli', 'old-' || i, '1', now() - interval '1 minute' FROM generate_series(1, 3) i");
            execute("INSERT INTO \"" + own + "\".chat_state_cache (key_prefix, cache_key, value, expires_at) VALUES ('cli', 'live', '1', NULL)");
            Run status = run(Map.of("DATABASE_URL", url), "status", "--schema", own);
            assertThat(status.exit()).as(status.err()).isZero();
            assertThat(status.out()).contains("state=2")
                    .containsPattern("state\\s+chat_state_cache\\s+4\\s+3\\n")
                    .containsPattern("state\\s+chat_state_subscriptions\\s+0\\s+-\\n")
                    .contains("listener: not started in this process");
            Run cleanup = run(Map.of(), "cleanup", "--url", url, "--schema", own);
            assertThat(cleanup.exit()).as(cleanup.err()).isZero();
            assertThat(cleanup.out()).contains("deleted 3 row(s)");
            assertThat(run(Map.of("DATABASE_URL", url), "status", "--schema", own).out())
                    .containsPattern("state\\s+chat_state_cache\\s+1\\s+0\\n");
        } finally {
            execute("DROP SCHEMA IF EXISTS \"" + own + "\" CASCADE");
        }
    }

    @Test
    void statusTellsTheTruthAboutListeners() throws Exception {
        Run before = run(Map.of(), "status", "--url", url, "--schema", schema);
        assertThat(before.exit()).as(before.err()).isZero();
        assertThat(before.out()).contains("listener: not started in this process");

        try (Pgkit other = Pgkit.builder().url(url).schema(schema).disableHousekeeping().build()) {
            assertThat(StatusCommand.thisProcess(other.status())).startsWith("not started in this process");
            other.state("cli-listener").dequeue("q", String.class, Duration.ofMillis(50)); // a waiting call opens the listener
            long deadline = System.nanoTime() + Duration.ofSeconds(10).toNanos();
            Optional<Integer> pid = other.status().listenerBackendPid();
            while (pid.isEmpty() && System.nanoTime() < deadline) {
                Thread.sleep(20);
                pid = other.status().listenerBackendPid();
            }
            assertThat(pid).isPresent();
            assertThat(StatusCommand.thisProcess(other.status())).startsWith("connected (backend pid " + pid.get() + ")");
            Run during = run(Map.of(), "status", "--url", url, "--schema", schema);
            assertThat(during.out()).contains("listener: not started in this process")
                    .containsPattern("pid " + pid.get() + ", connected since \\d{4}-");
        }
    }

    @Test
    void demoPrintsWhatItReadBackAndLeavesItInTheDatabase() throws Exception {
        Run demo = run(Map.of(), "demo", "--url", url, "--schema", schema);
        assertThat(demo.exit()).as(demo.err()).isZero();
        String out = demo.out();
        assertThat(result(out, "subscribe(slack:C1:…)")).isEqualTo("isSubscribed = true");
        assertThat(result(out, "acquireLock(thread-1) again")).isEqualTo("refused: already held");
        Matcher fences = Pattern.compile("acquired after \\d+ ms .*fence (\\d+) -> (\\d+)").matcher(result(out, "acquireLock waiting up to 10 s"));
        assertThat(fences.find()).as(out).isTrue();
        assertThat(Long.parseLong(fences.group(2))).isGreaterThan(Long.parseLong(fences.group(1)));
        assertThat(result(out, "set(user:42, {…}, 5 min)")).isEqualTo("get = {name=Ada, plan=pro}");
        assertThat(result(out, "setIfNotExists(user:42)")).isEqualTo("stored = false");
        assertThat(result(out, "delete(user:42)")).isEqualTo("deleted = true, get = (absent)");
        assertThat(result(out, "appendToList ×5 (maxLength 3)")).isEqualTo("getList = [message 3, message 4, message 5]");
        assertThat(result(out, "enqueue ×4 (maxSize 3)")).isEqualTo("depth = 3");
        assertThat(result(out, "dequeue")).startsWith("{text=hello 2}, enqueued "); // hello 1 was dropped by the cap
        assertThat(result(out, "dequeue until empty")).isEqualTo("2 more");
        assertThat(result(out, "dequeue waiting up to 10 s")).startsWith("{text=late} after ");
        assertThat(result(out, "queueDepth(thread-2)")).isEqualTo("0");
        assertThat(result(out, "put(user:1, expecting version 1)")).isEqualTo("refused: current version 2");
        assertThat(result(out, "search(\"compiler\")")).isEqualTo("[user:2]");
        assertThat(result(out, "live tail of clicks")).isEqualTo("delivered [{button=buy}, {button=cancel}]");
        assertThat(result(out, "sync again")).isEqualTo("nothing to change: converged");

        // and the rows are really there
        Matcher prefix = Pattern.compile("key prefix (demo-[0-9a-f]{8})").matcher(out);
        assertThat(prefix.find()).isTrue();
        String p = prefix.group(1);
        assertThat(strings("SELECT value FROM \"" + schema + "\".chat_state_lists WHERE key_prefix = ? AND list_key = 'recent' ORDER BY seq", p))
                .containsExactly("\"message 3\"", "\"message 4\"", "\"message 5\"");
        assertThat(strings("SELECT thread_id FROM \"" + schema + "\".chat_state_subscriptions WHERE key_prefix = ?", p))
                .containsExactly("slack:C1:1700000000.1");
        assertThat(strings("SELECT cache_key FROM \"" + schema + "\".chat_state_cache WHERE key_prefix = ?", p)).isEmpty();
        assertThat(strings("SELECT thread_id FROM \"" + schema + "\".chat_state_locks WHERE key_prefix = ?", p)).isEmpty();
        assertThat(strings("SELECT value FROM \"" + schema + "\".chat_state_queues WHERE key_prefix = ?", p)).isEmpty();
    }

    @Test
    void everySubcommandHasHelp() {
        List<String> paths = new ArrayList<>();
        collect(PgkitCommand.commandLine(new PgkitCommand(Map.of())), "", paths);
        assertThat(paths).contains("demo", "schema", "migrate", "status", "cleanup", "bench", "bench state");
        for (String path : paths) {
            List<String> args = new ArrayList<>(List.of(path.split(" ")));
            args.add("--help");
            Run help = run(Map.of(), args.toArray(String[]::new));
            assertThat(help.exit()).as(path + " --help: " + help.err()).isZero();
            assertThat(help.out()).as(path).contains("Usage: pgkit " + path).contains("-h, --help");
        }
        assertThat(run(Map.of(), "bench", "state", "--help").out()).contains("--duration").contains("--concurrency");
    }

    @Test
    void everyAdapterOfTheLibraryHasADemoAndABench() {
        assertThat(CliAdapter.ALL.stream().map(CliAdapter::name).toList()).containsExactlyElementsOf(Pgkit.adapterNames());
    }

    @Test
    void impossibleBenchOptionsAreRejectedBeforeConnecting() {
        String unreachable = "postgres://nobody@127.0.0.1:1/none"; // were anything to connect first, it would fail differently
        String[][] cases = {
                {"--duration", "0", "--duration must be between 1 and 3600 seconds, was 0"},
                {"--duration", "-5", "--duration must be between 1 and 3600 seconds, was -5"},
                {"--duration", "86400", "--duration must be between 1 and 3600 seconds, was 86400"},
                {"--concurrency", "0", "--concurrency values must be between 1 and 1000, was 0"},
                {"--concurrency", "8,-3", "--concurrency values must be between 1 and 1000, was -3"},
                {"--concurrency", "100000", "--concurrency values must be between 1 and 1000, was 100000"},
                {"--json", "/no/such/dir/bench.json", "--json /no/such/dir/bench.json: directory /no/such/dir does not exist"},
        };
        for (String[] c : cases) {
            Run bench = run(Map.of(), "bench", "state", "--url", unreachable, c[0], c[1]);
            assertThat(bench.exit()).as(String.join(" ", c)).isEqualTo(2);
            assertThat(bench.err()).as(String.join(" ", c)).startsWith(c[2]).doesNotContain("cannot connect");
        }
        Run notANumber = run(Map.of(), "bench", "state", "--url", unreachable, "--duration", "soon");
        assertThat(notANumber.exit()).isEqualTo(2);
        assertThat(notANumber.err()).contains("--duration").contains("soon");
    }

    @Test
    void aBadUrlIsOneLineAndANonZeroExitForEveryCommand() {
        for (String command : List.of("migrate", "status", "cleanup", "demo", "bench state", "bench store")) {
            List<String> args = new ArrayList<>(List.of(command.split(" ")));
            args.addAll(List.of("--url", "mysql://root:hunter2@db/app"));
            Run malformed = run(Map.of(), args.toArray(String[]::new));
            assertThat(malformed.exit()).as(command).isEqualTo(1);
            assertThat(malformed.err().strip()).as(command).doesNotContain("\n").doesNotContain("hunter2").doesNotContain("Exception")
                    .startsWith("pgkit " + command + ": url ");

            args.set(args.size() - 1, "postgres://app:hunter2@127.0.0.1:1/app");
            Run unreachable = run(Map.of(), args.toArray(String[]::new));
            assertThat(unreachable.exit()).as(command).isEqualTo(1);
            assertThat(unreachable.err().strip()).as(command).doesNotContain("\n").doesNotContain("hunter2")
                    .startsWith("pgkit " + command + ": cannot connect to PostgreSQL at 127.0.0.1:1/app");
        }
        Run badSchema = run(Map.of(), "schema", "--schema", "x; drop");
        assertThat(badSchema.exit()).isEqualTo(1);
        assertThat(badSchema.err().strip()).doesNotContain("\n").contains("schema 'x; drop' is not a safe identifier");
    }

    @Test
    void syncRunsOneRoundBetweenTwoStoresAndRefusesBadOptions() throws Exception {
        String from = schema + "_from";
        String to = schema + "_to";
        try {
            admin.store(StoreOptions.named("cli-sync").withSchema(from)).records().put("user:1", Map.of("name", "Ada"));
            Run sync = run(Map.of(), "sync", "--from", url, "--to", url, "--store", "cli-sync", "--from-schema", from, "--to-schema", to);
            assertThat(sync.exit()).as(sync.err()).isZero();
            assertThat(sync.out()).contains("sync store cli-sync").contains("pushed 1 changes (1 rows changed");
            assertThat(admin.store(StoreOptions.named("cli-sync").withSchema(to)).records().get("user:1", Map.class).orElseThrow().value())
                    .isEqualTo(Map.of("name", "Ada"));
            Run again = run(Map.of(), "sync", "--from", url, "--to", url, "--store", "cli-sync", "--from-schema", from, "--to-schema", to);
            assertThat(again.out()).contains("pushed 0 changes (0 rows changed");
            Run badPolicy = run(Map.of(), "sync", "--from", url, "--to", url, "--store", "cli-sync", "--policy", "newest");
            assertThat(badPolicy.exit()).isEqualTo(2);
            assertThat(badPolicy.err()).contains("--policy must be last-writer-wins or field-merge");
            Run badSchema = run(Map.of(), "sync", "--from", url, "--to", url, "--store", "cli-sync", "--to-schema", "x; drop");
            assertThat(badSchema.exit()).isEqualTo(2);
            assertThat(badSchema.err()).contains("not a safe identifier");
            Run unreachable = run(Map.of(), "sync", "--from", url, "--to", "postgres://app:hunter2@127.0.0.1:1/app", "--store", "cli-sync",
                    "--from-schema", from);
            assertThat(unreachable.exit()).isEqualTo(1);
            assertThat(unreachable.err().strip()).doesNotContain("\n").doesNotContain("hunter2").contains("cannot connect to PostgreSQL at 127.0.0.1:1/app");
        } finally {
            execute("DROP SCHEMA IF EXISTS \"" + from + "\" CASCADE; DROP SCHEMA IF EXISTS \"" + to + "\" CASCADE");
        }
    }

    @Test
    void storeBenchMeasuresEachOperationBesideItsFloor() throws Exception {
        try {
            Run bench = run(Map.of(), "bench", "store", "--url", url, "--schema", schema, "--duration", "1", "--concurrency", "1",
                    "--changes", "2000");
            assertThat(bench.exit()).as(bench.err()).isZero();
            assertThat(bench.out()).contains("put ").contains("get ").contains("event append").contains("event read 100")
                    .contains("sync ").contains("2000 changes").contains("2000 rows on the other side").contains("floor");
            Run zero = run(Map.of(), "bench", "store", "--url", url, "--changes", "0");
            assertThat(zero.exit()).isEqualTo(2);
            assertThat(zero.err()).contains("--changes must be between 1 and 10000000, was 0");
        } finally {
            execute("DROP SCHEMA IF EXISTS \"" + schema + "_store_a\" CASCADE; DROP SCHEMA IF EXISTS \"" + schema + "_store_b\" CASCADE");
        }
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
        assertThat(operations).contains("floor select", "floor upsert", "get", "set", "enqueue", "dequeue", "appendToList", "lock+release",
                "lock (contended)");
        report.get("cells").forEach(cell -> assertThat(cell.get("opsPerSecond").asLong()).as(cell.toString()).isPositive());
        assertThat(report.get("wakeLatency").findValuesAsText("waiter"))
                .containsExactly("NOTIFY->LISTEN (floor)", "release->acquireLock", "enqueue->dequeue");
        report.get("wakeLatency").forEach(cell -> assertThat(cell.get("p50Micros").asLong()).as(cell.toString()).isPositive());
    }

    @Test
    void conversationDemoPrintsWhatItReadBackAndForgetsItsPhone() throws Exception {
        Run demo = run(Map.of(), "demo", "--url", url, "--schema", schema);
        assertThat(demo.exit()).as(demo.err()).isZero();
        String out = demo.out();
        Matcher phone = Pattern.compile("history tables, phone (\\+1555\\d{7})").matcher(out);
        assertThat(phone.find()).as(out).isTrue();
        assertThat(result(out, "getPrevByNumber")).isEqualTo("ref hours, refSerialize flow:hours#0, answer \"We open at 9.\"");
        assertThat(result(out, "saveContact({subscribed}, a)")).isEqualTo("values = {email=john@example.com, name=John Doe, subscribed=true}");
        assertThat(result(out, "saveContact({name}, u: replace)")).isEqualTo("values = {name=Jane Doe}");
        assertThat(result(out, "history newest first, pages of 2"))
                .isEqualTo("[\"We open at 9.\", \"1) prices 2) hours\"] then [\"Hi! How can I help you?\"]");
        assertThat(result(out, "recent(2): chat-memory window")).isEqualTo("[\"1) prices 2) hours\", \"We open at 9.\"]");
        assertThat(result(out, "findContacts(name = Jane Doe)")).isEqualTo("found " + phone.group(1));
        assertThat(result(out, "forget(phone)"))
                .isEqualTo("1 contact, 3 history entries removed; getContact = (absent), getPrevByNumber = (absent)");
        // forgotten for real
        assertThat(strings("SELECT phone FROM \"" + schema + "\".contact WHERE phone = ?", phone.group(1))).isEmpty();
        assertThat(strings("SELECT phone FROM \"" + schema + "\".history WHERE phone = ?", phone.group(1))).isEmpty();
    }

    @Test
    void benchConversationMeasuresSaveAndGetPrevBesideItsFloor(@TempDir Path dir) throws Exception {
        Run bad = run(Map.of(), "bench", "conversation", "--url", "postgres://nobody@127.0.0.1:1/none", "--concurrency", "0");
        assertThat(bad.exit()).isEqualTo(2);
        assertThat(bad.err()).startsWith("--concurrency values must be between 1 and 1000, was 0");
        Path json = dir.resolve("conversation.json");
        Run bench = run(Map.of(), "bench", "conversation", "--url", url, "--schema", schema, "--duration", "1", "--concurrency", "1",
                "--json", json.toString());
        assertThat(bench.exit()).as(bench.err()).isZero();
        JsonNode report = new ObjectMapper().readTree(Files.readString(json));
        assertThat(report.get("cells").findValuesAsText("operation")).containsExactly("floor save (same SQL)", "floor getPrev (same SQL)",
                "node-style function call", "save", "getPrevByNumber");
        report.get("cells").forEach(cell -> assertThat(cell.get("opsPerSecond").asLong()).as(cell.toString()).isPositive());
    }

    /** What the demo printed after {@code ->} on the line for {@code operation}. */
    private static String result(String out, String operation) {
        for (String line : out.split("\n")) {
            String trimmed = line.strip();
            if (trimmed.startsWith(operation + " ") && trimmed.contains(" -> ")
                    && trimmed.substring(0, trimmed.indexOf(" -> ")).strip().equals(operation)) {
                return trimmed.substring(trimmed.indexOf(" -> ") + 4);
            }
        }
        throw new AssertionError("the demo printed no line for " + operation + ":\n" + out);
    }

    private static void collect(CommandLine line, String prefix, List<String> paths) {
        for (Map.Entry<String, CommandLine> sub : line.getSubcommands().entrySet()) {
            String path = prefix.isEmpty() ? sub.getKey() : prefix + " " + sub.getKey();
            paths.add(path);
            collect(sub.getValue(), path, paths);
        }
    }

    private static void execute(String sql) throws Exception {
        try (Connection c = admin.dataSource().getConnection()) {
            c.createStatement().execute(sql);
        }
    }

    private static List<String> strings(String sql, String parameter) throws Exception {
        List<String> out = new ArrayList<>();
        try (Connection c = admin.dataSource().getConnection(); PreparedStatement s = c.prepareStatement(sql)) {
            s.setString(1, parameter);
            try (ResultSet rs = s.executeQuery()) {
                while (rs.next()) {
                    out.add(rs.getString(1));
                }
            }
        }
        return out;
    }
}
