package dev.pgkit.conversation;

import static org.assertj.core.api.Assertions.assertThat;

import dev.pgkit.Pgkit;
import dev.pgkit.test.Db;
import dev.pgkit.testing.PostgresExtension;
import dev.pgkit.testing.TestPostgres;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.Statement;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

/**
 * Many first messages of one phone at once, from 16 threads over 4 {@code Pgkit} instances (standing for 4
 * servers) and from 16 plain JDBC connections calling BuilderBot's functions as its Node adapter does: exactly one
 * contact per phone, every history row attached to it, every merged field present.
 */
@ExtendWith(PostgresExtension.class)
class ConversationConcurrencyTest {
    static final int INSTANCES = 4;
    static final int THREADS = 16;
    static final int ROUNDS = 5;
    static final List<Pgkit> servers = new ArrayList<>();
    static final List<ConversationStore> stores = new ArrayList<>();
    static String schema;
    static TestPostgres postgres;

    @BeforeAll
    static void setUp(TestPostgres server) {
        postgres = server;
        schema = TestPostgres.uniqueName("conversation_concurrency");
        for (int i = 0; i < INSTANCES; i++) {
            Pgkit pgkit = Db.builder(server, schema).poolSize(THREADS / INSTANCES + 1).build();
            servers.add(pgkit);
            stores.add(pgkit.conversation());
        }
    }

    @AfterAll
    static void tearDown() {
        for (int i = 1; i < servers.size(); i++) {
            servers.get(i).close();
        }
        Db.dropAndClose(servers.get(0));
    }

    interface Worker {
        void run(int thread) throws Exception;
    }

    /** Runs one worker per thread, all released at once; rethrows the first failure. */
    static void race(int threads, Worker worker) throws Exception {
        ExecutorService pool = Executors.newFixedThreadPool(threads);
        try {
            CountDownLatch start = new CountDownLatch(1);
            List<Future<?>> futures = new ArrayList<>();
            for (int t = 0; t < threads; t++) {
                int thread = t;
                futures.add(pool.submit(() -> {
                    start.await();
                    worker.run(thread);
                    return null;
                }));
            }
            start.countDown();
            for (Future<?> f : futures) {
                f.get(120, TimeUnit.SECONDS);
            }
        } finally {
            pool.shutdownNow();
        }
    }

    static String newPhone() {
        return "+1" + UUID.randomUUID().toString().replace("-", "").substring(0, 12);
    }

    static long scalar(String sql) {
        return Db.scalar(servers.get(0), sql.replace("${s}", "\"" + schema + "\""));
    }

    /** Exactly one contact for the phone, and every one of its {@code entries} history rows attached to it. */
    static long assertOneContactWithAllHistory(String phone, long entries) {
        assertThat(scalar("SELECT count(*) FROM ${s}.contact WHERE phone = '" + phone + "'")).as("contacts of " + phone).isEqualTo(1);
        long contactId = scalar("SELECT id FROM ${s}.contact WHERE phone = '" + phone + "'");
        assertThat(scalar("SELECT count(*) FROM ${s}.history WHERE phone = '" + phone + "'")).as("history rows").isEqualTo(entries);
        assertThat(scalar("SELECT count(*) FROM ${s}.history WHERE phone = '" + phone + "' AND contact_id = " + contactId))
                .as("history rows attached to the one contact").isEqualTo(entries);
        return contactId;
    }

    @Test
    void concurrentFirstMessagesAndMergesThroughSeveralInstances() throws Exception {
        for (int round = 0; round < ROUNDS; round++) {
            String phone = newPhone();
            int messages = 4;
            race(THREADS, thread -> {
                ConversationStore store = stores.get(thread % INSTANCES);
                for (int m = 0; m < messages; m++) {
                    store.save(NewHistoryEntry.of(phone, "ref-" + thread + "-" + m, "message " + m, "s"));
                    if (m == 1) {
                        store.saveContact(phone, Map.of("field" + thread, thread));
                    }
                }
            });
            assertOneContactWithAllHistory(phone, (long) THREADS * messages);
            Map<String, Object> values = stores.get(0).getContact(phone).orElseThrow().values();
            for (int t = 0; t < THREADS; t++) {
                assertThat(values).as("merged field of thread " + t).containsEntry("field" + t, t);
            }
        }
    }

