package dev.pgkit.cli;

import dev.pgkit.Pgkit;
import java.io.PrintWriter;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Timestamp;
import picocli.CommandLine.Command;

/** Schema versions, each adapter's tables, and the LISTEN connections: this process's and those the server sees. */
@Command(name = "status", mixinStandardHelpOptions = true, versionProvider = PgkitCommand.Version.class,
        description = "Show schema versions, row and garbage counts per table, and the pgkit LISTEN connections the server sees.")
final class StatusCommand extends DatabaseCommand {
    /** The application_name pgkit gives its LISTEN connections. */
    static final String LISTENER_APPLICATION = "pgkit-listener";

    @Override
    public Integer call() throws SQLException {
        PrintWriter out = out();
        try (DatabaseOptions.Target target = connect(false)) {
            Pgkit pgkit = target.pgkit();
            Pgkit.Status status = pgkit.status();
            out.println("server:   " + status.server());
            out.println("schema:   " + status.schema());
            out.println("versions: " + (status.schemaVersions().isEmpty() ? "none applied (run `pgkit migrate`)" : status.schemaVersions()));
            out.printf("%-10s %-28s %12s %12s%n", "adapter", "table", "rows", "garbage");
            for (Pgkit.TableStatus table : pgkit.tables()) {
                out.printf("%-10s %-28s %12s %12s%n", table.adapter(), table.table(),
                        table.exists() ? Long.toString(table.rows()) : "missing",
                        table.garbage().isPresent() ? Long.toString(table.garbage().getAsLong()) : "-");
            }
            out.println("listener: " + thisProcess(status));
            printServerListeners(pgkit, out);
        }
        out.flush();
        return 0;
    }

    /** What this process's Pgkit knows of its own LISTEN connection; a fresh command has none. */
    static String thisProcess(Pgkit.Status status) {
        if (!status.listenerStarted()) {
            return "not started in this process (a Pgkit opens it at its first waiting call)";
        }
        return (status.listenerConnected() ? "connected" + status.listenerBackendPid().map(pid -> " (backend pid " + pid + ")").orElse("")
                : "not connected") + ", " + status.listenerReconnects() + " reconnect(s), channels " + status.channels();
    }

    /** The pgkit LISTEN connections of every process, as the server's pg_stat_activity shows them. */
    private static void printServerListeners(Pgkit pgkit, PrintWriter out) throws SQLException {
        String sql = """
                SELECT pid, backend_start, usename, client_addr::text, state
                FROM pg_stat_activity
                WHERE application_name = ? AND datname = current_database()
                ORDER BY backend_start NULLS LAST, pid""";
        try (Connection connection = pgkit.dataSource().getConnection(); PreparedStatement statement = connection.prepareStatement(sql)) {
            statement.setString(1, LISTENER_APPLICATION);
            try (ResultSet rs = statement.executeQuery()) {
                int count = 0;
                StringBuilder rows = new StringBuilder();
                while (rs.next()) {
                    count++;
                    Timestamp since = rs.getTimestamp(2);
                    rows.append(String.format("  pid %d, connected since %s, user %s, from %s, %s%n", rs.getInt(1),
                            since != null ? since.toInstant() : "? (the role may not read other sessions' details)",
                            rs.getString(3), rs.getString(4) != null ? rs.getString(4) : "local socket",
                            rs.getString(5) != null ? rs.getString(5) : "state hidden"));
                }
                out.println("pgkit LISTEN connections the server sees (application_name " + LISTENER_APPLICATION + "): " + count);
                out.print(rows);
            }
        }
    }
}
