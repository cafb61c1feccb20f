package dev.pgkit.store;

import static org.assertj.core.api.Assertions.assertThat;

import dev.pgkit.Pgkit;
import dev.pgkit.PgkitException;
import dev.pgkit.test.Db;
import dev.pgkit.testing.ExpectServerLog;
import dev.pgkit.testing.PostgresExtension;
import dev.pgkit.testing.TestPostgres;
import java.sql.Connection;
import java.sql.ResultSet;
import java.sql.Statement;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

/** A sync whose connections are terminated at random points, then resumed: nothing lost, nothing applied twice. */
@ExtendWith(PostgresExtension.class)
class StoreSyncFaultTest {

    @Test
    @ExpectServerLog({"terminating connection due to administrator command", "could not send data to client", "could not receive data from client",
            "connection to client lost",
            "is not a PostgreSQL backend process"}) // the killer picked a backend that was exiting (killed just before)
    void syncInterruptedByTerminatedConnectionsResumesWithoutLossOrDuplicates(TestPostgres postgres) throws Exception {
        long seed = Long.getLong("store.sync.seed", 20261123L);
        System.out.println("StoreSyncFaultTest seed=" + seed);
        Random random = new Random(seed);
        Pgkit pgkitA = StoreTestSupport.pgkit(postgres, "fault_a");
        Pgkit pgkitB = StoreTestSupport.pgkit(postgres, "fault_b");
        String schemaA = TestPostgres.uniqueName("persist_fa");
        String schemaB = TestPostgres.uniqueName("persist_fb");
        try {
            Store a = StoreTestSupport.store(pgkitA, "analytics", schemaA);
            Store b = StoreTestSupport.store(pgkitB, "analytics", schemaB);
            for (int i = 0; i < 1500; i++) {
                a.records().put("a:" + i, i);
            }
            for (int i = 0; i < 200; i++) {
                a.kv().set("kv:" + i, i);
            }
            for (int i = 0; i < 600; i++) {
                b.records().put("b:" + i, -i);
            }
            AtomicBoolean killing = new AtomicBoolean(true);
            AtomicInteger kills = new AtomicInteger();
            Thread killer = new Thread(() -> {
                try (Connection admin = Db.server(postgres).admin(); Statement s = admin.createStatement()) {
                    while (killing.get()) {
                        Thread.sleep(5 + random.nextInt(40));
                        // a random pgkit pool connection that is running something (a sync statement or transaction)
                        try (ResultSet rs = s.executeQuery("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = 'pgkit'"
                                + " AND pid <> pg_backend_pid() AND state <> 'idle' ORDER BY random() LIMIT 1")) {
                            while (rs.next()) {
                                kills.incrementAndGet();
                            }
                        }
                    }
                } catch (Exception e) {
                    throw new IllegalStateException(e);
                }
            }, "killer");
            killer.start();
            // besides the terminations, a crash (an exception ending the round) at random steps, inside and between transactions
            AtomicInteger crashes = new AtomicInteger();
            AtomicInteger pullCrashes = new AtomicInteger();
            Random crashRandom = new Random(seed + 1);
            SyncRound.faults = step -> {
                if (crashRandom.nextInt(5) == 0) {
                    crashes.incrementAndGet();
                    if (step.startsWith("pull")) {
                        pullCrashes.incrementAndGet();
                    }
                    throw new IllegalStateException("injected crash at " + step);
                }
            };
            SyncOptions options = SyncOptions.defaults().withBatchSize(50);
            int failedRounds = 0;
            int rounds = 0;
            List<String> failures = new ArrayList<>();
            try {
                while ((kills.get() < 25 || crashes.get() - pullCrashes.get() < 8 || pullCrashes.get() < 8) && rounds < 600) {
                    rounds++;
                    try {
                        a.syncWith(b, options); // one direction, as `pgkit sync --from a --to b`: a's changes reach b only by its push
                    } catch (PgkitException | IllegalArgumentException | IllegalStateException e) {
                        if (e instanceof IllegalArgumentException) {
                            continue; // a store picked as its own remote
                        }
                        failedRounds++;
                        failures.add(e.getClass().getSimpleName());
                    }
                }
            } finally {
                killing.set(false);
                killer.join();
                SyncRound.faults = step -> { };
            }
            System.out.println("StoreSyncFaultTest: " + kills.get() + " backends terminated, " + crashes.get() + " crashes injected (" + pullCrashes.get() + " while pulling), " + failedRounds + " of " + rounds
                    + " rounds failed: " + failures.stream().distinct().toList());
            assertThat(kills.get()).isGreaterThanOrEqualTo(25);
            assertThat(crashes.get() - pullCrashes.get()).as("crashes while pushing").isGreaterThanOrEqualTo(8);
            assertThat(pullCrashes.get()).as("crashes while pulling").isGreaterThanOrEqualTo(8);
            // resumed without faults: converges
            boolean quiet = false;
            for (int i = 0; i < 10 && !quiet; i++) {
                quiet = a.syncWith(b, options).changedNothing();
            }
            assertThat(quiet).isTrue();
            // nothing lost
            assertThat(StoreSyncTest.contents(pgkitA, schemaA)).hasSize(2300).isEqualTo(StoreSyncTest.contents(pgkitB, schemaB));
            // nothing applied twice: each key was written once on its side and applied exactly once on the other
            assertThat(Db.scalar(pgkitB, "SELECT count(*) FROM \"" + schemaB + "\".persist_records WHERE key LIKE 'a:%' AND version <> 1")).isZero();
            assertThat(Db.scalar(pgkitB, "SELECT count(*) FROM \"" + schemaB + "\".persist_kv WHERE version <> 1")).isZero();
            assertThat(Db.scalar(pgkitA, "SELECT count(*) FROM \"" + schemaA + "\".persist_records WHERE key LIKE 'b:%' AND version <> 1")).isZero();
            assertThat(Db.scalar(pgkitB, "SELECT count(*) FROM (SELECT key FROM \"" + schemaB + "\".persist_sync_queue GROUP BY kind, key"
                    + " HAVING count(*) <> 1) d")).as("one queue entry per key on b").isZero();
            assertThat(Db.scalar(pgkitA, "SELECT count(*) FROM (SELECT key FROM \"" + schemaA + "\".persist_sync_queue GROUP BY kind, key"
                    + " HAVING count(*) <> 1) d")).as("one queue entry per key on a").isZero();
            assertThat(a.queueCounts()).isEqualTo(new QueueCounts(0, 1700 + 600, 0));
            assertThat(b.queueCounts().failed()).isZero(); // b's own 600 writes stay pending for its own pushes: a pulled them
        } finally {
            StoreTestSupport.drop(pgkitA, schemaA);
            StoreTestSupport.drop(pgkitB, schemaB);
        }
    }
}
