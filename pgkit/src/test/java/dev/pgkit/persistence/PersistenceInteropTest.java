package dev.pgkit.persistence;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.pgkit.LogOffset;
import dev.pgkit.Pgkit;
import dev.pgkit.test.Db;
import dev.pgkit.testing.PostgresExtension;
import dev.pgkit.testing.TestPostgres;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.Statement;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

/**
 * An actor-ts node and a Java service on one database. actor-ts's npm package is not available here, so the Node
 * side is played in SQL exactly as seed 004 documents it: its {@code CREATE TABLE IF NOT EXISTS} DDL (run first, as
 * when the Node node started first), its rows (JSON text payloads, comma-separated tags mirrored into
 * {@code events_tags}, epoch-millisecond timestamps), its append ({@code SELECT MAX(sequence_nr)} then INSERTs in one
 * transaction), its durable-state compare-and-set ({@code INSERT ... ON CONFLICT DO NOTHING} / {@code UPDATE ... WHERE
 * revision = $expected}), with $n bind parameters.
 */
@ExtendWith(PostgresExtension.class)
class PersistenceInteropTest {
    static final ObjectMapper JSON = new ObjectMapper();
    static final String NODE_DDL = """
            CREATE TABLE IF NOT EXISTS %1$s.events (persistence_id TEXT NOT NULL, sequence_nr BIGINT NOT NULL, payload TEXT NOT NULL,
              tags TEXT, timestamp BIGINT NOT NULL, PRIMARY KEY (persistence_id, sequence_nr));
            CREATE TABLE IF NOT EXISTS %1$s.events_tags (persistence_id TEXT NOT NULL, sequence_nr BIGINT NOT NULL, tag TEXT NOT NULL,
              timestamp BIGINT NOT NULL, PRIMARY KEY (tag, timestamp, persistence_id, sequence_nr));
            CREATE TABLE IF NOT EXISTS %1$s.snapshots (persistence_id TEXT NOT NULL, sequence_nr BIGINT NOT NULL, payload TEXT NOT NULL,
              timestamp BIGINT NOT NULL, PRIMARY KEY (persistence_id, sequence_nr));
            CREATE TABLE IF NOT EXISTS %1$s.durable_state (persistence_id TEXT PRIMARY KEY, revision BIGINT NOT NULL, payload TEXT NOT NULL,
              timestamp BIGINT NOT NULL);""";

    /** A user event type, shaped like the JavaScript objects the Node side stores with JSON.stringify. */
    record Deposited(String type, int amount) {
    }

    /** actor-ts's append: the head read, then one INSERT per event and per tag, in one transaction. */
    static void nodeAppend(Connection c, String schema, String pid, List<String> payloadJson, List<List<String>> tags, long timestamp)
            throws Exception {
        c.setAutoCommit(false);
        long head;
        try (PreparedStatement max = c.prepareStatement("SELECT MAX(sequence_nr) FROM \"" + schema + "\".events WHERE persistence_id = ?")) {
            max.setString(1, pid);
            try (ResultSet rs = max.executeQuery()) {
                rs.next();
                head = rs.getLong(1);
            }
        }
        for (int i = 0; i < payloadJson.size(); i++) {
            try (PreparedStatement insert = c.prepareStatement("INSERT INTO \"" + schema + "\".events"
                    + " (persistence_id, sequence_nr, payload, tags, timestamp) VALUES (?, ?, ?, ?, ?)")) {
                insert.setString(1, pid);
                insert.setLong(2, head + i + 1);
                insert.setString(3, payloadJson.get(i));
                insert.setString(4, tags.get(i).isEmpty() ? null : String.join(",", tags.get(i)));
                insert.setLong(5, timestamp);
                insert.executeUpdate();
            }
            for (String tag : tags.get(i)) {
                try (PreparedStatement insert = c.prepareStatement("INSERT INTO \"" + schema + "\".events_tags"
                        + " (persistence_id, sequence_nr, tag, timestamp) VALUES (?, ?, ?, ?)")) {
                    insert.setString(1, pid);
                    insert.setLong(2, head + i + 1);
                    insert.setString(3, tag);
                    insert.setLong(4, timestamp);
                    insert.executeUpdate();
                }
            }
        }
        c.commit();
        c.setAutoCommit(true);
    }

