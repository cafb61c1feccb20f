package dev.pgkit.testing;

import java.lang.reflect.AnnotatedElement;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import org.junit.jupiter.api.extension.AfterAllCallback;
import org.junit.jupiter.api.extension.AfterEachCallback;
import org.junit.jupiter.api.extension.BeforeAllCallback;
import org.junit.jupiter.api.extension.BeforeEachCallback;
import org.junit.jupiter.api.extension.ExtensionContext;
import org.junit.platform.commons.support.AnnotationSupport;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Fails the test during which PostgreSQL logged a WARNING, ERROR, FATAL or PANIC that the test did not
 * declare with {@link ExpectServerLog}. pgkit must not make a server log warnings in normal use; this
 * makes the suite notice when it does.
 *
 * <p>Registered for every test class automatically: this module lists it in
 * {@code META-INF/services/org.junit.jupiter.api.extension.Extension}, and a test module turns on
 * {@code junit.jupiter.extensions.autodetection.enabled=true} in its {@code junit-platform.properties}.
 * {@code -Dpgkit.serverLogCheck=off} switches it off for a run.
 *
 * <h2>Which logs</h2>
 * Every {@link EmbeddedPostgres} the test JVM starts (see its {@link EmbeddedPostgres#logFile()
 * log file}); with {@code PGKIT_TEST_URL}, that server's log if it can be read over SQL (logging
 * collector on, a superuser or {@code pg_read_server_files}); otherwise the check says once that it is
 * off for that server and falls back to the WARNINGs the server sends to this JVM's sessions (see
 * {@link SessionNotices}). Until the run's server has started there is nothing to read.
 *
 * <h2>Attribution</h2>
 * The run is cut into windows at checkpoints: before each test class, before and after each test,
 * after each class. At a checkpoint the check writes a fence line into each log (see
 * {@link ServerLogWatch}) and judges what the server logged since the previous checkpoint:
 * <ul>
 * <li>after a test: that test, with its {@code @BeforeEach}/{@code @AfterEach} methods; it fails;
 * <li>before a test: the class's {@code @BeforeAll} methods (or the gap after the previous test); the
 *     test fails before it starts;
 * <li>after a class: its {@code @AfterAll} methods; before a class: the gap between classes. The class
 *     fails.
 * </ul>
 * A server writes a WARNING or ERROR about a statement before the client sees the statement's
 * result, so what a test caused that way is always inside its window. A FATAL is different: a backend
 * that {@code pg_terminate_backend(pid)} signals writes it on its own time, possibly after the
 * window's fence. So a window also allows the FATAL messages the test before it expected (and only
 * those: an ERROR or WARNING is never carried over), and a failure names that test as a possible
 * source of a late line. A test that terminates a backend can make the FATAL synchronous
 * with {@code pg_terminate_backend(pid, 10000)}, which returns once the backend is gone.
 *
 * <p>Work that runs on its own threads is judged where its lines land: a {@code Pgkit} a test leaves
 * open keeps its housekeeping, listener and watchdog running into later tests, whose windows then
 * receive its messages. Each reported line carries the session's application name ({@code pgkit},
 * {@code pgkit-listener}, ...) and process id to trace it; close what a test opens.
 *
 * <p>Lines of the check's own fence connection (which a server restart terminates) are never reported.
 * The windows assume tests run one at a time (JUnit's default); with parallel execution a line would
 * be charged to whichever test reached a checkpoint first.
 */
public final class ServerLogCheck implements BeforeAllCallback, BeforeEachCallback, AfterEachCallback, AfterAllCallback {
    /** The system property that switches the check off ({@code off} or {@code false}). */
    public static final String SWITCH = "pgkit.serverLogCheck";
    private static final Logger log = LoggerFactory.getLogger(ServerLogCheck.class);
    private static final int MAX_REPORTED = 20;
    private static final int MAX_ENTRY_CHARS = 1_500;

    private static Window previous = Window.gap("the start of the test run", Set.of());
    private static boolean offNoticePrinted;

    /**
     * A stretch of the run and the messages allowed in it, plus what it passes on to the next window:
     * the FATAL messages that may still arrive late ({@code carried}) and where they would come from
     * ({@code source}). A test passes on its own expectations; a gap (the checkpoints around a test
     * and a class) adds its own to what it received, so a late FATAL of a test is still allowed in the
     * next test's window.
     */
    record Window(String name, Set<String> expected, Set<String> carried, String source) {
        static Window test(String name, Set<String> expected) {
            return new Window(name, expected, expected, name);
        }

        static Window gap(String name, Set<String> expected) {
            return new Window(name, expected, expected, name);
        }

        /** This window as the next one sees it, given the window before it. */
        Window after(Window before, boolean isGap) {
            if (!isGap) {
                return this;
            }
            Set<String> carry = new LinkedHashSet<>(before.carried());
            carry.addAll(expected);
            return new Window(name, expected, carry, before.source());
        }
    }

    @Override
    public void beforeAll(ExtensionContext context) {
        check(Window.gap("the gap before test class " + className(context) + " started", Set.of()), true);
    }

    @Override
    public void beforeEach(ExtensionContext context) {
        check(Window.gap("the set-up of " + className(context) + " (@BeforeAll) or the gap between its tests, before "
                + testName(context) + " began", classExpectations(context)), true);
    }

    @Override
    public void afterEach(ExtensionContext context) {
        Set<String> expected = new LinkedHashSet<>(classExpectations(context));
        context.getTestMethod().ifPresent(m -> expected.addAll(expectations(m)));
        check(Window.test(testName(context), expected), false);
    }

    @Override
    public void afterAll(ExtensionContext context) {
        check(Window.gap("the tear-down of " + className(context) + " (@AfterAll)", classExpectations(context)), true);
    }

    /** Whether the check runs ({@code -Dpgkit.serverLogCheck=off} switches it off). */
    public static boolean enabled() {
        String value = System.getProperty(SWITCH, "on").trim().toLowerCase(Locale.ROOT);
        return !value.equals("off") && !value.equals("false");
    }

    private static synchronized void check(Window window, boolean isGap) {
        if (!enabled()) {
            if (!offNoticePrinted) {
                offNoticePrinted = true;
                log.warn("the server-log check is OFF (-D{}=off): WARNINGs and ERRORs the server logs go unnoticed", SWITCH);
            }
            return;
        }
        Window before = previous;
        previous = window.after(before, isGap);
        List<ServerLogEntry> unexpected = unexpected(ServerLogs.readAll(), window.expected(), before.carried());
        if (!unexpected.isEmpty()) {
            throw new AssertionError(report(window, before, unexpected));
        }
    }

    /**
     * The entries a window fails for: level WARNING and above, not from the fence connection, not
     * expected by the window, and not a FATAL the window before expected.
     */
    static List<ServerLogEntry> unexpected(List<ServerLogEntry> entries, Set<String> expected, Set<String> expectedBefore) {
        List<ServerLogEntry> unexpected = new ArrayList<>();
        for (ServerLogEntry entry : entries) {
            if (entry.isSevere() && !entry.prefix().contains(ServerLogWatch.FENCE_APPLICATION)
                    && !allowed(entry, expected) && !(entry.severity().equals("FATAL") && allowed(entry, expectedBefore))) {
                unexpected.add(entry);
            }
        }
        return unexpected;
    }

    private static boolean allowed(ServerLogEntry entry, Set<String> expected) {
        for (String part : expected) {
            if (entry.message().contains(part)) {
                return true;
            }
        }
        return false;
    }

    private static String report(Window window, Window before, List<ServerLogEntry> unexpected) {
        // one example of each distinct message, with how often it came
        Map<String, List<ServerLogEntry>> byMessage = new LinkedHashMap<>();
        for (ServerLogEntry entry : unexpected) {
            byMessage.computeIfAbsent(entry.severity() + ":  " + entry.message(), k -> new ArrayList<>()).add(entry);
        }
        StringBuilder out = new StringBuilder("PostgreSQL logged ").append(unexpected.size())
                .append(unexpected.size() == 1 ? " message" : " messages")
                .append(" of level WARNING or above during ").append(window.name()).append(" that it did not expect:\n");
        int shown = 0;
        for (List<ServerLogEntry> same : byMessage.values()) {
            if (shown++ == MAX_REPORTED) {
                out.append("  ... and ").append(byMessage.size() - MAX_REPORTED).append(" more distinct messages\n");
                break;
            }
            ServerLogEntry entry = same.get(0);
            out.append("  ").append(same.size() == 1 ? "" : same.size() + " times: ").append("[server ").append(entry.server()).append("] ")
                    .append(abbreviate(entry.text()).replace("\n", "\n      ")).append('\n');
        }
        if (unexpected.stream().anyMatch(e -> e.severity().equals("FATAL"))) {
            out.append("A FATAL the server wrote on its own time may come from before (")
                    .append(before.source()).append(").\n");
        }
        out.append("Fix the cause; if the test provokes the message on purpose, declare it: @ExpectServerLog(\"<part of the message>\").");
        return out.toString();
    }

    private static String abbreviate(String text) {
        return text.length() <= MAX_ENTRY_CHARS ? text : text.substring(0, MAX_ENTRY_CHARS) + " [...]";
    }

    private static String className(ExtensionContext context) {
        String name = context.getRequiredTestClass().getName();
        return name.substring(name.lastIndexOf('.') + 1);
    }

    private static String testName(ExtensionContext context) {
        String method = context.getTestMethod().map(m -> m.getName() + "()").orElse(context.getDisplayName());
        String display = context.getDisplayName();
        boolean invocation = !display.equals(method) && context.getTestMethod().isPresent()
                && !display.startsWith(context.getRequiredTestMethod().getName() + "(");
        return className(context) + "." + method + (invocation ? " [" + display + "]" : "");
    }

    /** What the test class, its enclosing classes (for {@code @Nested}) and their superclasses declare. */
    private static Set<String> classExpectations(ExtensionContext context) {
        Set<String> expected = new LinkedHashSet<>();
        for (Class<?> c = context.getRequiredTestClass(); c != null; c = c.getEnclosingClass()) {
            expected.addAll(expectations(c));
        }
        return expected;
    }

    private static List<String> expectations(AnnotatedElement element) {
        return AnnotationSupport.findAnnotation(element, ExpectServerLog.class).map(a -> List.of(a.value())).orElse(List.of());
    }
}
