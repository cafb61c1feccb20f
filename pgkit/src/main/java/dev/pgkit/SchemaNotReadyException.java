package dev.pgkit;

import java.util.List;

/**
 * pgkit's tables are missing or the role lacks privileges on them, and schema auto-creation is off.
 * {@link #problems()} lists each missing object or privilege; the message says how to fix them.
 */
public class SchemaNotReadyException extends PgkitException {
    private final List<String> problems;

    public SchemaNotReadyException(String message, List<String> problems, Throwable cause) {
        super(message, cause);
        this.problems = List.copyOf(problems);
    }

    /** One line per missing table, sequence or privilege. */
    public List<String> problems() {
        return problems;
    }
}
