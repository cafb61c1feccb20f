package dev.pgkit;

import java.util.Objects;

/**
 * A position in one of pgkit's ordered logs (the journal's tag queries, a store's event streams, durable
 * broadcast): the id of the transaction that wrote an entry and the entry's sequence number. Entries are
 * delivered in offset order, and an entry is delivered only once every transaction that could still
 * commit an entry before it has ended, so resuming from a stored offset never skips an entry that
 * committed late and never repeats one. Store it as {@link #toString()} and read it back with
 * {@link #parse(String)}.
 *
 * @param transaction the writing transaction's id ({@code xid8}), at least 0
 * @param sequence    the entry's sequence number within the log, at least 0
 */
public record LogOffset(long transaction, long sequence) implements Comparable<LogOffset> {
    /** Before the first entry: a query from here reads the log from its beginning. */
    public static final LogOffset START = new LogOffset(0, 0);

    public LogOffset {
        if (transaction < 0 || sequence < 0) {
            throw new IllegalArgumentException("a log offset's parts are not negative, was " + transaction + ":" + sequence);
        }
    }

    /**
     * Reads an offset written by {@link #toString()}.
     *
     * @throws IllegalArgumentException if {@code text} is not {@code transaction:sequence}
     */
    public static LogOffset parse(String text) {
        Objects.requireNonNull(text, "text");
        int colon = text.indexOf(':');
        try {
            if (colon > 0 && colon < text.length() - 1) {
                return new LogOffset(Long.parseLong(text.substring(0, colon)), Long.parseLong(text.substring(colon + 1)));
            }
        } catch (NumberFormatException e) {
            // reported below
        }
        String shown = text.length() > 60 ? text.substring(0, 60) + "…" : text;
        throw new IllegalArgumentException("not a log offset (transaction:sequence): '" + shown + "'");
    }

    @Override
    public int compareTo(LogOffset other) {
        int byTransaction = Long.compare(transaction, other.transaction);
        return byTransaction != 0 ? byTransaction : Long.compare(sequence, other.sequence);
    }

    /** {@code transaction:sequence}, what {@link #parse(String)} reads. */
    @Override
    public String toString() {
        return transaction + ":" + sequence;
    }
}
