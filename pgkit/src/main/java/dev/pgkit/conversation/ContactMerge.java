package dev.pgkit.conversation;

import java.time.Instant;
import java.util.List;

/**
 * One merge of duplicate contacts, done by the migration that made phones unique (a row of
 * {@code contact_merge}): the contacts of one phone folded into its oldest.
 *
 * @param mergedAt     when the migration ran
 * @param phone        the phone
 * @param survivorId   the contact kept (the oldest, lowest id)
 * @param mergedIds    the contacts merged into it and removed, in id order
 * @param historyMoved history entries re-pointed to the survivor
 */
public record ContactMerge(Instant mergedAt, String phone, long survivorId, List<Long> mergedIds, long historyMoved) {
    public ContactMerge {
        mergedIds = List.copyOf(mergedIds);
    }
}
