package dev.pgkit.testing;

import java.util.ArrayList;
import java.util.Iterator;
import java.util.List;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The server logs {@link ServerLogCheck} follows: every {@link EmbeddedPostgres} this JVM starts
 * (the run's shared server, and servers a test starts for itself), and the server named by
 * {@code PGKIT_TEST_URL} when its log can be read over SQL, else the WARNINGs that server sends to
 * this JVM's sessions ({@link SessionNotices}).
 */
final class ServerLogs {
    private static final Logger log = LoggerFactory.getLogger(ServerLogs.class);
    private static final List<ServerLogWatch> watches = new ArrayList<>();
    private static String remoteUrl;
    private static boolean active;

    private ServerLogs() {
    }

    static synchronized void started(EmbeddedPostgres server) {
        watches.add(new EmbeddedLogWatch(server));
    }

    /** Before the server's directory is deleted: keeps the unread end of its log for the next read, if anyone reads. */
    static synchronized void closing(EmbeddedPostgres server) {
        for (Iterator<ServerLogWatch> it = watches.iterator(); it.hasNext(); ) {
            if (it.next() instanceof EmbeddedLogWatch watch && watch.watches(server)) {
                if (active) {
                    watch.serverClosing();
                } else {
                    it.remove();
                }
            }
        }
    }

    /** The run's server is {@code url} (from {@code PGKIT_TEST_URL}); its log is opened at the first read. */
    static synchronized void remote(String url) {
        remoteUrl = url;
    }

    /** Reads every followed log up to a fence written now; a log that cannot be read any more is dropped with a warning. */
    static synchronized List<ServerLogEntry> readAll() {
        active = true;
        openRemote();
        List<ServerLogEntry> entries = new ArrayList<>();
        SessionNotices notices = SessionNotices.installed();
        if (notices != null) {
            entries.addAll(notices.drain());
        }
        for (Iterator<ServerLogWatch> it = watches.iterator(); it.hasNext(); ) {
            ServerLogWatch watch = it.next();
            try {
                entries.addAll(watch.readThroughFence());
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                throw new IllegalStateException("interrupted while reading the log of server '" + watch.name() + "'", e);
            } catch (Exception e) {
                log.warn("the server-log check stops following server '{}': {}", watch.name(), e.toString());
                watch.closeFenceConnection();
                it.remove();
                continue;
            }
            if (watch.isFinished()) {
                it.remove();
            }
        }
        return entries;
    }

    private static void openRemote() {
        if (remoteUrl == null) {
            return;
        }
        String url = remoteUrl;
        remoteUrl = null;
        String describe = "?";
        try {
            JdbcTarget target = JdbcTarget.of(url);
            describe = target.describe();
            watches.add(RemoteLogWatch.open(TestPostgres.URL_VARIABLE + " " + describe, target.jdbcUrl(), target.properties()));
            log.info("the server-log check follows the log of {} ({})", TestPostgres.URL_VARIABLE, describe);
        } catch (RuntimeException e) {
            SessionNotices.install(TestPostgres.URL_VARIABLE + " " + describe + " (session notices)");
            log.warn("the server-log check is OFF for {} ({}): {}. Only the WARNINGs that server sends to this JVM's sessions "
                    + "are checked (through pgjdbc's trace of logger {}); ERRORs and FATALs it logs go unnoticed.",
                    TestPostgres.URL_VARIABLE, describe, e.getMessage(), SessionNotices.PGJDBC_LOGGER);
        }
    }
}
