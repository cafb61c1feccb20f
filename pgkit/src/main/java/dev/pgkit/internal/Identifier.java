package dev.pgkit.internal;

import java.nio.charset.StandardCharsets;
import java.util.regex.Pattern;

/**
 * A validated SQL identifier (schema, table or channel name from configuration), always used quoted.
 * Internal to pgkit (not exported).
 */
public final class Identifier {
    private static final Pattern SAFE = Pattern.compile("[A-Za-z_][A-Za-z0-9_]*");
    private static final int MAX_BYTES = 63;

    private final String name;

    private Identifier(String name) {
        this.name = name;
    }

    /**
     * Validates {@code name} as the value of configuration option {@code option}.
     *
     * @throws IllegalArgumentException naming the option when the name is not a safe identifier
     */
    public static Identifier of(String option, String name) {
        if (name == null || name.isEmpty()) {
            throw new IllegalArgumentException(option + " must not be null or empty");
        }
        if (!SAFE.matcher(name).matches()) {
            throw new IllegalArgumentException(option + " '" + printable(name)
                    + "' is not a safe identifier: use letters, digits and underscores, not starting with a digit");
        }
        if (name.getBytes(StandardCharsets.UTF_8).length > MAX_BYTES) {
            throw new IllegalArgumentException(option + " '" + name + "' is longer than PostgreSQL's " + MAX_BYTES + "-byte identifier limit");
        }
        return new Identifier(name);
    }

    /**
     * Validates a LISTEN/NOTIFY channel name ({@code socket.io#/chat}): unlike table names, a channel may hold
     * any printable character but the double quote (it is always used quoted, and a quote would break the
     * Node adapters' {@code LISTEN "..."}), and PostgreSQL refuses names of 64 bytes or more.
     *
     * @throws IllegalArgumentException naming the option when the name is empty, too long or holds a double
     *                                  quote or a control character
     */
    public static Identifier channel(String option, String name) {
        if (name == null || name.isEmpty()) {
            throw new IllegalArgumentException(option + " must not be null or empty");
        }
        for (int i = 0; i < name.length(); i++) {
            char c = name.charAt(i);
            if (c == '"' || Character.isISOControl(c) || Character.isSurrogate(c) && !validSurrogate(name, i)) {
                throw new IllegalArgumentException(option + " '" + printable(name)
                        + "' is not a safe channel name: it must not hold double quotes, control characters or broken Unicode");
            }
        }
        int bytes = name.getBytes(StandardCharsets.UTF_8).length;
        if (bytes > MAX_BYTES) {
            throw new IllegalArgumentException(option + " '" + printable(name) + "' is " + bytes + " bytes long: PostgreSQL's channel names "
                    + "are at most " + MAX_BYTES + " bytes (shorten the prefix or the namespace)");
        }
        return new Identifier(name);
    }

    private static boolean validSurrogate(String s, int i) {
        char c = s.charAt(i);
        if (Character.isHighSurrogate(c)) {
            return i + 1 < s.length() && Character.isLowSurrogate(s.charAt(i + 1));
        }
        return i > 0 && Character.isHighSurrogate(s.charAt(i - 1));
    }

    /** The name as configured. */
    public String name() {
        return name;
    }

    /** The name double-quoted for SQL text. */
    public String quoted() {
        return '"' + name + '"'; // no name holds a double quote: both factories refuse it
    }

    /** {@code "schema"."table"}. */
    public String qualify(String table) {
        return quoted() + '.' + Identifier.of("table name", table).quoted();
    }

    private static String printable(String s) {
        String cut = s.length() > 80 ? s.substring(0, 80) + "…" : s;
        return cut.replaceAll("\\p{Cntrl}", "?");
    }

    @Override
    public String toString() {
        return name;
    }
}
