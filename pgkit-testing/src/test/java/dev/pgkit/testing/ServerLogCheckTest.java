package dev.pgkit.testing;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.junit.platform.engine.discovery.DiscoverySelectors.selectClass;

import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.PreparedStatement;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Properties;
import java.util.Set;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.MethodOrderer;
import org.junit.jupiter.api.Order;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestMethodOrder;
import org.junit.platform.engine.TestExecutionResult;
import org.junit.platform.launcher.Launcher;
import org.junit.platform.launcher.TestExecutionListener;
import org.junit.platform.launcher.TestIdentifier;
import org.junit.platform.launcher.core.LauncherDiscoveryRequestBuilder;
import org.junit.platform.launcher.core.LauncherFactory;

/**
 * {@link ServerLogCheck} fails the test that made the server log a WARNING or ERROR, and only that
 * one. Each case runs a small test class (a static nested class below, which surefire does not run
 * by itself) through the JUnit launcher with the check registered as the pgkit modules register it,
 * and looks at the outcome of each of its tests.
 */
class ServerLogCheckTest {
    static final String SET_TRANSACTION_WARNING = "SET TRANSACTION can only be used in transaction blocks";

    /** Outcome per test display name (and "class" for the class): an empty message means passed. */
    static Map<String, Optional<String>> run(Class<?> fixture) {
        return run(fixture, "on");
    }

    /** Runs {@code fixture} with the check switched {@code onOrOff}, whatever this run's switch says. */
    static Map<String, Optional<String>> run(Class<?> fixture, String onOrOff) {
        String saved = System.getProperty(ServerLogCheck.SWITCH);
        System.setProperty(ServerLogCheck.SWITCH, onOrOff);
        try {
            return launch(fixture);
        } finally {
            if (saved == null) {
                System.clearProperty(ServerLogCheck.SWITCH);
            } else {
                System.setProperty(ServerLogCheck.SWITCH, saved);
            }
        }
    }

    private static Map<String, Optional<String>> launch(Class<?> fixture) {
        Map<String, Optional<String>> outcomes = new LinkedHashMap<>();
        Launcher launcher = LauncherFactory.create();
        launcher.execute(LauncherDiscoveryRequestBuilder.request()
                .selectors(selectClass(fixture))
                .configurationParameter("junit.jupiter.extensions.autodetection.enabled", "true")
                .build(), new TestExecutionListener() {
                    @Override
                    public void executionFinished(TestIdentifier id, TestExecutionResult result) {
                        if (id.getSource().isEmpty() || !id.getSource().get().toString().contains("$")) {
                            return; // the engine
                        }
                        outcomes.put(id.isContainer() ? "class" : id.getDisplayName(), result.getThrowable().map(t -> String.valueOf(t.getMessage())));
                    }
                });
        return outcomes;
    }

    /**
     * These checks read the embedded server's log file; against a PGKIT_TEST_URL server whose log the harness
     * cannot read, it sees only the warnings sent to this JVM's sessions (no ERRORs), which other tests cover.
     */
    static void assumeEmbedded() {
        org.junit.jupiter.api.Assumptions.assumeTrue(TestPostgres.shared().embedded().isPresent(),
                "reads the embedded server's log file; PGKIT_TEST_URL names another server");
    }

    static Connection connect() throws SQLException {
        JdbcTarget target = JdbcTarget.of(TestPostgres.shared().url()); // postgres:// URLs too (PGKIT_TEST_URL)
        return DriverManager.getConnection(target.jdbcUrl(), target.properties());
    }

    static void execute(String sql) throws SQLException {
        try (Connection c = connect(); PreparedStatement s = c.prepareStatement(sql)) {
            s.execute();
        }
    }

    static void executeFailing(String sql) {
        assertThatThrownBy(() -> execute(sql)).isInstanceOf(SQLException.class);
    }

    @Test
    void aWarningOutsideATransactionBlockFailsTheTestThatCausedItAndNoOther() {
        assumeEmbedded();
        Map<String, Optional<String>> outcomes = run(WarnsOutsideATransactionBlock.class);
        assertThat(outcomes.get("before()")).as("a clean test before it passes").isEmpty();
        assertThat(outcomes.get("warns()")).hasValueSatisfying(message -> assertThat(message)
                .contains("WARNING:  " + SET_TRANSACTION_WARNING)
                .contains("during ServerLogCheckTest$WarnsOutsideATransactionBlock.warns()")
                .contains("[server test]")
                .contains("@ExpectServerLog"));
        assertThat(outcomes.get("after()")).as("a clean test after it passes").isEmpty();
        assertThat(outcomes.get("class")).as("the class itself").isEmpty();
    }

    @Test
    void anExpectedErrorPassesAndTheExpectationIsNarrow() {
        assumeEmbedded();
        Map<String, Optional<String>> outcomes = run(ProvokesErrors.class);
        assertThat(outcomes.get("expectedError()")).isEmpty();
        assertThat(outcomes.get("sameErrorUndeclared()")).as("an ERROR is never carried over from the test before")
                .hasValueSatisfying(message -> assertThat(message).contains("ERROR:  division by zero")
                        .contains("STATEMENT:  SELECT 1/0"));
        assertThat(outcomes.get("otherErrorThanDeclared()")).hasValueSatisfying(message -> assertThat(message)
                .contains("relation \"no_such_table_here\" does not exist").doesNotContain("division by zero"));
    }

