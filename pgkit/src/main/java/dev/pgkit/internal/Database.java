package dev.pgkit.internal;

import com.zaxxer.hikari.HikariDataSource;
import dev.pgkit.PgkitException;
import dev.pgkit.internal.Failures.Kind;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.SQLFeatureNotSupportedException;
import java.sql.SQLWarning;
import java.sql.Statement;
import java.time.Duration;
import java.util.Set;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.LongAdder;
import javax.sql.DataSource;
import org.postgresql.core.BaseConnection;
import org.postgresql.core.TransactionState;
import org.postgresql.util.PSQLWarning;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Runs pgkit's statements on the shared pool: one borrowed connection per call, in autocommit mode
 * whatever the pool's default (a statement is its own transaction, at READ COMMITTED also on a pool
 * whose default is stricter; a lock-then-work batch brings its own {@code BEGIN ... COMMIT}), bounded in time, retried where that is safe (see {@link Sql}), and
 * errors translated into {@link PgkitException}s that name the call and keep the {@link SQLException}
 * as cause. Warnings the server sends with a statement are logged. Internal to pgkit (not exported).
 */
public final class Database {
    private static final Logger log = LoggerFactory.getLogger(Database.class);
    /** Attempts of a statement that keeps hitting serialization failures or deadlocks (each rolled back). */
    static final int MAX_SERIALIZATION_ATTEMPTS = 10;
    /** Attempts of a statement whose connection broke (only where repeating it is safe). */
    static final int MAX_CONNECTION_ATTEMPTS = 3;
    /** Connections checked and dropped while looking for a live one after a connection broke. */
    private static final int MAX_DEAD_CONNECTIONS_SKIPPED = 32;
    private static final int VALIDATION_SECONDS = 2;
    /**
     * How long after a lost connection was seen a statement that is not safe to repeat checks its pooled
     * connection first: a restart or failover kills every pooled connection, and HikariCP hands out one used
     * in the last 500 ms without checking it; such a statement would then fail with "outcome unknown" though
     * it never reached a live server. One extra round trip per such statement, only in that window.
     */
    private static final long SUSPECT_NANOS = TimeUnit.SECONDS.toNanos(10);
    /** The longest a migration may run (its lock wait included), whatever the statement timeout. */
    static final Duration MIN_TRANSACTION_TIMEOUT = Duration.ofMinutes(10);

    /** Binds the parameters of a prepared statement. */
    @FunctionalInterface
    public interface Binder {
        void bind(PreparedStatement statement) throws SQLException;
    }

    /** Reads the (last) result set of a statement. */
    @FunctionalInterface
    public interface ResultReader<T> {
        T read(ResultSet resultSet) throws SQLException;
    }

    /** Work done on one connection (inside a transaction for {@link #inTransaction}). */
    @FunctionalInterface
    public interface ConnectionWork<T> {
        T run(Connection connection) throws SQLException;
    }

    private final DataSource dataSource;
    private final String describe;
    private final Timeouts timeouts;
    private final boolean ownPool;
    private final boolean readCommittedPerStatement;
    private final Failures failures;
    private final LongAdder retries = new LongAdder();
    private volatile boolean closed;
    private volatile boolean networkTimeoutSupported = true;
    /** When a lost connection was last seen (by a statement or the listener); see {@link #connectionTrouble()}. */
    private volatile long troubleAtNanos = System.nanoTime() - SUSPECT_NANOS;

    /**
     * @param dataSource the pool
     * @param describe   {@code host:port/database as user}, for messages
     * @param timeouts   the statement bounds
     * @param ownPool    whether pgkit created the pool, whose connections then carry the timeouts and
     *                   READ COMMITTED from their start; a caller's connections get the socket timeout per call
     * @param readCommittedPerStatement whether the pool's connections default to another isolation than
     *                   READ COMMITTED, so that each single statement is sent inside its own
     *                   {@code BEGIN ISOLATION LEVEL READ COMMITTED; ...; COMMIT} (same round trip): at
     *                   REPEATABLE READ or SERIALIZABLE an upsert, a claim with SKIP LOCKED or a lock
     *                   acquisition fails with 40001 (an ERROR in the server log, then a retry) whenever it
     *                   meets a concurrent write
     */
    public Database(DataSource dataSource, String describe, Timeouts timeouts, boolean ownPool, boolean readCommittedPerStatement) {
        this.dataSource = dataSource;
        this.describe = describe;
        this.timeouts = timeouts;
        this.ownPool = ownPool;
        this.readCommittedPerStatement = readCommittedPerStatement;
        this.failures = new Failures(describe, dataSource, timeouts);
    }

    /** A runner for a pool whose connections run at READ COMMITTED (pgkit's own, or a caller's at the default). */
    public Database(DataSource dataSource, String describe, Timeouts timeouts, boolean ownPool) {
        this(dataSource, describe, timeouts, ownPool, false);
    }

