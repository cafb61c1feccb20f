package dev.pgkit.conversation;

import static org.assertj.core.api.Assertions.assertThat;

import dev.pgkit.Pgkit;
import dev.pgkit.test.Db;
import dev.pgkit.testing.ExpectServerLog;
import dev.pgkit.testing.PostgresExtension;
import dev.pgkit.testing.TestPostgres;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

/**
 * A database a BuilderBot Node bot has been using (the seed's DDL and function bodies, duplicate contacts its
 * look-up-then-insert made) taken over by pgkit: duplicates merged deterministically and reported, phone made
 * unique, the functions' bodies replaced.
 */
@ExtendWith(PostgresExtension.class)
class ConversationMigrationTest {

    /** The seed's DDL and functions, verbatim (unqualified, as the Node adapter runs them on its search_path). */
    static final String[] SEED = {
        """
        CREATE TABLE IF NOT EXISTS contact (
          id SERIAL PRIMARY KEY,
          phone VARCHAR(255) DEFAULT NULL,
          created_at TIMESTAMP DEFAULT current_timestamp,
          updated_in TIMESTAMP,
          last_interaction TIMESTAMP,
          values JSONB
        )""",
        """
        CREATE TABLE IF NOT EXISTS history (
          id SERIAL PRIMARY KEY,
          ref VARCHAR(255) NOT NULL,
          keyword VARCHAR(255),
          answer TEXT NOT NULL,
          refSerialize TEXT NOT NULL,
          phone VARCHAR(255) DEFAULT NULL,
          options JSONB,
          created_at TIMESTAMP DEFAULT current_timestamp,
          updated_in TIMESTAMP,
          contact_id INTEGER REFERENCES contact(id)
        )""",
        """
        CREATE OR REPLACE FUNCTION save_or_update_contact(
          in_phone VARCHAR(255),
          in_values JSONB
        )
        RETURNS VOID AS $$
        DECLARE
          contact_id INT;
        BEGIN
          SELECT id INTO contact_id FROM contact WHERE phone = in_phone;

          IF contact_id IS NULL THEN
            INSERT INTO contact (phone, "values")
            VALUES (in_phone, in_values);
          ELSE
            UPDATE contact SET "values" = in_values, updated_in = current_timestamp
            WHERE id = contact_id;
          END IF;
        END;
        $$ LANGUAGE plpgsql""",
        """
        CREATE OR REPLACE FUNCTION save_or_update_history_and_contact(
          in_ref VARCHAR(255),
          in_keyword VARCHAR(255),
          in_answer TEXT,
          in_refserialize TEXT,
          in_phone VARCHAR(255),
          in_options JSONB
        )
        RETURNS VOID AS $$
        DECLARE
          _contact_id INT;
        BEGIN
          SELECT id INTO _contact_id FROM contact WHERE phone = in_phone;

          IF _contact_id IS NULL THEN
            INSERT INTO contact (phone)
            VALUES (in_phone)
            RETURNING id INTO _contact_id;
          ELSE
            UPDATE contact SET last_interaction = current_timestamp WHERE id = _contact_id;
          END IF;

          INSERT INTO history (ref, keyword, answer, refserialize, phone, options, contact_id, created_at)
          VALUES (in_ref, in_keyword, in_answer, in_refserialize, in_phone, in_options, _contact_id, current_timestamp);
        END;
        $$ LANGUAGE plpgsql"""
    };

    static void seed(TestPostgres postgres, String schema) {
        List<String> statements = new ArrayList<>(List.of("CREATE SCHEMA \"" + schema + "\"", "SET search_path TO \"" + schema + "\""));
        statements.addAll(List.of(SEED));
        Db.admin(postgres, statements.toArray(String[]::new));
    }

    static long scalar(Pgkit pgkit, String sql) {
        return Db.scalar(pgkit, sql.replace("${s}", "\"" + pgkit.schema() + "\""));
    }

