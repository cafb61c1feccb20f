package dev.pgkit.test;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.net.URLDecoder;
import java.net.URLEncoder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.TimeUnit;

/**
 * Test helpers for running a real npm package next to pgkit: finds {@code node} and {@code npm},
 * installs one exact package version into a scratch directory under {@code target/} (kept between
 * runs), runs a script from the test resources there, and turns the test server's URL into one
 * node-postgres reads.
 */
public final class Node {
    private static final ObjectMapper JSON = new ObjectMapper();
    private static final boolean WINDOWS = System.getProperty("os.name", "").toLowerCase(Locale.ROOT).startsWith("windows");

    private final Path directory;

    private Node(Path directory) {
        this.directory = directory;
    }

    /** The tools among {@code node} and {@code npm} that are not on the PATH (empty when both are). */
    public static List<String> missingTools() {
        List<String> missing = new ArrayList<>();
        if (!onPath(WINDOWS ? "node.exe" : "node")) {
            missing.add("node");
        }
        if (!onPath(WINDOWS ? "npm.cmd" : "npm")) {
            missing.add("npm");
        }
        return missing;
    }

    private static boolean onPath(String executable) {
        String path = System.getenv("PATH");
        if (path == null) {
            return false;
        }
        for (String dir : path.split(java.io.File.pathSeparator)) {
            if (!dir.isEmpty()) {
                Path candidate = Path.of(dir, executable);
                if (Files.isRegularFile(candidate) && Files.isExecutable(candidate)) {
                    return true;
                }
            }
        }
        return false;
    }

    /**
     * Installs {@code name@version} (exactly) into {@code target/<scratch>} of the module under test,
     * unless that version is already installed there.
     *
     * @throws AssertionError with npm's output when npm fails or takes more than five minutes
     */
    public static Node install(String scratch, String name, String version) {
        return install(scratch, Map.of(name, version));
    }

    /**
     * Installs every {@code name -> exact version} of {@code packages} into {@code target/<scratch>} of the
     * module under test, unless those versions are already installed there.
     *
     * @throws AssertionError with npm's output when npm fails or takes more than five minutes
     */
    public static Node install(String scratch, Map<String, String> packages) {
        Path dir = Path.of(System.getProperty("basedir", ".")).toAbsolutePath().resolve("target").resolve(scratch);
        String what = String.join(", ", packages.entrySet().stream().map(e -> e.getKey() + "@" + e.getValue()).sorted().toList());
        try {
            if (installed(dir, packages)) {
                return new Node(dir);
            }
            Files.createDirectories(dir);
            Map<String, Object> pkg = new LinkedHashMap<>();
            pkg.put("name", "pgkit-node-interop");
            pkg.put("private", true);
            pkg.put("dependencies", new java.util.TreeMap<>(packages));
            JSON.writerWithDefaultPrettyPrinter().writeValue(dir.resolve("package.json").toFile(), pkg);
            Path log = dir.resolve("npm-install.log");
            Process npm = new ProcessBuilder(WINDOWS ? "npm.cmd" : "npm", "install", "--no-audit", "--no-fund", "--silent")
                    .directory(dir.toFile())
                    .redirectErrorStream(true)
                    .redirectOutput(log.toFile())
                    .start();
            npm.getOutputStream().close();
            boolean finished = npm.waitFor(5, TimeUnit.MINUTES);
            if (!finished) {
                npm.destroyForcibly();
                throw new AssertionError("npm install " + what + " did not finish within 5 minutes in " + dir
                        + "; its output:\n" + Files.readString(log));
            }
            if (npm.exitValue() != 0 || !installed(dir, packages)) {
                throw new AssertionError("npm install " + what + " failed (exit " + npm.exitValue() + ") in " + dir
                        + "; its output:\n" + Files.readString(log));
            }
            return new Node(dir);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new AssertionError("interrupted while installing " + what, e);
        }
    }

    private static boolean installed(Path dir, Map<String, String> packages) throws IOException {
        for (Map.Entry<String, String> e : packages.entrySet()) {
            Path installed = dir.resolve("node_modules").resolve(e.getKey()).resolve("package.json");
            if (!Files.isRegularFile(installed) || !e.getValue().equals(JSON.readTree(installed.toFile()).path("version").asText())) {
                return false;
            }
        }
        return true;
    }