    /** Whether each single statement is sent in its own READ COMMITTED transaction (see the constructor). */
    boolean readCommittedPerStatement() {
        return readCommittedPerStatement;
    }

    public DataSource dataSource() {
        return dataSource;
    }

    /** {@code host:port/database as user}, for messages. */
    public String describe() {
        return describe;
    }

    public Timeouts timeouts() {
        return timeouts;
    }

    /** How many attempts were repeated (after serialization failures or lost connections) since start. */
    public long retries() {
        return retries.sum();
    }

    /** Refuses every later call with "this Pgkit is closed"; the pool itself is closed by its owner. */
    public void close() {
        closed = true;
    }

    /**
     * Runs {@code sql} (one statement, or several separated by semicolons, sent in one round trip) and
     * reads its last result set. {@code subject} (a key, a table) names the call in errors as
     * {@code name(subject)}; kept apart so the hot path builds no strings.
     */
    public <T> T query(Sql sql, Object subject, Binder binder, ResultReader<T> reader) {
        String text = readCommittedPerStatement ? sql.readCommittedText() : sql.text();
        return run(sql.name(), subject, sql.safeToRepeat(), sql.conflictConstraints(), connection -> {
            try (PreparedStatement statement = connection.prepareStatement(text)) {
                binder.bind(statement);
                try {
                    // wrapped in BEGIN ... COMMIT, the statement's result set is still the last one
                    return readLastResult(statement, statement.execute(), reader);
                } finally {
                    logWarnings(sql.name(), subject, statement);
                }
            }
        });
    }

    /** Runs one data-modifying statement and returns its update count. */
    public int update(Sql sql, Object subject, Binder binder) {
        boolean wrapped = readCommittedPerStatement && sql.wrapsForReadCommitted();
        String text = wrapped ? sql.readCommittedText() : sql.text();
        return run(sql.name(), subject, sql.safeToRepeat(), sql.conflictConstraints(), connection -> {
            try (PreparedStatement statement = connection.prepareStatement(text)) {
                binder.bind(statement);
                try {
                    return wrapped ? secondUpdateCount(statement) : statement.executeUpdate();
                } finally {
                    logWarnings(sql.name(), subject, statement);
                }
            }
        });
    }

    /** {@link #query(Sql, Object, Binder, ResultReader)} for a statement not declared as {@link Sql}: never repeated after it may have run. */
    public <T> T query(String operation, Object subject, String sql, Binder binder, ResultReader<T> reader) {
        return query(Sql.write(operation, sql), subject, binder, reader);
    }

    /** {@link #update(Sql, Object, Binder)} for a statement not declared as {@link Sql}: never repeated after it may have run. */
    public int update(String operation, Object subject, String sql, Binder binder) {
        return update(Sql.write(operation, sql), subject, binder);
    }

    /**
     * Runs {@code work} on one pooled connection in autocommit mode. With {@code safeToRepeat} the
     * work is run again on another connection if this one breaks; either way it is run again after a
     * serialization failure, so work of several statements must be a read or safe to repeat.
     */
    public <T> T withConnection(String operation, boolean safeToRepeat, ConnectionWork<T> work) {
        return run(operation, null, safeToRepeat, Set.of(), work);
    }

    /**
     * Runs {@code work} in one READ COMMITTED transaction (whatever the pool's or role's default), rolled
     * back if it throws, with at least {@link #MIN_TRANSACTION_TIMEOUT} for its statements and lock waits
     * (a migration may wait for another instance's). Repeated after a serialization failure or a lost
     * connection, so it must be safe to repeat.
     */
    public <T> T inTransaction(String operation, ConnectionWork<T> work) {
        Duration bound = timeouts.statement().compareTo(MIN_TRANSACTION_TIMEOUT) > 0 ? timeouts.statement() : MIN_TRANSACTION_TIMEOUT;
        return run(operation, null, true, Set.of(), connection -> {
            int networkTimeout = connection.getNetworkTimeout();
            connection.setNetworkTimeout(Runnable::run, (int) bound.plus(Timeouts.SOCKET_MARGIN).toMillis());
            connection.setAutoCommit(false);
            try {
                try (Statement statement = connection.createStatement()) {
                    // first in the transaction, so no snapshot precedes it: every later statement sees the latest commits;
                    // both (and pgjdbc's BEGIN) in one round trip
                    statement.execute("SET TRANSACTION ISOLATION LEVEL READ COMMITTED; SET LOCAL statement_timeout = " + bound.toMillis());
                }
                T result = work.run(connection);
                connection.commit();
                return result;
            } catch (SQLException | RuntimeException e) {
                rollbackQuietly(connection, e);
                throw e;
            } finally {
                restore(connection, networkTimeout);
            }
        });
    }

