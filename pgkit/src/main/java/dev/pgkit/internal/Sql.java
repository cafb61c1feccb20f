package dev.pgkit.internal;

import java.util.Set;

/**
 * One statement an adapter sends, declared once with its name (used in errors and logs) and whether
 * it is safe to repeat. A statement safe to repeat (a read, an idempotent write) is run again after a
 * lost connection; one that is not (an enqueue, an append, a claim) fails with
 * {@link dev.pgkit.OutcomeUnknownException} once it may have reached the server, because the loss
 * can come after the commit. Every statement is run again after a serialization failure or deadlock
 * (SQLState 40001, 40P01), which rolled it back. Internal to pgkit (not exported).
 */
public final class Sql {
    private final String name;
    private final String text;
    private final boolean safeToRepeat;
    private final Set<String> conflictConstraints;
    /** Whether the text begins its own transaction ({@code BEGIN ...; ...; COMMIT}), which is then never wrapped. */
    private final boolean ownTransaction;
    /** {@link #readCommittedText()}, built on first use (racy single-check: a String is safely published). */
    private String readCommittedText;

    private Sql(String name, String text, boolean safeToRepeat, Set<String> conflictConstraints) {
        this.name = name;
        this.text = text;
        this.safeToRepeat = safeToRepeat;
        this.conflictConstraints = conflictConstraints;
        this.ownTransaction = text.stripLeading().regionMatches(true, 0, "BEGIN", 0, 5);
    }

    /** A statement that changes nothing. */
    public static Sql read(String name, String text) {
        return new Sql(name, text, true, Set.of());
    }

    /** A write whose second application changes nothing more than its first (an upsert, a delete by key). */
    public static Sql idempotentWrite(String name, String text) {
        return new Sql(name, text, true, Set.of());
    }

    /** A write that must not be applied twice (an insert of a new row, a claim, a counter step). */
    public static Sql write(String name, String text) {
        return new Sql(name, text, false, Set.of());
    }

    /**
     * The same statement, with a unique violation (23505) on one of {@code constraints} reported as a
     * {@link dev.pgkit.ConcurrencyConflictException} (another writer got there first).
     */
    public Sql conflictOn(String... constraints) {
        return new Sql(name, text, safeToRepeat, Set.of(constraints));
    }

    /** The operation's name, such as {@code state.enqueue}. */
    public String name() {
        return name;
    }

    /** The SQL text (one statement, or a batch sent in one round trip). */
    public String text() {
        return text;
    }

    /**
     * The text to send on a connection whose transactions default to another isolation than READ COMMITTED:
     * a single statement becomes {@code BEGIN ISOLATION LEVEL READ COMMITTED; <statement>; COMMIT} (one round
     * trip; the statement's own result is the second of three); a batch that brings its own {@code BEGIN}
     * is returned as it is. Built once per {@code Sql}.
     */
    String readCommittedText() {
        String wrapped = readCommittedText;
        if (wrapped == null) {
            wrapped = ownTransaction ? text : "BEGIN ISOLATION LEVEL READ COMMITTED; " + withoutFinalSemicolon(text) + "; COMMIT";
            readCommittedText = wrapped;
        }
        return wrapped;
    }

    private static String withoutFinalSemicolon(String statement) {
        String out = statement.strip();
        while (out.endsWith(";")) {
            out = out.substring(0, out.length() - 1).strip();
        }
        return out;
    }

    /** Whether {@link #readCommittedText()} wraps the statement (false for a batch with its own transaction). */
    boolean wrapsForReadCommitted() {
        return !ownTransaction;
    }

    /** Whether running it twice has the effect of running it once. */
    public boolean safeToRepeat() {
        return safeToRepeat;
    }

    Set<String> conflictConstraints() {
        return conflictConstraints;
    }

    @Override
    public String toString() {
        return name;
    }
}
