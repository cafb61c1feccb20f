package dev.pgkit.testing;

import java.io.ByteArrayOutputStream;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.Optional;
import java.util.Properties;

/**
 * Follows the log of a server named by {@code PGKIT_TEST_URL}, through SQL: the file that
 * {@code pg_current_logfile('stderr')} names, read with {@code pg_read_binary_file}. That needs the
 * logging collector on and a role that may read server files (a superuser, or a member of
 * {@code pg_read_server_files}); {@link #open} says why not otherwise.
 */
final class RemoteLogWatch extends ServerLogWatch {
    private static final int MAX_READ = 64 << 20;

    private final String jdbcUrl;
    private final Properties properties;
    private final Connection reader;
    private String file;
    private long offset;
    private byte[] carried = new byte[0]; // the end of a file the server rotated away from, not yet consumed

    private RemoteLogWatch(String name, String jdbcUrl, Properties properties, Connection reader, String file, long offset) {
        super(name);
        this.jdbcUrl = jdbcUrl;
        this.properties = properties;
        this.reader = reader;
        this.file = file;
        this.offset = offset;
    }

    /**
     * A watch from the current end of the server's log.
     *
     * @throws IllegalStateException saying why this server's log cannot be read
     */
    static RemoteLogWatch open(String name, String jdbcUrl, Properties properties) {
        Connection reader = null;
        try {
            reader = connect(jdbcUrl, properties);
            String file = currentFile(reader).orElseThrow(() -> new IllegalStateException(
                    "the server writes no stderr log file that SQL can name (logging_collector is off, or log_destination lacks stderr)"));
            long size = size(reader, file);
            RemoteLogWatch watch = new RemoteLogWatch(name, jdbcUrl, properties, reader, file, size);
            watch.readThroughFence(); // proves the log is readable and that LOG lines reach it
            return watch;
        } catch (SQLException e) {
            close(reader);
            throw new IllegalStateException("cannot read the server's log file over SQL (needs a superuser or pg_read_server_files): "
                    + e.getMessage(), e);
        } catch (IllegalStateException e) {
            close(reader);
            throw e;
        } catch (Exception e) {
            close(reader);
            throw new IllegalStateException("cannot follow the server's log: " + e, e);
        }
    }

    @Override
    byte[] unread() throws SQLException {
        String current = currentFile(reader).orElse(file);
        if (!current.equals(file)) {
            byte[] rest = read(file, offset); // the server rotated its log: finish the old file first
            carried = concat(carried, rest);
            file = current;
            offset = 0;
        }
        return concat(carried, read(file, offset));
    }

    @Override
    void consume(int count) {
        if (count <= carried.length) {
            carried = java.util.Arrays.copyOfRange(carried, count, carried.length);
        } else {
            offset += count - carried.length;
            carried = new byte[0];
        }
    }

    @Override
    Connection connectForFence() throws SQLException {
        return connect(jdbcUrl, properties);
    }

    private byte[] read(String path, long from) throws SQLException {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        long size = size(reader, path);
        if (size <= from) {
            return new byte[0];
        }
        try (PreparedStatement s = reader.prepareStatement("SELECT pg_read_binary_file(?, ?, ?, true)")) {
            s.setString(1, path);
            s.setLong(2, from);
            s.setLong(3, Math.min(size - from, MAX_READ));
            try (ResultSet rs = s.executeQuery()) {
                if (rs.next() && rs.getBytes(1) != null) {
                    out.writeBytes(rs.getBytes(1));
                }
            }
        }
        return out.toByteArray();
    }

    private static Optional<String> currentFile(Connection c) throws SQLException {
        try (Statement s = c.createStatement(); ResultSet rs = s.executeQuery("SELECT pg_current_logfile('stderr')")) {
            return rs.next() ? Optional.ofNullable(rs.getString(1)) : Optional.empty();
        }
    }

    private static long size(Connection c, String path) throws SQLException {
        try (PreparedStatement s = c.prepareStatement("SELECT size FROM pg_stat_file(?, true)")) {
            s.setString(1, path);
            try (ResultSet rs = s.executeQuery()) {
                return rs.next() ? rs.getLong(1) : 0;
            }
        }
    }

    private static byte[] concat(byte[] a, byte[] b) {
        if (a.length == 0) {
            return b;
        }
        byte[] out = java.util.Arrays.copyOf(a, a.length + b.length);
        System.arraycopy(b, 0, out, a.length, b.length);
        return out;
    }

    private static void close(Connection c) {
        if (c != null) {
            try {
                c.close();
            } catch (SQLException ignored) {
                // nothing to do
            }
        }
    }
}