    @Test
    void aClassLevelExpectationCoversItsTestsAndItsSetUp() {
        assumeEmbedded();
        Map<String, Optional<String>> outcomes = run(ExpectsForTheWholeClass.class);
        assertThat(outcomes.values()).containsOnly(Optional.empty());
        assertThat(outcomes).containsKeys("first()", "second()", "class");
    }

    @Test
    void whatBeforeAllCausesFailsTheFirstTestNamingTheSetUp() {
        assumeEmbedded();
        Map<String, Optional<String>> outcomes = run(WarnsInBeforeAll.class);
        assertThat(outcomes.get("test()")).hasValueSatisfying(message -> assertThat(message)
                .contains(SET_TRANSACTION_WARNING).contains("the set-up of ServerLogCheckTest$WarnsInBeforeAll (@BeforeAll)"));
    }

    @Test
    void aServerTheTestStartsAndClosesIsCheckedToo() {
        assumeEmbedded();
        Map<String, Optional<String>> outcomes = run(WarnsOnItsOwnServer.class);
        assertThat(outcomes.get("warnsThenClosesTheServer()")).hasValueSatisfying(message -> assertThat(message)
                .contains("[server own-server]").contains(SET_TRANSACTION_WARNING));
    }

    @Test
    void theCheckCanBeSwitchedOff() {
        assertThat(run(WarnsOutsideATransactionBlock.class, "off").get("warns()")).isEmpty();
        run(WarnsOutsideATransactionBlock.class); // the next window reads what the switched-off run left
    }

    @Test
    void onlyFatalLinesAreCarriedOverFromTheWindowBefore() {
        ServerLogEntry lateFatal = entry("FATAL", "terminating connection due to administrator command", "x");
        ServerLogEntry error = entry("ERROR", "terminating connection due to administrator command", "x");
        ServerLogEntry fence = entry("FATAL", "terminating connection due to administrator command", ServerLogWatch.FENCE_APPLICATION);
        ServerLogEntry log = entry("LOG", "checkpoint starting: time", "");
        Set<String> before = Set.of("administrator command");
        assertThat(ServerLogCheck.unexpected(List.of(lateFatal, error, fence, log), Set.of(), before)).containsExactly(error);
        assertThat(ServerLogCheck.unexpected(List.of(lateFatal, error), Set.of(), Set.of())).containsExactly(lateFatal, error);
        assertThat(ServerLogCheck.unexpected(List.of(lateFatal, error), before, Set.of())).isEmpty();
    }

    @Test
    void aTestsLateFatalIsStillAllowedInTheNextTestButNotLater() {
        ServerLogCheck.Window a = ServerLogCheck.Window.test("A", Set.of("administrator command"));
        ServerLogCheck.Window gap = ServerLogCheck.Window.gap("before B", Set.of()).after(a, true);
        assertThat(gap.carried()).containsExactly("administrator command");
        assertThat(gap.source()).isEqualTo("A");
        ServerLogCheck.Window b = ServerLogCheck.Window.test("B", Set.of()).after(gap, false);
        assertThat(b.carried()).as("B passes on only its own expectations").isEmpty();
    }

    static ServerLogEntry entry(String severity, String message, String application) {
        String prefix = "2030-01-01 00:00:00.000 UTC [42] " + application + " ";
        return new ServerLogEntry("test", severity, prefix, message, prefix + severity + ":  " + message);
    }

    @Test
    void parsesMessagesWithTheirContinuationLines() {
        String log = """
                CONTEXT:  an orphan continuation from before the window
                2030-01-01 00:00:00.000 UTC [42] PostgreSQL JDBC Driver ERROR:  division by zero
                2030-01-01 00:00:00.000 UTC [42] PostgreSQL JDBC Driver STATEMENT:  SELECT 1
                \t  / 0
                2030-01-01 00:00:00.001 UTC [7]  LOG:  checkpoint starting: time
                2030-01-01 00:00:00.002 UTC [43] app WARNING:  SET TRANSACTION can only be used in transaction blocks
                """;
        List<ServerLogEntry> entries = ServerLogEntry.parse("s", log);
        assertThat(entries).extracting(ServerLogEntry::severity).containsExactly("ERROR", "LOG", "WARNING");
        assertThat(entries.get(0).message()).isEqualTo("division by zero");
        assertThat(entries.get(0).text()).contains("STATEMENT:  SELECT 1\n\t  / 0");
        assertThat(entries.get(2).prefix()).isEqualTo("2030-01-01 00:00:00.002 UTC [43] app ");
        assertThat(entries).filteredOn(ServerLogEntry::isSevere).hasSize(2);
    }

