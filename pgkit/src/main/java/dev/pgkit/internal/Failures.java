package dev.pgkit.internal;

import com.zaxxer.hikari.HikariDataSource;
import dev.pgkit.ConcurrencyConflictException;
import dev.pgkit.OutcomeUnknownException;
import dev.pgkit.PgkitConnectionException;
import dev.pgkit.PgkitException;
import dev.pgkit.PgkitTimeoutException;
import dev.pgkit.SchemaNotReadyException;
import java.io.IOException;
import java.net.SocketTimeoutException;
import java.sql.SQLException;
import java.sql.SQLTransientConnectionException;
import java.util.List;
import java.util.Set;
import javax.sql.DataSource;
import org.postgresql.util.PSQLException;
import org.postgresql.util.ServerErrorMessage;

/**
 * The one place where driver and server errors (SQLStates) are classified and turned into pgkit's
 * exceptions, with messages that name the call, the server and what to do. Internal to pgkit (not exported).
 */
public final class Failures {
    /** What went wrong, as far as retrying and reporting are concerned. */
    enum Kind {
        /** 40001, 40P01: the transaction was rolled back; running it again is always safe. */
        SERIALIZATION,
        /** 08003, 57P05: the session was gone before the statement reached the server (it never ran). */
        CONNECTION_GONE_BEFORE_SENDING,
        /** 08xxx, 57Pxx, or an I/O failure ({@link #isConnectionLost}): the connection broke; the statement may have run, even committed. */
        CONNECTION_LOST,
        /** The client's socket timeout: no answer in time; the statement may have run. */
        NO_ANSWER,
        /** 57014, 55P03: the server cancelled the statement (statement_timeout, lock_timeout, a cancel); rolled back. */
        CANCELLED,
        /** 23505. */
        UNIQUE_VIOLATION,
        /** 42P01, 42703, 3F000, 42501: a table, column or schema is missing, or a privilege. */
        SCHEMA,
        OTHER
    }

    private final String describe;
    private final DataSource dataSource;
    private final Timeouts timeouts;

    Failures(String describe, DataSource dataSource, Timeouts timeouts) {
        this.describe = describe;
        this.dataSource = dataSource;
        this.timeouts = timeouts;
    }

    static Kind classify(SQLException e) {
        if (hasCause(e, SocketTimeoutException.class)) {
            return Kind.NO_ANSWER;
        }
        String state = e.getSQLState();
        if (state != null) {
            switch (state) {
                case "40001", "40P01":
                    return Kind.SERIALIZATION;
                case "08003", "57P05":
                    return Kind.CONNECTION_GONE_BEFORE_SENDING;
                case "57014", "55P03":
                    return Kind.CANCELLED;
                case "23505":
                    return Kind.UNIQUE_VIOLATION;
                case "42P01", "42703", "3F000", "42501":
                    return Kind.SCHEMA;
                default:
                    break;
            }
        }
        return isConnectionLost(e) ? Kind.CONNECTION_LOST : Kind.OTHER;
    }

    /**
     * Whether {@code e} means the connection (the server session) is gone, so it must be dropped and
     * whatever was sent on it may or may not have run. True for SQLState class 08 (connection exception)
     * and 57P (the server ended the session: shutdown, crash, not accepting connections, database
     * dropped, idle timeout). A {@code null} SQLState counts as lost only when an {@link IOException} is
     * among the causes (the driver's or the pool's wrapped I/O failure, a socket timeout included); a
     * {@code null} SQLState without one is a client-side error (a misuse, an unexpected result), on a
     * connection that still works. The one definition for pgkit: use it wherever a failure must be sorted
     * into "reconnect" and "the statement failed".
     */
    public static boolean isConnectionLost(SQLException e) {
        String state = e.getSQLState();
        if (state == null) {
            return hasCause(e, IOException.class);
        }
        return state.startsWith("08") || state.startsWith("57P");
    }