    @Test
    void concurrentFirstContactSavesMergeEveryField() throws Exception {
        for (int round = 0; round < ROUNDS; round++) {
            String phone = newPhone();
            race(THREADS, thread -> stores.get(thread % INSTANCES).saveContact(phone, Map.of("k" + thread, "v" + thread)));
            assertThat(scalar("SELECT count(*) FROM ${s}.contact WHERE phone = '" + phone + "'")).isEqualTo(1);
            assertThat(stores.get(0).getContact(phone).orElseThrow().values()).hasSize(THREADS);
        }
    }

    @Test
    void nodeStyleCallsOfTheSeedsFunctionsThroughPlainJdbcAreRaceFree() throws Exception {
        Db.Server server = Db.server(postgres);
        List<Connection> connections = new ArrayList<>();
        try {
            for (int t = 0; t < THREADS; t++) {
                // untyped parameters, as node-postgres sends them (the server infers each from the function's signature)
                java.util.Properties properties = new java.util.Properties();
                properties.putAll(server.superuser());
                properties.setProperty("stringtype", "unspecified");
                Connection c = java.sql.DriverManager.getConnection(server.jdbcUrl(), properties);
                try (Statement s = c.createStatement()) {
                    s.execute("SET search_path TO \"" + schema + "\""); // the Node adapter calls the functions unqualified
                }
                connections.add(c);
            }
            for (int round = 0; round < ROUNDS; round++) {
                String phone = newPhone();
                int messages = 3;
                race(THREADS, thread -> {
                    Connection c = connections.get(thread);
                    // the Node adapter's statements: 'SELECT save_or_update_history_and_contact($1, $2, $3, $4, $5, $6)' and
                    // 'SELECT save_or_update_contact($1, $2)'
                    try (PreparedStatement save = c.prepareStatement("SELECT save_or_update_history_and_contact(?, ?, ?, ?, ?, ?)");
                         PreparedStatement contact = c.prepareStatement("SELECT save_or_update_contact(?, ?)")) {
                        for (int m = 0; m < messages; m++) {
                            save.setString(1, "ref-" + thread + "-" + m);
                            save.setString(2, "kw");
                            save.setString(3, "answer " + m);
                            save.setString(4, "serialized");
                            save.setString(5, phone);
                            save.setString(6, "{\"thread\":" + thread + "}");
                            save.execute();
                        }
                        contact.setString(1, phone);
                        contact.setString(2, "{\"name\":\"from thread " + thread + "\"}");
                        contact.execute();
                    }
                });
                assertOneContactWithAllHistory(phone, (long) THREADS * messages);
                assertThat(stores.get(0).getContact(phone).orElseThrow().values().get("name")).asString().startsWith("from thread ");
                // and the Java side reads what the Node-style calls wrote
                assertThat(stores.get(1).getPrevByNumber(phone).orElseThrow().refSerialize()).isEqualTo("serialized");
            }
        } finally {
            for (Connection c : connections) {
                c.close();
            }
        }
    }

    @Test
    void forgetDuringSavesNeverFailsAndLeavesNoOrphan() throws Exception {
        String phone = newPhone();
        AtomicBoolean saving = new AtomicBoolean(true);
        List<Forgotten> reports = new ArrayList<>();
        race(THREADS / 2 + 1, thread -> {
            ConversationStore store = stores.get(thread % INSTANCES);
            if (thread == 0) {
                for (int i = 0; i < 30; i++) {
                    reports.add(store.forget(phone));
                }
                saving.set(false);
            } else {
                while (saving.get()) {
                    store.save(NewHistoryEntry.of(phone, "r", "a", "s"));
                }
            }
        });
        assertThat(reports).anySatisfy(r -> assertThat(r.historyEntries()).isPositive());
        assertThat(scalar("SELECT count(*) FROM ${s}.contact WHERE phone = '" + phone + "'")).isLessThanOrEqualTo(1);
        long left = scalar("SELECT count(*) FROM ${s}.history WHERE phone = '" + phone + "'");
        if (left > 0) {
            assertOneContactWithAllHistory(phone, left);
        }
        Forgotten last = stores.get(0).forget(phone);
        assertThat(last.historyEntries()).isEqualTo(left);
        assertThat(scalar("SELECT count(*) FROM ${s}.history WHERE phone = '" + phone + "'")).isZero();
    }
}
