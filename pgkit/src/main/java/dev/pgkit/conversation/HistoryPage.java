package dev.pgkit.conversation;

import java.util.List;
import java.util.Objects;
import java.util.Optional;

/**
 * One page of a phone's history, newest first.
 *
 * @param entries the entries, newest first
 * @param next    the query for the following (older) page, when this page was full; empty at the end
 */
public record HistoryPage(List<HistoryEntry> entries, Optional<HistoryQuery> next) {
    public HistoryPage {
        entries = List.copyOf(entries);
        Objects.requireNonNull(next, "next");
    }
}