    private static void restore(Connection connection, int networkTimeout) throws SQLException {
        if (!connection.isClosed()) {
            connection.setAutoCommit(true);
            connection.setNetworkTimeout(Runnable::run, networkTimeout);
        }
    }

    /** Logs what the server said besides the result (NOTICE, WARNING): a warning never goes unnoticed. */
    public static void logWarnings(String operation, Object subject, Statement statement) {
        SQLWarning warning;
        try {
            warning = statement.getWarnings();
        } catch (SQLException e) {
            return; // the statement is closed: its connection broke, which the caller reports
        }
        for (; warning != null; warning = warning.getNextWarning()) {
            String severity = warning instanceof PSQLWarning psql && psql.getServerErrorMessage() != null
                    ? psql.getServerErrorMessage().getSeverity() : "WARNING";
            String call = subject == null ? operation : operation + "(" + subject + ")";
            if ("NOTICE".equals(severity) || "INFO".equals(severity) || "LOG".equals(severity) || "DEBUG".equals(severity)) {
                log.info("pgkit {}: PostgreSQL {}: {} [SQLState {}]", call, severity, warning.getMessage(), warning.getSQLState());
            } else {
                log.warn("pgkit {}: PostgreSQL {}: {} [SQLState {}]", call, severity, warning.getMessage(), warning.getSQLState());
            }
        }
    }

    // ---------------------------------------------------------------- the retry loop

    /** A connection was lost somewhere (here, or the listener's): for a while, check connections before unrepeatable statements. */
    public void connectionTrouble() {
        troubleAtNanos = System.nanoTime();
    }

    private <T> T run(String operation, Object subject, boolean safeToRepeat, Set<String> conflicts, ConnectionWork<T> work) {
        ensureOpen(operation, subject);
        SQLException previous = null;
        boolean validate = !safeToRepeat && System.nanoTime() - troubleAtNanos < SUSPECT_NANOS;
        for (int attempt = 1; ; attempt++) {
            Session session = borrow(operation, subject, validate);
            SQLException failure;
            try {
                T result = work.run(session.connection);
                session.release(null);
                return result;
            } catch (SQLException e) {
                failure = e;
            } catch (RuntimeException | Error e) {
                session.release(Kind.OTHER);
                throw e;
            }
            Kind kind = Failures.classify(failure);
            session.release(kind);
            if (kind == Kind.CONNECTION_LOST || kind == Kind.CONNECTION_GONE_BEFORE_SENDING || kind == Kind.NO_ANSWER) {
                connectionTrouble();
            }
            if (previous != null) {
                failure.addSuppressed(previous);
            }
            boolean repeat = switch (kind) {
                case SERIALIZATION -> attempt < MAX_SERIALIZATION_ATTEMPTS;
                case CONNECTION_GONE_BEFORE_SENDING -> attempt < MAX_CONNECTION_ATTEMPTS;
                case CONNECTION_LOST -> safeToRepeat && attempt < MAX_CONNECTION_ATTEMPTS;
                default -> false;
            };
            if (closed) {
                throw closedException(operation, subject);
            }
            if (!repeat || !pause(kind, attempt)) {
                throw failures.statementFailed(name(operation, subject), failure, kind, safeToRepeat, attempt, conflicts);
            }
            retries.increment();
            previous = failure;
            validate = kind != Kind.SERIALIZATION; // after a break, skip other connections that died with it
        }
    }

    /** A jittered pause before the next attempt; false if interrupted (the flag is restored). */
    private static boolean pause(Kind kind, int attempt) {
        long capMillis = kind == Kind.SERIALIZATION ? Math.min(64, 1L << attempt) : 20L * attempt;
        try {
            Thread.sleep(ThreadLocalRandom.current().nextLong(1, capMillis + 1));
            return true;
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return false;
        }
    }

    private Session borrow(String operation, Object subject, boolean validate) {
        for (int skipped = 0; ; skipped++) {
            Connection connection;
            try {
                connection = dataSource.getConnection();
            } catch (SQLException e) {
                if (closed || (dataSource instanceof HikariDataSource pool && pool.isClosed())) {
                    throw closedException(operation, subject);
                }
                throw failures.borrowFailed(name(operation, subject), e);
            }
            try {
                if (validate && skipped < MAX_DEAD_CONNECTIONS_SKIPPED && !connection.isValid(VALIDATION_SECONDS)) {
                    discard(connection);
                    continue;
                }
                return new Session(connection);
            } catch (SQLException e) {
                discard(connection);
                if (skipped >= MAX_DEAD_CONNECTIONS_SKIPPED) {
                    throw failures.borrowFailed(name(operation, subject), e);
                }
            }
        }
    }