    /**
     * Starts the test resource {@code script} (copied next to {@code node_modules}) with {@code env} added to its
     * environment and returns the running process, whose standard streams the caller reads and writes.
     */
    public Process start(String script, Map<String, String> env) {
        try {
            Path target = copy(script);
            ProcessBuilder builder = new ProcessBuilder(WINDOWS ? "node.exe" : "node", target.toString())
                    .directory(directory.toFile())
                    .redirectError(ProcessBuilder.Redirect.appendTo(directory.resolve("node-stderr.log").toFile()));
            builder.environment().putAll(env);
            return builder.start();
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    private Path copy(String script) throws IOException {
        Path target = directory.resolve(Path.of(script).getFileName().toString());
        try (InputStream in = Node.class.getResourceAsStream("/" + script)) {
            if (in == null) {
                throw new AssertionError("test resource " + script + " not found");
            }
            byte[] content = in.readAllBytes();
            if (!Files.exists(target) || !java.util.Arrays.equals(Files.readAllBytes(target), content)) {
                Files.write(target, content);
            }
        }
        return target;
    }

    /** The scratch directory holding {@code node_modules}. */
    public Path directory() {
        return directory;
    }

    /**
     * Runs the test resource {@code script} (copied next to {@code node_modules} so its imports resolve)
     * with {@code stdin} as its input and {@code env} added to its environment, and returns the last
     * line of its output parsed as JSON.
     *
     * @throws AssertionError with the script's output when it fails, prints no JSON or takes over a minute
     */
    public JsonNode run(String script, Map<String, String> env, Object stdin) {
        try {
            Path target = copy(script);
            Path out = Files.createTempFile(directory, "node-out", ".txt");
            Path err = Files.createTempFile(directory, "node-err", ".txt");
            try {
                ProcessBuilder builder = new ProcessBuilder(WINDOWS ? "node.exe" : "node", target.toString())
                        .directory(directory.toFile())
                        .redirectOutput(out.toFile())
                        .redirectError(err.toFile());
                builder.environment().putAll(env);
                Process node = builder.start();
                try (var input = node.getOutputStream()) {
                    JSON.writeValue(input, stdin);
                }
                if (!node.waitFor(1, TimeUnit.MINUTES)) {
                    node.destroyForcibly();
                    throw new AssertionError("node " + script + " did not finish within a minute" + output(out, err));
                }
                String[] lines = Files.readString(out).strip().split("\n");
                if (node.exitValue() != 0 || lines[lines.length - 1].isBlank()) {
                    throw new AssertionError("node " + script + " failed (exit " + node.exitValue() + ")" + output(out, err));
                }
                return JSON.readTree(lines[lines.length - 1]);
            } finally {
                Files.deleteIfExists(out);
                Files.deleteIfExists(err);
            }
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new AssertionError("interrupted while running " + script, e);
        }
    }

    private static String output(Path out, Path err) throws IOException {
        return "\nstdout:\n" + Files.readString(out) + "\nstderr:\n" + Files.readString(err);
    }

    /**
     * A {@code postgres://} URL for node-postgres to the server of {@code url} ({@code postgres://} or
     * {@code jdbc:postgresql://}), whose sessions use {@code searchPath} as their search_path.
     */
    public static String postgresUrl(String url, String searchPath) {
        String searchPathOption = "-c search_path=" + searchPath;
        String trimmed = url.trim();
        if (trimmed.startsWith("postgres://") || trimmed.startsWith("postgresql://")) {
            int q = trimmed.indexOf('?');
            String base = q < 0 ? trimmed : trimmed.substring(0, q);
            Map<String, String> query = parseQuery(q < 0 ? "" : trimmed.substring(q + 1));
            query.merge("options", searchPathOption, (old, added) -> old + " " + added);
            return base + toQuery(query);
        }
        if (!trimmed.startsWith("jdbc:postgresql:")) {
            throw new IllegalArgumentException("not a postgres:// or jdbc:postgresql: URL: " + url);
        }
        String rest = trimmed.substring("jdbc:postgresql:".length());
        int q = rest.indexOf('?');
        Map<String, String> jdbcQuery = parseQuery(q < 0 ? "" : rest.substring(q + 1));
        String location = q < 0 ? rest : rest.substring(0, q);
        String hostPort = "localhost";
        String database = location;
        if (location.startsWith("//")) {
            int slash = location.indexOf('/', 2);
            hostPort = slash < 0 ? location.substring(2) : location.substring(2, slash);
            database = slash < 0 ? "" : location.substring(slash + 1);
            int comma = hostPort.indexOf(',');
            if (comma >= 0) {
                hostPort = hostPort.substring(0, comma); // node-postgres takes one host: the first
            }
            if (hostPort.isEmpty()) {
                hostPort = "localhost";
            }
        }
        StringBuilder out = new StringBuilder("postgres://");
        String user = jdbcQuery.get("user");
        if (user != null) {
            out.append(encode(user));
            String password = jdbcQuery.get("password");
            if (password != null) {
                out.append(':').append(encode(password));
            }
            out.append('@');
        }
        out.append(hostPort).append('/').append(encode(database));
        Map<String, String> query = new LinkedHashMap<>();
        String sslmode = jdbcQuery.get("sslmode");
        if (sslmode == null && "true".equalsIgnoreCase(jdbcQuery.get("ssl"))) {
            sslmode = "require";
        }
        if (sslmode != null) {
            query.put("sslmode", sslmode);
        }
        String options = jdbcQuery.get("options");
        query.put("options", options == null ? searchPathOption : options + " " + searchPathOption);
        return out + toQuery(query);
    }

    private static Map<String, String> parseQuery(String query) {
        Map<String, String> params = new LinkedHashMap<>();
        for (String pair : query.split("&")) {
            if (pair.isEmpty()) {
                continue;
            }
            int eq = pair.indexOf('=');
            String key = URLDecoder.decode(eq < 0 ? pair : pair.substring(0, eq), StandardCharsets.UTF_8);
            String value = eq < 0 ? "" : URLDecoder.decode(pair.substring(eq + 1), StandardCharsets.UTF_8);
            params.put(key, value);
        }
        return params;
    }

    private static String toQuery(Map<String, String> params) {
        StringBuilder out = new StringBuilder();
        for (Map.Entry<String, String> e : params.entrySet()) {
            out.append(out.length() == 0 ? '?' : '&').append(encode(e.getKey())).append('=').append(encode(e.getValue()));
        }
        return out.toString();
    }

    private static String encode(String s) {
        return URLEncoder.encode(s, StandardCharsets.UTF_8).replace("+", "%20");
    }
}
