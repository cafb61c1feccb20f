package dev.pgkit.testing;

import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.logging.Handler;
import java.util.logging.Level;
import java.util.logging.LogRecord;
import java.util.logging.Logger;

/**
 * The WARNINGs a server sends to the sessions of this JVM, for a server whose log the check cannot
 * read: every pgjdbc connection (pgkit's pool and listener, the tests' own) reports each notice it
 * receives to {@code java.util.logging} logger {@value #PGJDBC_LOGGER} at level FINEST, where this
 * handler collects those of level WARNING and above.
 *
 * <p>Weaker than the log: it sees no ERROR or FATAL a session ended with (the client gets those as
 * exceptions), only what sessions of this JVM were sent, and it turns on pgjdbc's protocol tracing
 * for that logger, which costs some time per message.
 */
final class SessionNotices extends Handler {
    static final String PGJDBC_LOGGER = "org.postgresql.core.v3.QueryExecutorImpl";
    private static Logger pgjdbc; // java.util.logging keeps loggers weakly: hold on to the configured one
    private static SessionNotices installed;

    private final String name;
    private final ConcurrentLinkedQueue<ServerLogEntry> received = new ConcurrentLinkedQueue<>();

    private SessionNotices(String name) {
        this.name = name;
        setLevel(Level.ALL);
    }

    /** Starts collecting (once per JVM); {@code name} names the server in reports. */
    static synchronized SessionNotices install(String name) {
        if (installed == null) {
            installed = new SessionNotices(name);
            pgjdbc = Logger.getLogger(PGJDBC_LOGGER);
            pgjdbc.setLevel(Level.FINEST);
            pgjdbc.addHandler(installed);
        }
        return installed;
    }

    /** The collector, when installed. */
    static synchronized SessionNotices installed() {
        return installed;
    }

    /** The notices of level WARNING and above received since the last call. */
    List<ServerLogEntry> drain() {
        List<ServerLogEntry> out = new ArrayList<>();
        for (ServerLogEntry entry; (entry = received.poll()) != null; ) {
            out.add(entry);
        }
        return out;
    }

    @Override
    public void publish(LogRecord record) {
        // pgjdbc logs " <=BE NoticeResponse({0})" with ServerErrorMessage.toString(): "SEVERITY: message" and
        // indented Detail/Hint/Where lines
        Object[] parameters = record.getParameters();
        if (record.getMessage() == null || !record.getMessage().contains("NoticeResponse")
                || parameters == null || parameters.length != 1 || parameters[0] == null) {
            return;
        }
        String text = parameters[0].toString();
        int colon = text.indexOf(": ");
        if (colon < 0) {
            return;
        }
        String severity = text.substring(0, colon);
        int lineEnd = text.indexOf('\n');
        String message = text.substring(colon + 2, lineEnd < 0 ? text.length() : lineEnd);
        if (ServerLogEntry.SEVERE.contains(severity)) {
            String prefix = "(sent to a session, on thread " + Thread.currentThread().getName() + ") ";
            received.add(new ServerLogEntry(name, severity, prefix, message, prefix + text));
        }
    }

    @Override
    public void flush() {
    }

    @Override
    public void close() {
    }
}
