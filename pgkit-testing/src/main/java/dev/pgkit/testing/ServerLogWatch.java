package dev.pgkit.testing;

import java.nio.charset.StandardCharsets;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.List;
import java.util.Properties;
import java.util.UUID;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;

/**
 * Follows one server's log for {@link ServerLogCheck}: remembers how far it has read, and reads
 * what the server wrote since, up to a <em>fence</em>.
 *
 * <p>The fence is a LOG line with a fresh token that the watch makes the server write
 * ({@code RAISE LOG}) on a connection of its own ({@code application_name = pgkit-log-fence}). A
 * backend writes a message to the server log before it sends it to its client, so by the time the
 * fence line is in the log, every message about a statement a test has seen complete is there too,
 * before the fence. Messages a server writes on its own time (a terminated backend's FATAL, a
 * background worker) can land after the fence: they are read at the next fence.
 */
abstract class ServerLogWatch {
    /** The fence connection's application_name; its own lines (terminated by a server restart) are never reported. */
    static final String FENCE_APPLICATION = "pgkit-log-fence";
    private static final long FENCE_TIMEOUT_NANOS = TimeUnit.SECONDS.toNanos(10);
    private static final AtomicLong FENCES = new AtomicLong();

    private final String name;
    private Connection fenceConnection;

    ServerLogWatch(String name) {
        this.name = name;
    }

    /** The server's name in messages. */
    final String name() {
        return name;
    }

    /** The log bytes not read yet (to the current end of the log). */
    abstract byte[] unread() throws Exception;

    /** Marks the first {@code count} bytes of {@link #unread()} as read. */
    abstract void consume(int count) throws Exception;

    /** Opens the connection on which fences are written, or null when the server is not running. */
    abstract Connection connectForFence() throws SQLException;

    /** Whether the watch has read everything it ever will (its server is gone); it is then dropped. */
    boolean isFinished() {
        return false;
    }

    /** Reads every message logged since the last call, up to a fence written now. */
    final List<ServerLogEntry> readThroughFence() throws Exception {
        String token = writeFence();
        if (token == null) {
            return readToEnd(); // a stopped server writes nothing more
        }
        byte[] needle = token.getBytes(StandardCharsets.UTF_8);
        long deadline = System.nanoTime() + FENCE_TIMEOUT_NANOS;
        while (true) {
            byte[] log = unread();
            int at = indexOf(log, needle);
            if (at >= 0) {
                int lineStart = lastIndexOf(log, (byte) '\n', at) + 1;
                int lineEnd = indexOf(log, (byte) '\n', at);
                int consumed = lineEnd < 0 ? log.length : lineEnd + 1;
                consume(consumed);
                return ServerLogEntry.parse(name, new String(log, 0, lineStart, StandardCharsets.UTF_8));
            }
            if (System.nanoTime() > deadline) {
                throw new IllegalStateException("the fence '" + token + "' did not appear in the log of server '" + name
                        + "' within 10 s: the server does not write LOG messages to the log this check reads");
            }
            Thread.sleep(5); // polling the log file for the fence line the server is writing
        }
    }

    /** Reads everything the log holds now, without a fence. */
    final List<ServerLogEntry> readToEnd() throws Exception {
        byte[] log = unread();
        int end = lastIndexOf(log, (byte) '\n', log.length - 1) + 1; // only complete lines
        consume(end);
        return ServerLogEntry.parse(name, new String(log, 0, end, StandardCharsets.UTF_8));
    }

    private String writeFence() throws SQLException {
        String token = "pgkit-log-fence-" + FENCES.incrementAndGet() + "-" + UUID.randomUUID();
        for (int attempt = 0; ; attempt++) {
            if (fenceConnection == null) {
                fenceConnection = connectForFence();
                if (fenceConnection == null) {
                    return null;
                }
            }
            try (Statement s = fenceConnection.createStatement()) {
                s.execute("DO $fence$BEGIN RAISE LOG '" + token + "'; END$fence$");
                return token;
            } catch (SQLException e) {
                closeFenceConnection(); // a restart or a terminate ended it: one fresh connection, then give up
                if (attempt > 0) {
                    throw e;
                }
            }
        }
    }

    void closeFenceConnection() {
        if (fenceConnection != null) {
            try {
                fenceConnection.close();
            } catch (SQLException ignored) {
                // it is gone either way
            }
            fenceConnection = null;
        }
    }

    static Connection connect(String jdbcUrl, Properties properties) throws SQLException {
        Properties withName = new Properties();
        withName.putAll(properties);
        withName.setProperty("ApplicationName", FENCE_APPLICATION);
        withName.setProperty("connectTimeout", "10");
        return DriverManager.getConnection(jdbcUrl, withName);
    }

    static int indexOf(byte[] haystack, byte[] needle) {
        outer:
        for (int i = 0; i <= haystack.length - needle.length; i++) {
            for (int j = 0; j < needle.length; j++) {
                if (haystack[i + j] != needle[j]) {
                    continue outer;
                }
            }
            return i;
        }
        return -1;
    }

    private static int indexOf(byte[] bytes, byte b, int from) {
        for (int i = from; i < bytes.length; i++) {
            if (bytes[i] == b) {
                return i;
            }
        }
        return -1;
    }

    private static int lastIndexOf(byte[] bytes, byte b, int from) {
        for (int i = Math.min(from, bytes.length - 1); i >= 0; i--) {
            if (bytes[i] == b) {
                return i;
            }
        }
        return -1;
    }
}
