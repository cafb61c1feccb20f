package dev.pgkit.cli;

import dev.pgkit.Pgkit;
import dev.pgkit.internal.SchemaComponent;
import java.io.PrintWriter;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.util.ArrayList;
import java.util.List;
import picocli.CommandLine.Command;

/** Schema versions, row and expired-row counts per table, listener state. */
@Command(name = "status", description = "Show schema versions, row and expired-row counts, and listener state.")
final class StatusCommand extends DatabaseCommand {

    @Override
    public Integer call() throws SQLException {
        PrintWriter out = out();
        try (DatabaseOptions.Target target = connect(false)) {
            Pgkit pgkit = target.pgkit();
            Pgkit.Status status = pgkit.status();
            out.println("server:   " + status.server());
            out.println("schema:   " + status.schema());
            out.println("versions: " + (status.schemaVersions().isEmpty() ? "none applied (run `pgkit migrate`)" : status.schemaVersions()));
            out.printf("%-28s %12s %12s%n", "table", "rows", "expired");
            try (Connection connection = pgkit.dataSource().getConnection()) {
                for (String table : tables()) {
                    String qualified = "\"" + pgkit.schema() + "\"." + table;
                    if (!exists(connection, qualified)) {
                        out.printf("%-28s %12s %12s%n", table, "-", "-");
                        continue;
                    }
                    boolean expiring = !table.equals("chat_state_subscriptions");
                    try (PreparedStatement count = connection.prepareStatement("SELECT count(*), "
                            + (expiring ? "count(*) FILTER (WHERE expires_at <= now())" : "0") + " FROM " + qualified);
                         ResultSet rs = count.executeQuery()) {
                        rs.next();
                        out.printf("%-28s %12d %12s%n", table, rs.getLong(1), expiring ? Long.toString(rs.getLong(2)) : "-");
                    }
                }
            }
            out.println("listener: " + (status.listenerStarted()
                    ? (status.listenerConnected() ? "connected" : "reconnecting") + ", " + status.listenerReconnects() + " reconnect(s), channels " + status.channels()
                    : "not started in this process (it starts with the first waiting call)"));
        }
        out.flush();
        return 0;
    }

    private static List<String> tables() {
        List<String> tables = new ArrayList<>(List.of("chat_state_subscriptions"));
        for (SchemaComponent component : Pgkit.COMPONENTS) {
            tables.addAll(component.expiringTables());
        }
        return tables;
    }

    private static boolean exists(Connection connection, String qualified) throws SQLException {
        try (PreparedStatement s = connection.prepareStatement("SELECT to_regclass(?) IS NOT NULL")) {
            s.setString(1, qualified);
            try (ResultSet rs = s.executeQuery()) {
                rs.next();
                return rs.getBoolean(1);
            }
        }
    }
}