    /** A failure to borrow a connection: nothing was sent. */
    PgkitException borrowFailed(String call, SQLException e) {
        if (e instanceof SQLTransientConnectionException && e.getCause() == null && dataSource instanceof HikariDataSource pool) {
            return new PgkitConnectionException(call + ": the connection pool is exhausted: all " + pool.getMaximumPoolSize()
                    + " connections of pool '" + pool.getPoolName() + "' stayed in use for the whole acquireTimeout ("
                    + pool.getConnectionTimeout() + " ms). Raise poolSize or acquireTimeout, or make callers hold connections "
                    + "for less time (nothing was sent to PostgreSQL at " + describe + ")", e);
        }
        if (e instanceof SQLTransientConnectionException && e.getCause() == null) {
            return new PgkitConnectionException(call + ": no connection became free in the DataSource in time (the pool is "
                    + "exhausted; nothing was sent to PostgreSQL at " + describe + "): " + e.getMessage(), e);
        }
        Throwable root = e.getCause() instanceof SQLException cause ? cause : e;
        return new PgkitConnectionException(call + ": cannot open a connection to PostgreSQL at " + describe + ": "
                + detail(root), e);
    }

    /** The failure of a statement (or transaction) that was handed to the server. */
    PgkitException statementFailed(String call, SQLException e, Kind kind, boolean safeToRepeat, int attempts, Set<String> conflicts) {
        return switch (kind) {
            case SERIALIZATION -> new PgkitException(call + ": could not be serialized with concurrent transactions in " + attempts
                    + " attempts; each was rolled back, nothing was applied: " + detail(e), e);
            case CONNECTION_GONE_BEFORE_SENDING -> new PgkitConnectionException(call + ": the connection to PostgreSQL at "
                    + describe + " was closed before the statement was sent (" + attempts + " attempts); nothing was applied: " + detail(e), e);
            case CONNECTION_LOST -> safeToRepeat
                    ? new PgkitConnectionException(call + ": lost the connection to PostgreSQL at " + describe + " (" + attempts
                            + " attempts): " + detail(e), e)
                    : outcomeUnknown(call, "the connection to PostgreSQL at " + describe + " broke after the statement was sent", e);
            case NO_ANSWER -> safeToRepeat
                    ? new PgkitTimeoutException(call + ": no answer from PostgreSQL at " + describe + " within "
                            + timeouts.socket().toSeconds() + " s (statementTimeout " + timeouts.statement().toMillis()
                            + " ms plus a margin): the server or the network is stalled; the connection was closed", e)
                    : outcomeUnknown(call, "no answer came from PostgreSQL at " + describe + " within " + timeouts.socket().toSeconds()
                            + " s (statementTimeout " + timeouts.statement().toMillis() + " ms plus a margin)", e);
            case CANCELLED -> new PgkitTimeoutException(call + ": cancelled by PostgreSQL at " + describe
                    + ("55P03".equals(e.getSQLState()) ? " after lock_timeout" : " after statementTimeout ("
                    + timeouts.statement().toMillis() + " ms) or by pg_cancel_backend")
                    + "; it was rolled back, nothing was applied: " + detail(e), e);
            case UNIQUE_VIOLATION -> {
                String constraint = constraint(e);
                yield constraint != null && conflicts.contains(constraint)
                        ? new ConcurrencyConflictException(call + ": another writer got there first (unique constraint "
                                + constraint + "); nothing was applied: " + detail(e), constraint, e)
                        : new PgkitException(call + " failed: " + detail(e), e);
            }
            case SCHEMA -> new SchemaNotReadyException(call + " failed: " + detail(e) + ". pgkit's tables in " + describe
                    + " are missing or changed, or the role lacks a privilege: run `pgkit migrate` as the schema's owner"
                    + " (or apply `pgkit schema` output) and grant the runtime role SELECT, INSERT, UPDATE, DELETE on pgkit's"
                    + " tables and USAGE on its sequences", List.of(e.getMessage()), e);
            case OTHER -> new PgkitException(call + " failed: " + detail(e), e);
        };
    }

    private static OutcomeUnknownException outcomeUnknown(String call, String what, SQLException e) {
        return new OutcomeUnknownException(call + ": " + what + ", so it may or may not have been applied. pgkit does not repeat it"
                + " (it is not safe to repeat); check its effect before trying again: " + detail(e), e);
    }

    static String detail(Throwable e) {
        String state = e instanceof SQLException sql ? sql.getSQLState() : null;
        return e.getMessage() + (state != null ? " [SQLState " + state + "]" : "");
    }

    private static String constraint(SQLException e) {
        if (e instanceof PSQLException psql) {
            ServerErrorMessage message = psql.getServerErrorMessage();
            return message == null ? null : message.getConstraint();
        }
        return null;
    }

    private static boolean hasCause(Throwable e, Class<? extends Throwable> type) {
        for (Throwable t = e; t != null; t = t.getCause()) {
            if (type.isInstance(t)) {
                return true;
            }
        }
        return false;
    }
}
