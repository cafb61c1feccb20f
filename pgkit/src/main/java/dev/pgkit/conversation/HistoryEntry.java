package dev.pgkit.conversation;

import java.time.Instant;
import java.util.Objects;
import java.util.Optional;

/**
 * One stored row of BuilderBot's {@code history} table: a message of a conversation with a phone.
 *
 * @param id           the row's id (the table's serial)
 * @param ref          the flow step's reference
 * @param keyword      the keyword that triggered it, if any
 * @param answer       the message text
 * @param refSerialize the serialized flow reference BuilderBot resumes from
 * @param phone        the conversation's phone
 * @param optionsJson  the entry's options as JSON text, if any
 * @param createdAt    when it was saved, by the server's clock
 * @param updatedIn    when it was last updated, if ever (pgkit never updates an entry)
 * @param contactId    the contact it belongs to, if any
 */
public record HistoryEntry(long id, String ref, Optional<String> keyword, String answer, String refSerialize, String phone,
                           Optional<String> optionsJson, Instant createdAt, Optional<Instant> updatedIn, Optional<Long> contactId) {
    public HistoryEntry {
        Objects.requireNonNull(ref, "ref");
        Objects.requireNonNull(keyword, "keyword");
        Objects.requireNonNull(answer, "answer");
        Objects.requireNonNull(refSerialize, "refSerialize");
        Objects.requireNonNull(optionsJson, "optionsJson");
        Objects.requireNonNull(updatedIn, "updatedIn");
        Objects.requireNonNull(contactId, "contactId");
    }

    /** Where a page of history that ended with this entry continues (older entries). */
    public HistoryQuery.Cursor cursor() {
        return new HistoryQuery.Cursor(createdAt, id);
    }
}
