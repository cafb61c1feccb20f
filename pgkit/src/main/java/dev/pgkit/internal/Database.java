package dev.pgkit.internal;

import com.zaxxer.hikari.HikariDataSource;
import dev.pgkit.PgkitConnectionException;
import dev.pgkit.PgkitException;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.SQLTransientConnectionException;
import java.sql.Statement;
import javax.sql.DataSource;

/**
 * Runs pgkit's statements on the shared pool: one borrowed connection per call, errors translated
 * into {@link PgkitException}s that name the operation and keep the {@link SQLException} as cause.
 * Internal to pgkit (not exported).
 */
public final class Database {
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

    public Database(DataSource dataSource, String describe) {
        this.dataSource = dataSource;
        this.describe = describe;
    }

    public DataSource dataSource() {
        return dataSource;
    }

    /** {@code host:port/database as user}, for messages. */
    public String describe() {
        return describe;
    }

    /**
     * Runs {@code sql} (one statement, or several separated by semicolons that then run as one
     * implicit transaction in a single round trip) and reads its last result set.
     */
    public <T> T query(String operation, Object subject, String sql, Binder binder, ResultReader<T> reader) {
        return withConnection(operation, subject, connection -> {
            try (PreparedStatement statement = connection.prepareStatement(sql)) {
                binder.bind(statement);
                boolean isResultSet = statement.execute();
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
        });
    }

    /** Runs one data-modifying statement and returns its update count. */
    public int update(String operation, Object subject, String sql, Binder binder) {
        return withConnection(operation, subject, connection -> {
            try (PreparedStatement statement = connection.prepareStatement(sql)) {
                binder.bind(statement);
                return statement.executeUpdate();
            }
        });
    }

    /**
     * Runs {@code work} on one pooled connection, committing afterwards if the pool hands out
     * non-autocommit connections. A pooled connection the server had already terminated (a restart,
     * {@code pg_terminate_backend}) is replaced and the work run once more: the server's termination
     * notice proves the statement never ran.
     */
    public <T> T withConnection(String operation, ConnectionWork<T> work) {
        return withConnection(operation, null, work);
    }

    /**
     * Like {@link #withConnection(String, ConnectionWork)}; errors name the operation and its subject
     * (a key, a table) as {@code operation(subject)}. Kept apart so the hot path builds no strings.
     */
    public <T> T withConnection(String operation, Object subject, ConnectionWork<T> work) {
        try {
            return runOnce(work);
        } catch (SQLException e) {
            if (!wasTerminatedBeforeRunning(e)) {
                throw translate(name(operation, subject), e);
            }
            if (dataSource instanceof HikariDataSource pool && pool.getHikariPoolMXBean() != null) {
                pool.getHikariPoolMXBean().softEvictConnections(); // after a restart every idle connection is dead too
            }
            try {
                return runOnce(work);
            } catch (SQLException again) {
                again.addSuppressed(e);
                throw translate(name(operation, subject), again);
            }
        }
    }

    private static String name(String operation, Object subject) {
        return subject == null ? operation : operation + "(" + subject + ")";
    }

    private <T> T runOnce(ConnectionWork<T> work) throws SQLException {
        try (Connection connection = dataSource.getConnection()) {
            return connection.getAutoCommit() ? work.run(connection) : commitOrRollback(connection, work);
        }
    }

    private static <T> T commitOrRollback(Connection connection, ConnectionWork<T> work) throws SQLException {
        try {
            T result = work.run(connection);
            connection.commit();
            return result;
        } catch (SQLException | RuntimeException e) {
            rollbackQuietly(connection, e);
            throw e;
        }
    }

    /** The server ended this session (admin shutdown, crash recovery, terminate) before it read our statement. */
    static boolean wasTerminatedBeforeRunning(SQLException e) {
        String state = e.getSQLState();
        return state != null && (state.equals("57P01") || state.equals("57P02") || state.equals("57P03"));
    }

    /** Runs {@code work} in one transaction on one connection, rolled back if it throws. */
    public <T> T inTransaction(String operation, ConnectionWork<T> work) {
        try (Connection connection = dataSource.getConnection()) {
            boolean autoCommit = connection.getAutoCommit();
            connection.setAutoCommit(false);
            try {
                return commitOrRollback(connection, work);
            } finally {
                connection.setAutoCommit(autoCommit);
            }
        } catch (SQLException e) {
            throw translate(operation, e);
        }
    }

    /** Translates a driver exception into pgkit's hierarchy, naming the operation and the server. */
    public PgkitException translate(String operation, SQLException e) {
        String state = e.getSQLState();
        String detail = e.getMessage() + (state != null ? " [SQLState " + state + "]" : "");
        if (isConnectionProblem(e)) {
            return new PgkitConnectionException(operation + ": lost or could not open a connection to PostgreSQL at "
                    + describe + ": " + detail, e);
        }
        return new PgkitException(operation + " failed: " + detail, e);
    }

    static boolean isConnectionProblem(SQLException e) {
        String state = e.getSQLState();
        return e instanceof SQLTransientConnectionException
                || (state != null && (state.startsWith("08") || state.equals("57P01") || state.equals("57P02") || state.equals("57P03")));
    }

    private static void rollbackQuietly(Connection connection, Exception cause) {
        try {
            connection.rollback();
        } catch (SQLException suppressed) {
            cause.addSuppressed(suppressed);
        }
    }
}