    private RuntimeException closedException(String operation, Object subject) {
        if (ownPool || closed) {
            return new IllegalStateException("this Pgkit is closed: " + name(operation, subject) + " cannot run");
        }
        return new dev.pgkit.PgkitConnectionException(name(operation, subject) + ": the DataSource given to pgkit is closed", null);
    }

    private void ensureOpen(String operation, Object subject) {
        if (closed) {
            throw closedException(operation, subject);
        }
    }

    /**
     * One borrowed connection prepared for pgkit: autocommit on (restored on release; no round trip),
     * and for a caller's pool the socket timeout; a transaction a failed batch left open is rolled back
     * before the connection goes back to the pool.
     */
    private final class Session {
        final Connection connection;
        private final boolean autoCommitWasOff;
        private final int networkTimeoutBefore;

        Session(Connection connection) throws SQLException {
            this.connection = connection;
            this.autoCommitWasOff = !connection.getAutoCommit();
            if (autoCommitWasOff) {
                connection.setAutoCommit(true); // commits nothing: a connection fresh from the pool has no transaction open
            }
            int before = -1;
            if (!ownPool && networkTimeoutSupported) {
                try {
                    int current = connection.getNetworkTimeout();
                    if (current == 0 || current > timeouts.socketMillis()) {
                        connection.setNetworkTimeout(Runnable::run, timeouts.socketMillis());
                        before = current;
                    }
                } catch (SQLFeatureNotSupportedException e) {
                    networkTimeoutSupported = false;
                    log.warn("pgkit: the DataSource's connections do not support setNetworkTimeout, so a call on a connection "
                            + "the server stopped answering is not bounded: configure socketTimeout on that pool");
                }
            }
            this.networkTimeoutBefore = before;
        }

        /** Hands the connection back (null: the work succeeded), or drops it if it broke. */
        void release(Kind failure) {
            boolean broken = failure == Kind.CONNECTION_LOST || failure == Kind.CONNECTION_GONE_BEFORE_SENDING || failure == Kind.NO_ANSWER;
            if (!broken) {
                try {
                    if (failure != null) {
                        endAbortedTransaction();
                    }
                    if (networkTimeoutBefore >= 0) {
                        connection.setNetworkTimeout(Runnable::run, networkTimeoutBefore);
                    }
                    if (autoCommitWasOff) {
                        connection.setAutoCommit(false);
                    }
                } catch (SQLException e) {
                    broken = true;
                }
            }
            if (broken) {
                discard(connection);
            } else {
                closeQuietly(connection);
            }
        }

        /** A batch that failed between its BEGIN and COMMIT leaves its transaction open (aborted): end it. */
        private void endAbortedTransaction() throws SQLException {
            if (!connection.isWrapperFor(BaseConnection.class)) {
                throw new SQLException("cannot tell whether a transaction is left open"); // so the connection is dropped
            }
            if (connection.unwrap(BaseConnection.class).getTransactionState() != TransactionState.IDLE) {
                try (Statement statement = connection.createStatement()) {
                    statement.execute("ROLLBACK");
                }
            }
        }
    }

    /** Closes a broken connection for good (the pool then replaces it), never handing it to the next caller. */
    private static void discard(Connection connection) {
        try {
            connection.abort(Runnable::run);
        } catch (SQLException | RuntimeException ignored) {
            // already closed
        }
        closeQuietly(connection);
    }

    private static void closeQuietly(Connection connection) {
        try {
            connection.close();
        } catch (SQLException | RuntimeException ignored) {
            // a broken connection fails to reset; the pool drops it
        }
    }

    /** The update count of the statement between a wrapper's BEGIN and COMMIT (all results are in by then). */
    private static int secondUpdateCount(PreparedStatement statement) throws SQLException {
        if (statement.execute() || statement.getMoreResults() || statement.getUpdateCount() == -1) {
            throw new SQLException("a result was returned when none was expected");
        }
        return statement.getUpdateCount();
    }

    private static <T> T readLastResult(PreparedStatement statement, boolean isResultSet, ResultReader<T> reader) throws SQLException {
        ResultSet last = null;
        while (true) {
            if (isResultSet) {
                if (last != null) {
                    last.close();
                }
                last = statement.getResultSet();
            } else if (statement.getUpdateCount() == -1) {
                break;
            }
            isResultSet = statement.getMoreResults(Statement.KEEP_CURRENT_RESULT);
        }
        if (last == null) {
            throw new SQLException("statement returned no result set");
        }
        try (ResultSet rs = last) {
            return reader.read(rs);
        }
    }

    private static String name(String operation, Object subject) {
        return subject == null ? operation : operation + "(" + subject + ")";
    }

    private static void rollbackQuietly(Connection connection, Exception cause) {
        try {
            connection.rollback();
        } catch (SQLException suppressed) {
            cause.addSuppressed(suppressed);
        }
    }
}
