package dev.pgkit.internal;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.catchThrowableOfType;

import dev.pgkit.test.Db;
import dev.pgkit.testing.ExpectServerLog;
import dev.pgkit.testing.PostgresExtension;
import dev.pgkit.testing.TestPostgres;
import java.io.EOFException;
import java.net.SocketTimeoutException;
import java.sql.Connection;
import java.sql.SQLException;
import java.sql.Statement;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

/** The one definition of "the connection is lost", and the classification built on it. */
@ExtendWith(PostgresExtension.class)
class FailuresTest {

    @Test
    void connectionAndSessionEndingStatesAreLost() {
        for (String state : new String[] {"08006", "08001", "08P01", "57P01", "57P02", "57P03", "57P04"}) {
            assertThat(Failures.isConnectionLost(new SQLException("x", state))).as(state).isTrue();
            assertThat(Failures.classify(new SQLException("x", state))).as(state).isEqualTo(Failures.Kind.CONNECTION_LOST);
        }
        for (String state : new String[] {"40001", "57014", "55P03", "23505", "42P01", "XX000"}) {
            assertThat(Failures.isConnectionLost(new SQLException("x", state))).as(state).isFalse();
        }
    }

    @Test
    void aNullSqlStateIsLostOnlyWithAnIoFailureAmongItsCauses() {
        assertThat(Failures.isConnectionLost(new SQLException("statement returned no result set"))).isFalse();
        assertThat(Failures.classify(new SQLException("statement returned no result set"))).isEqualTo(Failures.Kind.OTHER);

        SQLException io = new SQLException("wrapped", null, new SQLException("inner", null, new EOFException("closed by peer")));
        assertThat(Failures.isConnectionLost(io)).isTrue();
        assertThat(Failures.classify(io)).isEqualTo(Failures.Kind.CONNECTION_LOST);

        SQLException timeout = new SQLException("no answer", null, new SocketTimeoutException("Read timed out"));
        assertThat(Failures.isConnectionLost(timeout)).isTrue();
        assertThat(Failures.classify(timeout)).isEqualTo(Failures.Kind.NO_ANSWER);
    }

    @Test
    @ExpectServerLog("terminating connection due to administrator command")
    void whatPgjdbcThrowsOnATerminatedSessionIsLost(TestPostgres postgres) throws Exception {
        try (Connection victim = Db.server(postgres).admin()) {
            int pid;
            try (Statement s = victim.createStatement(); var rs = s.executeQuery("SELECT pg_backend_pid()")) {
                rs.next();
                pid = rs.getInt(1);
            }
            try (Connection admin = Db.server(postgres).admin(); var s = admin.prepareStatement("SELECT pg_terminate_backend(?)")) {
                s.setInt(1, pid);
                s.execute();
            }
            SQLException failure = catchThrowableOfType(() -> {
                try (Statement s = victim.createStatement()) {
                    s.execute("SELECT 1");
                }
            }, SQLException.class);
            assertThat((Object) failure).as("the statement on the terminated session fails").isNotNull();
            assertThat(Failures.isConnectionLost(failure)).as("%s [%s]", failure.getMessage(), failure.getSQLState()).isTrue();
            SQLException again = catchThrowableOfType(() -> {
                try (Statement s = victim.createStatement()) {
                    s.execute("SELECT 1");
                }
            }, SQLException.class);
            assertThat(Failures.isConnectionLost(again)).as("%s [%s]", again.getMessage(), again.getSQLState()).isTrue();
        }
    }
}