    @Test
    void aServerLogReadOverSqlIsFollowedWhenTheServerAllowsIt() throws Exception {
        try (EmbeddedPostgres server = EmbeddedPostgres.start("collector",
                List.of("logging_collector = on", "log_destination = 'stderr'", "log_directory = 'log'"))) {
            JdbcTarget target = JdbcTarget.of("postgres://postgres@127.0.0.1:" + server.port() + "/postgres");
            RemoteLogWatch watch = RemoteLogWatch.open("remote", target.jdbcUrl(), target.properties());
            try (Connection c = DriverManager.getConnection(server.jdbcUrl()); Statement s = c.createStatement()) {
                s.execute("SET TRANSACTION ISOLATION LEVEL READ COMMITTED");
            }
            assertThat(watch.readThroughFence()).filteredOn(ServerLogEntry::isSevere)
                    .extracting(ServerLogEntry::message).containsExactly(SET_TRANSACTION_WARNING);
            assertThat(watch.readThroughFence()).filteredOn(ServerLogEntry::isSevere).isEmpty();
            watch.closeFenceConnection();
        }
    }

    @Test
    void aServerWithoutALogFileSqlCanReadSaysWhy() {
        JdbcTarget target = JdbcTarget.of(TestPostgres.shared().url());
        assertThatThrownBy(() -> RemoteLogWatch.open("no-collector", target.jdbcUrl(), target.properties()))
                .isInstanceOf(IllegalStateException.class).hasMessageContaining("logging_collector is off");
    }

    @Test
    void withoutALogTheWarningsSentToThisJvmsSessionsAreCollected() throws Exception {
        SessionNotices notices = SessionNotices.install("notices");
        notices.drain();
        try (Connection c = connect(); Statement s = c.createStatement()) {
            s.execute("SET TRANSACTION ISOLATION LEVEL READ COMMITTED");
            s.execute("DO $$BEGIN RAISE NOTICE 'only a notice'; END$$");
        }
        assertThat(notices.drain()).extracting(ServerLogEntry::severity, ServerLogEntry::message)
                .containsExactly(org.assertj.core.groups.Tuple.tuple("WARNING", SET_TRANSACTION_WARNING));
    }

    @Test
    void libpqUrlsBecomeJdbcTargets() {
        JdbcTarget target = JdbcTarget.of("postgres://u%40x:p%3Aw@db.example:6543/my%20db?sslmode=require");
        assertThat(target.jdbcUrl()).isEqualTo("jdbc:postgresql://db.example:6543/my+db");
        Properties p = target.properties();
        assertThat(p.getProperty("user")).isEqualTo("u@x");
        assertThat(p.getProperty("password")).isEqualTo("p:w");
        assertThat(p.getProperty("sslmode")).isEqualTo("require");
        assertThat(target.describe()).isEqualTo("db.example:6543/my db").doesNotContain("p:w");
    }

    // ------------------------------------------------------------------ fixtures (run through run(...))

    @TestMethodOrder(MethodOrderer.OrderAnnotation.class)
    static class WarnsOutsideATransactionBlock {
        @Test
        @Order(1)
        void before() throws SQLException {
            execute("SELECT 1");
        }

        @Test
        @Order(2)
        void warns() throws SQLException {
            execute("SET TRANSACTION ISOLATION LEVEL READ COMMITTED"); // autocommit, extended protocol
        }

        @Test
        @Order(3)
        void after() throws SQLException {
            execute("SELECT 1");
        }
    }

    @TestMethodOrder(MethodOrderer.OrderAnnotation.class)
    static class ProvokesErrors {
        @Test
        @Order(1)
        @ExpectServerLog("division by zero")
        void expectedError() {
            executeFailing("SELECT 1/0");
        }

        @Test
        @Order(2)
        void sameErrorUndeclared() {
            executeFailing("SELECT 1/0");
        }

        @Test
        @Order(3)
        @ExpectServerLog("division by zero")
        void otherErrorThanDeclared() {
            executeFailing("SELECT * FROM no_such_table_here");
        }
    }

    @ExpectServerLog(SET_TRANSACTION_WARNING)
    static class ExpectsForTheWholeClass {
        @BeforeAll
        static void setUp() throws SQLException {
            execute("SET TRANSACTION ISOLATION LEVEL READ COMMITTED");
        }

        @Test
        void first() throws SQLException {
            execute("SET TRANSACTION ISOLATION LEVEL READ COMMITTED");
        }

        @Test
        void second() throws SQLException {
            execute("SET TRANSACTION ISOLATION LEVEL READ COMMITTED");
        }
    }

    static class WarnsInBeforeAll {
        @BeforeAll
        static void setUp() throws SQLException {
            execute("SET TRANSACTION ISOLATION LEVEL READ COMMITTED");
        }

        @Test
        void test() {
        }
    }

    static class WarnsOnItsOwnServer {
        @Test
        void warnsThenClosesTheServer() throws SQLException {
            try (EmbeddedPostgres server = EmbeddedPostgres.start("own-server");
                 Connection c = DriverManager.getConnection(server.jdbcUrl());
                 Statement s = c.createStatement()) {
                s.execute("SET TRANSACTION ISOLATION LEVEL READ COMMITTED");
            }
        }
    }
}