    @Test
    void aNodeNodeAndPgkitShareTheTables(TestPostgres postgres) throws Exception {
        String schema = TestPostgres.uniqueName("persistence_interop");
        Db.admin(postgres, "CREATE SCHEMA \"" + schema + "\"", NODE_DDL.formatted("\"" + schema + "\""));
        try (Connection node = Db.server(postgres).admin()) {
            // the Node node ran first: its rows exist before pgkit's migration adds its columns and table
            nodeAppend(node, schema, "account-1", List.of("{\"type\":\"Deposited\",\"amount\":5}", "{\"type\":\"Deposited\",\"amount\":7}"),
                    List.of(List.of("accounts", "eu"), List.of()), 1_700_000_000_000L);
            try (Statement s = node.createStatement()) {
                s.execute("INSERT INTO \"" + schema + "\".snapshots VALUES ('account-1', 2, '{\"type\":\"Deposited\",\"amount\":12}', 1700000000001)");
                s.execute("INSERT INTO \"" + schema + "\".durable_state VALUES ('cart-1', 1, '{\"type\":\"Deposited\",\"amount\":1}', 1700000000002)"
                        + " ON CONFLICT DO NOTHING");
            }

            Pgkit pgkit = Db.pgkit(postgres, schema);
            try {
                Persistence persistence = pgkit.persistence();
                EventJournal journal = persistence.journal();
                // pgkit reads the Node rows
                List<JournalEvent<Deposited>> events = journal.read("account-1", Deposited.class);
                assertThat(events).extracting(JournalEvent::event).containsExactly(new Deposited("Deposited", 5), new Deposited("Deposited", 7));
                assertThat(events.get(0).tags()).containsExactly("accounts", "eu");
                assertThat(events.get(0).timestamp().toEpochMilli()).isEqualTo(1_700_000_000_000L);
                assertThat(journal.highestSequenceNr("account-1")).isEqualTo(2);
                assertThat(persistence.snapshots().load("account-1", Deposited.class))
                        .hasValueSatisfying(s -> assertThat(s.snapshot().amount()).isEqualTo(12));
                assertThat(persistence.durableState().load("cart-1", Deposited.class)).hasValueSatisfying(s -> assertThat(s.revision()).isEqualTo(1));
                assertThat(persistence.queries().currentEventsByTag("accounts", LogOffset.START, Deposited.class)).hasSize(1);

                // pgkit appends after the Node events; a stale expectation is refused without a primary-key error
                assertThatThrownBy(() -> journal.append("account-1", List.of(new Deposited("Deposited", 0)), 1))
                        .isInstanceOfSatisfying(JournalConcurrencyException.class, e -> assertThat(e.currentSequenceNr()).isEqualTo(2));
                journal.append("account-1", List.of(new Deposited("Withdrawn", 3)), List.of("accounts"), 2);
                assertThat(persistence.durableState().upsert("cart-1", 1, new Deposited("Deposited", 2))).isEqualTo(2);

                // a live tag query sees what the Node side appends after pgkit's migration (its INSERTs fill pgkit's columns)
                List<EventEnvelope<Deposited>> live = new CopyOnWriteArrayList<>();
                try (LiveQuery query = persistence.queries().eventsByTag("accounts", LogOffset.START, Deposited.class, live::addAll)) {
                    nodeAppend(node, schema, "account-2", List.of("{\"type\":\"Deposited\",\"amount\":9}"), List.of(List.of("accounts")),
                            System.currentTimeMillis());
                    long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(15); // the Node side sends no NOTIFY: the re-check finds it
                    while (live.size() < 3 && System.nanoTime() < deadline) {
                        Thread.sleep(20);
                    }
                }
                assertThat(live).extracting(e -> e.persistenceId() + "#" + e.sequenceNr()).containsExactly("account-1#1", "account-1#3", "account-2#1");

                // the Node side reads pgkit's rows as it reads its own: JSON text, CSV tags, epoch milliseconds, mirrored tags
                List<Map<String, Object>> rows = new ArrayList<>();
                try (PreparedStatement read = node.prepareStatement("SELECT persistence_id, sequence_nr, payload, tags, timestamp FROM \""
                        + schema + "\".events WHERE persistence_id = $$account-1$$ AND sequence_nr >= ? AND sequence_nr <= ? ORDER BY sequence_nr")) {
                    read.setLong(1, 3);
                    read.setLong(2, Long.MAX_VALUE);
                    try (ResultSet rs = read.executeQuery()) {
                        while (rs.next()) {
                            rows.add(Map.of("seq", rs.getLong(2), "payload", rs.getString(3), "tags", rs.getString(4), "ts", rs.getLong(5)));
                        }
                    }
                }
                assertThat(rows).singleElement().satisfies(row -> {
                    JsonNode payload = JSON.readTree((String) row.get("payload"));
                    assertThat(payload.get("type").asText()).isEqualTo("Withdrawn");
                    assertThat(payload.get("amount").asInt()).isEqualTo(3);
                    assertThat(row.get("tags")).isEqualTo("accounts");
                    assertThat((Long) row.get("ts")).isBetween(System.currentTimeMillis() - 60_000, System.currentTimeMillis() + 60_000);
                });
                assertThat(Db.scalar(pgkit, "SELECT count(*) FROM \"" + schema + "\".events_tags t JOIN \"" + schema + "\".events e"
                        + " USING (persistence_id, sequence_nr, timestamp) WHERE e.persistence_id = 'account-1' AND e.sequence_nr = 3"
                        + " AND t.tag = 'accounts'")).isEqualTo(1);
                // the Node append continues after pgkit's numbers (its MAX sees them), and its durable-state CAS after pgkit's revision
                nodeAppend(node, schema, "account-1", List.of("{\"type\":\"Deposited\",\"amount\":1}"), List.of(List.of()), System.currentTimeMillis());
                assertThat(journal.highestSequenceNr("account-1")).isEqualTo(4);
                try (Statement s = node.createStatement()) {
                    assertThat(s.executeUpdate("UPDATE \"" + schema + "\".durable_state SET revision = 3, payload = '{\"type\":\"x\",\"amount\":0}',"
                            + " timestamp = 1 WHERE persistence_id = 'cart-1' AND revision = 2")).isEqualTo(1);
                }
                assertThat(persistence.durableState().revision("cart-1")).isEqualTo(3);
                // the seed's columns and keys are unchanged by pgkit's migration
                assertThat(Db.scalar(pgkit, "SELECT count(*) FROM information_schema.columns WHERE table_schema = '" + schema
                        + "' AND table_name = 'events'")).isEqualTo(5);
                assertThat(Db.longs(pgkit, "SELECT count(*) FROM pg_constraint c JOIN pg_class r ON r.oid = c.conrelid JOIN pg_namespace n ON"
                        + " n.oid = r.relnamespace WHERE n.nspname = '" + schema + "' AND c.contype = 'p' AND pg_get_constraintdef(c.oid) IN"
                        + " ('PRIMARY KEY (persistence_id, sequence_nr)', 'PRIMARY KEY (tag, \"timestamp\", persistence_id, sequence_nr)',"
                        + " 'PRIMARY KEY (persistence_id)')")).containsExactly(5L);
            } finally {
                Db.dropAndClose(pgkit);
            }
        }
    }
}
