package dev.pgkit.cli;

import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.time.Duration;
import javax.sql.DataSource;

/**
 * The floor of {@code pgkit bench conversation}: the statements {@code ConversationStore#save} and
 * {@code #getPrevByNumber} send, run by a plain pgjdbc loop (one connection per client, no pool, no pgkit), and
 * BuilderBot's own call of its function, as its Node adapter sends it.
 */
final class ConversationFloor {
    private final PlainConnections connections;
    private final String contact;
    private final String history;
    private final String schema;

    ConversationFloor(DataSource dataSource, String schema) {
        this.connections = PlainConnections.of(dataSource);
        this.schema = "\"" + schema + "\"";
        this.contact = this.schema + ".contact";
        this.history = this.schema + ".history";
    }

    /** The text of ConversationSql.save (kept equal by hand: the floor must run what pgkit runs). */
    String saveSql() {
        String now = "(now() AT TIME ZONE 'UTC')";
        return """
                WITH touched AS (
                  INSERT INTO %1$s AS c (phone, created_at, last_interaction)
                  VALUES (?, %3$s, %3$s)
                  ON CONFLICT (phone) DO UPDATE SET last_interaction = EXCLUDED.last_interaction
                  RETURNING c.id)
                INSERT INTO %2$s AS h (ref, keyword, answer, refserialize, phone, options, contact_id, created_at)
                SELECT ?, ?, ?, ?, ?, ?, touched.id, %3$s FROM touched
                RETURNING h.id, h.ref, h.keyword, h.answer, h.refserialize, h.phone, h.options::text,
                  h.created_at AT TIME ZONE 'UTC', h.updated_in AT TIME ZONE 'UTC', h.contact_id""".formatted(contact, history, now);
    }

    /** The text of ConversationSql.getPrevByNumber. */
    String getPrevSql() {
        return "SELECT h.id, h.ref, h.keyword, h.answer, h.refserialize, h.phone, h.options::text,"
                + " h.created_at AT TIME ZONE 'UTC', h.updated_in AT TIME ZONE 'UTC', h.contact_id FROM " + history
                + " h WHERE h.phone = ? ORDER BY h.created_at DESC, h.id DESC LIMIT 1";
    }

    /** What BuilderBot's Node adapter sends for {@code save(ctx)}. */
    String functionSql() {
        return "SELECT " + schema + ".save_or_update_history_and_contact(?, ?, ?, ?, ?, ?::jsonb)";
    }

    private static org.postgresql.util.PGobject nullJsonb() throws java.sql.SQLException {
        org.postgresql.util.PGobject value = new org.postgresql.util.PGobject();
        value.setType("jsonb");
        value.setValue(null);
        return value;
    }

    enum Statement { SAVE, GET_PREV, FUNCTION }

    LoadRunner.Result pgjdbc(Statement which, String phonePrefix, int clients, Duration warmup, Duration duration) throws Exception {
        return LoadRunner.run(clients, warmup, duration, index -> {
            Connection connection = connections.open();
            String phone = phonePrefix + index;
            PreparedStatement statement = connection.prepareStatement(switch (which) {
                case SAVE -> saveSql();
                case GET_PREV -> getPrevSql();
                case FUNCTION -> functionSql();
            });
            if (which == Statement.GET_PREV) {
                statement.setString(1, phone);
            } else if (which == Statement.SAVE) {
                statement.setString(1, phone);
                statement.setString(2, "bench");
                statement.setString(3, null);
                statement.setString(4, "a bench message");
                statement.setString(5, "flow:bench#0");
                statement.setString(6, phone);
                statement.setObject(7, nullJsonb()); // bound as pgkit binds it: a typed jsonb parameter
            } else {
                statement.setString(1, "bench");
                statement.setString(2, null);
                statement.setString(3, "a bench message");
                statement.setString(4, "flow:bench#0");
                statement.setString(5, phone);
                statement.setString(6, null);
            }
            return new LoadRunner.Worker() {
                @Override
                public void run() throws Exception {
                    try (ResultSet rs = statement.executeQuery()) {
                        rs.next();
                    }
                }

                @Override
                public void close() throws Exception {
                    connection.close();
                }
            };
        });
    }
}
