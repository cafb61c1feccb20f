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

    /** The name as configured. */
    public String name() {
        return name;
    }

    /** The name double-quoted for SQL text. */
    public String quoted() {
        return '"' + name + '"';
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
