package dev.pgkit.testing;

import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * One message of a PostgreSQL server log ({@code log_destination = stderr}, any {@code log_line_prefix}):
 * its primary line and the DETAIL, HINT, CONTEXT, QUERY and STATEMENT lines that follow it.
 *
 * @param server   which server logged it (the name of its {@link ServerLogWatch})
 * @param severity the primary line's level: {@code LOG}, {@code WARNING}, {@code ERROR}, ...
 * @param prefix   what the primary line has before its level ({@code log_line_prefix})
 * @param message  the primary line's text after {@code LEVEL:  }
 * @param text     every line of the message, as logged
 */
record ServerLogEntry(String server, String severity, String prefix, String message, String text) {
    /** The levels the check fails a test for. */
    static final Set<String> SEVERE = Set.of("WARNING", "ERROR", "FATAL", "PANIC");
    private static final Set<String> CONTINUATIONS = Set.of("DETAIL", "HINT", "QUERY", "CONTEXT", "LOCATION", "STATEMENT");
    /** PostgreSQL writes {@code LEVEL:} and two spaces after the prefix (elog.c, error_severity). */
    private static final Pattern LEVEL = Pattern.compile(
            "\\b(DEBUG[1-5]|LOG|INFO|NOTICE|WARNING|ERROR|FATAL|PANIC|DETAIL|HINT|QUERY|CONTEXT|LOCATION|STATEMENT):  ");

    boolean isSevere() {
        return SEVERE.contains(severity);
    }

    /**
     * Splits log text into messages. A line with a level starts a message unless that level is a
     * continuation (DETAIL, HINT, ...); lines without one (a multi-line statement) continue the current
     * message. Continuations before the first message of {@code text} are dropped.
     */
    static List<ServerLogEntry> parse(String server, String text) {
        List<ServerLogEntry> entries = new ArrayList<>();
        String severity = null;
        String prefix = null;
        String message = null;
        StringBuilder lines = new StringBuilder();
        for (String line : text.split("\n")) {
            if (line.isEmpty()) {
                continue;
            }
            Matcher m = LEVEL.matcher(line);
            boolean starts = m.find() && !CONTINUATIONS.contains(m.group(1));
            if (starts) {
                if (severity != null) {
                    entries.add(new ServerLogEntry(server, severity, prefix, message, lines.toString()));
                }
                severity = m.group(1);
                prefix = line.substring(0, m.start());
                message = line.substring(m.end());
                lines.setLength(0);
                lines.append(line);
            } else if (severity != null) {
                lines.append('\n').append(line);
            }
        }
        if (severity != null) {
            entries.add(new ServerLogEntry(server, severity, prefix, message, lines.toString()));
        }
        return entries;
    }
}
