package dev.pgkit.testing;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.sql.Connection;
import java.sql.SQLException;
import java.util.Properties;

/**
 * Follows the log file of an {@link EmbeddedPostgres}. When the server is closed, what is left of
 * its log is kept (its data directory, log included, is deleted) until the next read.
 */
final class EmbeddedLogWatch extends ServerLogWatch {
    private final EmbeddedPostgres server;
    private final Path file;
    private long offset;
    private byte[] leftAtClose;

    EmbeddedLogWatch(EmbeddedPostgres server) {
        super(server.name());
        this.server = server;
        this.file = server.logFile();
    }

    boolean watches(EmbeddedPostgres candidate) {
        return server == candidate;
    }

    /** Keeps what the log holds beyond what has been read, before the server's directory is deleted. */
    void serverClosing() {
        closeFenceConnection();
        try {
            leftAtClose = readFile();
        } catch (IOException e) {
            leftAtClose = ("could not read the log of server '" + name() + "' before it was deleted: " + e + "\n").getBytes(java.nio.charset.StandardCharsets.UTF_8);
        }
    }

    @Override
    boolean isFinished() {
        return leftAtClose != null && leftAtClose.length == 0;
    }

    @Override
    byte[] unread() throws IOException {
        return leftAtClose != null ? leftAtClose : readFile();
    }

    @Override
    void consume(int count) {
        if (leftAtClose != null) {
            leftAtClose = java.util.Arrays.copyOfRange(leftAtClose, count, leftAtClose.length);
        } else {
            offset += count;
        }
    }

    @Override
    Connection connectForFence() throws SQLException {
        if (leftAtClose != null || !server.isRunning()) {
            return null;
        }
        return connect(server.jdbcUrl(), new Properties());
    }

    private byte[] readFile() throws IOException {
        if (!Files.exists(file)) {
            return new byte[0];
        }
        try (FileChannel channel = FileChannel.open(file, StandardOpenOption.READ)) {
            long size = channel.size();
            if (size <= offset) {
                return new byte[0];
            }
            ByteBuffer buffer = ByteBuffer.allocate(Math.toIntExact(size - offset));
            while (buffer.hasRemaining() && channel.read(buffer, offset + buffer.position()) >= 0) {
                // read to the size seen above
            }
            return buffer.array();
        }
    }
}
