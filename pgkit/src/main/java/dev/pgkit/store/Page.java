package dev.pgkit.store;

import java.util.List;
import java.util.Optional;

/**
 * One page of a listing in key order, and the cursor of the next page (empty on the last page). A cursor
 * is opaque; pass it back to the same listing to continue after the last item of this page.
 */
public record Page<T>(List<T> items, Optional<String> nextCursor) {
    public Page {
        items = List.copyOf(items);
    }
}