    @Test
    void duplicatesMadeByTheSeedAreMergedDeterministicallyAndReported(TestPostgres postgres) {
        String schema = TestPostgres.uniqueName("conversation_migration");
        seed(postgres, schema);
        String s = "\"" + schema + "\"";
        Db.admin(postgres,
                // phone A: three contacts, as three racing first messages made them
                "INSERT INTO " + s + ".contact (id, phone, created_at, updated_in, last_interaction, values) VALUES"
                        + " (10, 'A', '2024-01-01 10:00', NULL, '2024-01-03 00:00', '{\"name\": \"old\", \"a\": 1}'),"
                        + " (11, 'A', '2024-01-01 09:00', '2024-02-01 00:00', '2024-01-05 00:00', '{\"name\": \"new\", \"b\": 2}'),"
                        + " (12, 'A', '2024-01-01 11:00', NULL, NULL, NULL),"
                        // phone B: two, one of them with values that are not an object
                        + " (20, 'B', '2024-01-01 00:00', NULL, NULL, '[1, 2]'),"
                        + " (21, 'B', '2024-01-01 00:00', NULL, NULL, '{\"x\": 1}'),"
                        // phone C: one; and two contacts without phone, which are no duplicates
                        + " (30, 'C', '2024-01-01 00:00', NULL, NULL, '{\"c\": true}'),"
                        + " (40, NULL, '2024-01-01 00:00', NULL, NULL, NULL),"
                        + " (41, NULL, '2024-01-01 00:00', NULL, NULL, NULL)",
                "SELECT setval(pg_get_serial_sequence('" + s + ".contact', 'id'), 41)",
                "INSERT INTO " + s + ".history (ref, answer, refSerialize, phone, contact_id) VALUES"
                        + " ('r1', 'a1', 's', 'A', 10), ('r2', 'a2', 's', 'A', 11), ('r3', 'a3', 's', 'A', 11), ('r4', 'a4', 's', 'A', 12),"
                        + " ('r5', 'b1', 's', 'B', 21), ('r6', 'c1', 's', 'C', 30)");

        try (Pgkit pgkit = Db.pgkit(postgres, schema)) {
            ConversationStore store = pgkit.conversation();
            Contact a = store.getContact("A").orElseThrow();
            assertThat(a.id()).as("the oldest contact survives").isEqualTo(10);
            assertThat(a.values()).as("merged in id order, the newest contact's value winning")
                    .containsOnly(Map.entry("name", "new"), Map.entry("a", 1), Map.entry("b", 2));
            assertThat(a.createdAt()).contains(Instant.parse("2024-01-01T09:00:00Z"));
            assertThat(a.updatedIn()).contains(Instant.parse("2024-02-01T00:00:00Z"));
            assertThat(a.lastInteraction()).contains(Instant.parse("2024-01-05T00:00:00Z"));
            assertThat(scalar(pgkit, "SELECT count(*) FROM ${s}.history WHERE phone = 'A' AND contact_id = 10")).isEqualTo(4);
            Contact b = store.getContact("B").orElseThrow();
            assertThat(b.id()).isEqualTo(20);
            assertThat(b.values()).containsOnly(Map.entry("x", 1));
            assertThat(scalar(pgkit, "SELECT contact_id FROM ${s}.history WHERE phone = 'B'")).isEqualTo(20);
            assertThat(store.getContact("C").orElseThrow().id()).isEqualTo(30);
            assertThat(scalar(pgkit, "SELECT count(*) FROM ${s}.contact")).isEqualTo(5);
            assertThat(scalar(pgkit, "SELECT count(*) FROM ${s}.contact WHERE phone IS NULL")).isEqualTo(2);

            List<ContactMerge> merges = store.merges();
            assertThat(merges).extracting(ContactMerge::phone, ContactMerge::survivorId, ContactMerge::mergedIds, ContactMerge::historyMoved)
                    .containsExactly(org.assertj.core.groups.Tuple.tuple("A", 10L, List.of(11L, 12L), 3L),
                            org.assertj.core.groups.Tuple.tuple("B", 20L, List.of(21L), 1L));

            assertThat(scalar(pgkit, "SELECT count(*) FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid"
                    + " WHERE c.relname = 'contact_phone_key' AND c.relnamespace = '" + s + "'::regnamespace AND i.indisunique")).isEqualTo(1);
            assertThat(scalar(pgkit, "SELECT count(*) FROM pg_proc WHERE pronamespace = '" + s + "'::regnamespace"
                    + " AND proname IN ('save_or_update_contact', 'save_or_update_history_and_contact') AND prosrc LIKE '%ON CONFLICT (phone)%'"))
                    .as("both functions have pgkit's bodies").isEqualTo(2);
            // a merged phone keeps working: the next message lands on the survivor
            assertThat(store.save(NewHistoryEntry.of("A", "r", "again", "s")).contactId()).contains(10L);
        }
        // a second start finds everything migrated and changes nothing
        try (Pgkit again = Db.pgkit(postgres, schema)) {
            assertThat(again.conversation().merges()).hasSize(2);
            assertThat(scalar(again, "SELECT count(*) FROM ${s}.contact")).isEqualTo(5);
        } finally {
            Db.admin(postgres, "DROP SCHEMA " + s + " CASCADE");
        }
    }

