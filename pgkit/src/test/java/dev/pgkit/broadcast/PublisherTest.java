package dev.pgkit.broadcast;

import static org.assertj.core.api.Assertions.assertThat;

import dev.pgkit.Pgkit;
import dev.pgkit.PgkitException;
import dev.pgkit.internal.Database;
import dev.pgkit.internal.Identifier;
import dev.pgkit.internal.Timeouts;
import dev.pgkit.test.Db;
import dev.pgkit.testing.PostgresExtension;
import dev.pgkit.testing.TestPostgres;
import java.sql.Connection;
import java.sql.Statement;
import java.time.Duration;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.Executor;
import java.util.concurrent.Executors;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicReference;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import org.postgresql.PGConnection;

/**
 * The group-commit sender's rarer paths, with a batch held in the server (its attachment table locked): a waiting
 * caller interrupted before its message was taken withdraws it; a sender that stops sending for others while no
 * pool thread can take over (closing) leaves the sending to a waiting caller, which is woken for it.
 */
@ExtendWith(PostgresExtension.class)
class PublisherTest {
    static Pgkit pgkit;
    static String schema;
    static Database database;
    static BroadcastSql sql;

    @BeforeAll
    static void setUp(TestPostgres server) {
        schema = TestPostgres.uniqueName("publisher");
        pgkit = Db.pgkit(server, schema);
        pgkit.broadcast(); // its tables
        database = new Database(pgkit.dataSource(), "test", Timeouts.of(Duration.ofSeconds(30)), false);
        sql = new BroadcastSql(Identifier.of("schema", schema), Identifier.of("tableName", BroadcastSchema.ATTACHMENTS));
    }

    @AfterAll
    static void tearDown() {
        Db.dropAndClose(pgkit);
    }

    static Outgoing message(String text) {
        return Outgoing.of("publisher_test", Wire.SERVER_SIDE_EMIT, Wire.NODES.objectNode().put("text", text), "uid", "/", 8000);
    }

    /** A message whose batch writes the attachment table, so waits while the test holds its lock. */
    static Outgoing spilled() {
        return message("s".repeat(9_000));
    }

    /** Holds the attachment table's lock until closed; {@link #pid} is the holder's backend. */
    static final class TableLock implements AutoCloseable {
        final Connection connection;
        final int pid;

        TableLock() throws Exception {
            connection = pgkit.dataSource().getConnection();
            connection.setAutoCommit(false);
            try (Statement s = connection.createStatement()) {
                s.execute("LOCK TABLE \"" + schema + "\"." + BroadcastSchema.ATTACHMENTS + " IN ACCESS EXCLUSIVE MODE");
            }
            pid = connection.unwrap(PGConnection.class).getBackendPID();
        }

        @Override
        public void close() throws java.sql.SQLException {
            if (!connection.isClosed()) {
                connection.rollback();
                connection.close();
            }
        }
    }

    static void awaitParked(Thread thread) throws InterruptedException {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
        while (thread.getState() != Thread.State.WAITING) {
            if (System.nanoTime() > deadline) {
                throw new AssertionError(thread.getName() + " never waited: " + thread.getState());
            }
            Thread.sleep(5);
        }
    }

    @Test
    @SuppressWarnings("try") // the lock is released inside its block, on purpose
    void aCallerInterruptedWhileItsMessageIsQueuedWithdrawsIt() throws Exception {
        ExecutorService pool = Executors.newCachedThreadPool();
        Publisher publisher = new Publisher(database, sql, false, pool);
        AtomicReference<Throwable> outcome = new AtomicReference<>();
        AtomicReference<Boolean> flagKept = new AtomicReference<>();
        try (TableLock lock = new TableLock()) {
            var first = pool.submit(() -> publisher.send(spilled()));
            Db.awaitSessionsBlockedBy(pgkit, lock.pid, 1);
            Thread second = new Thread(() -> {
                try {
                    publisher.send(message("withdrawn"));
                } catch (Throwable t) {
                    outcome.set(t);
                    flagKept.set(Thread.currentThread().isInterrupted());
                }
            }, "second-sender");
            second.start();
            awaitParked(second);
            second.interrupt();
            second.join(10_000);
            assertThat(outcome.get()).isInstanceOf(PgkitException.class).hasMessageContaining("interrupted before the message was sent");
            assertThat(flagKept.get()).as("the interrupt is kept").isTrue();
            lock.close();
            first.get(10, TimeUnit.SECONDS);
        } finally {
            pool.shutdownNow();
        }
        assertThat(publisher.notifications()).as("only the first message was sent").isEqualTo(1);
    }

    @Test
    void whenNoPoolThreadCanTakeTheSendingOverAWaitingCallerIsWokenToDoIt() throws Exception {
        Executor closing = task -> {
            throw new RejectedExecutionException("closing");
        };
        Publisher publisher = new Publisher(database, sql, false, closing);
        AtomicReference<Throwable> firstOutcome = new AtomicReference<>();
        AtomicReference<Throwable> secondOutcome = new AtomicReference<>();
        Thread first = new Thread(() -> {
            try {
                publisher.send(spilled());
            } catch (Throwable t) {
                firstOutcome.set(t);
            }
        }, "first-sender");
        Thread second = new Thread(() -> {
            try {
                publisher.send(message("taken over"));
            } catch (Throwable t) {
                secondOutcome.set(t);
            }
        }, "second-sender");
        CompletableFuture<Void> queued;
        try (TableLock lock = new TableLock()) {
            first.start();
            Db.awaitSessionsBlockedBy(pgkit, lock.pid, 1);
            second.start();
            awaitParked(second);
            queued = publisher.sendAsync(message("async"));
            first.interrupt(); // seen once its batch is back: it stops sending for others and hands the sending over
        }
        first.join(10_000);
        second.join(10_000);
        assertThat(first.isAlive() || second.isAlive()).as("nobody hangs").isFalse();
        assertThat(firstOutcome.get()).as("the first message was sent").isNull();
        assertThat(secondOutcome.get()).as("the waiting caller sent its own message").isNull();
        assertThat(queued).isCompletedExceptionally();
        try {
            queued.get();
        } catch (ExecutionException e) {
            assertThat(e.getCause()).hasMessageContaining("no pgkit thread could send the message").hasRootCauseMessage("closing");
        }
        assertThat(publisher.notifications()).isEqualTo(2);
    }
}