    /**
     * BuilderBot's adapter runs CREATE OR REPLACE FUNCTION at every start, putting its racy bodies back. The unique
     * phone still holds: a racing first message fails (unique violation) instead of creating a second contact, and
     * {@link ConversationStore#installFunctions()} restores pgkit's bodies.
     */
    @Test
    @ExpectServerLog("duplicate key value violates unique constraint \"contact_phone_key\"")
    void theSeedsBodiesPutBackByTheNodeAdapterCannotDuplicateAContact(TestPostgres postgres) throws Exception {
        String schema = TestPostgres.uniqueName("conversation_reseeded");
        try (Pgkit pgkit = Db.pgkit(postgres, schema)) {
            ConversationStore store = pgkit.conversation();
            Db.admin(postgres, "SET search_path TO \"" + schema + "\"", SEED[2], SEED[3]); // the Node adapter starts again
            int threads = 12;
            AtomicInteger saved = new AtomicInteger();
            AtomicInteger refused = new AtomicInteger();
            for (int round = 0; round < 3; round++) {
                String phone = "+49" + round + System.nanoTime();
                raceFunctionCalls(postgres, schema, phone, threads, saved, refused);
                assertThat(scalar(pgkit, "SELECT count(*) FROM ${s}.contact WHERE phone = '" + phone + "'")).isEqualTo(1);
            }
            assertThat(scalar(pgkit, "SELECT count(*) FROM ${s}.history")).isEqualTo(saved.get());
            assertThat(scalar(pgkit, "SELECT count(*) FROM ${s}.history WHERE contact_id IS NULL")).isZero();

            store.installFunctions();
            saved.set(0);
            refused.set(0);
            String phone = "+49x" + System.nanoTime();
            raceFunctionCalls(postgres, schema, phone, threads, saved, refused);
            assertThat(refused.get()).as("pgkit's bodies refuse nothing").isZero();
            assertThat(saved.get()).isEqualTo(threads);
            assertThat(scalar(pgkit, "SELECT count(*) FROM ${s}.contact WHERE phone = '" + phone + "'")).isEqualTo(1);
        } finally {
            Db.admin(postgres, "DROP SCHEMA IF EXISTS \"" + schema + "\" CASCADE");
        }
    }

    static void raceFunctionCalls(TestPostgres postgres, String schema, String phone, int threads, AtomicInteger saved,
                                  AtomicInteger refused) throws Exception {
        ExecutorService pool = Executors.newFixedThreadPool(threads);
        try {
            CountDownLatch start = new CountDownLatch(1);
            List<Future<?>> futures = new ArrayList<>();
            for (int t = 0; t < threads; t++) {
                futures.add(pool.submit(() -> {
                    try (Connection c = Db.server(postgres).admin(); Statement set = c.createStatement()) {
                        set.execute("SET search_path TO \"" + schema + "\"");
                        try (PreparedStatement call = c.prepareStatement(
                                "SELECT save_or_update_history_and_contact(?, NULL, 'hi', 's', ?, NULL)")) {
                            call.setString(1, "r");
                            call.setString(2, phone);
                            start.await();
                            call.execute();
                            saved.incrementAndGet();
                        } catch (SQLException e) {
                            if (!"23505".equals(e.getSQLState())) {
                                throw e;
                            }
                            refused.incrementAndGet();
                        }
                    }
                    return null;
                }));
            }
            start.countDown();
            for (Future<?> f : futures) {
                f.get(60, TimeUnit.SECONDS);
            }
        } finally {
            pool.shutdownNow();
        }
    }
}
