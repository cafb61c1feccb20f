package dev.pgkit.conversation;

import dev.pgkit.internal.Checks;
import java.util.Optional;

/**
 * A history entry to {@linkplain ConversationStore#save save}: what BuilderBot's {@code save(ctx)} takes
 * ({@code ref}, {@code keyword}, {@code answer}, {@code refSerialize}, {@code from}, {@code options}).
 * Checked when built: a bad value is rejected here, before anything reaches the database.
 *
 * @param phone        the conversation's phone (BuilderBot's {@code from}); 1 to 255 characters
 * @param ref          the flow step's reference; 1 to 255 characters
 * @param keyword      the keyword that triggered it, if any; at most 255 characters
 * @param answer       the message text; at most {@link ConversationStore#MAX_TEXT_LENGTH} characters
 * @param refSerialize the serialized flow reference; at most {@link ConversationStore#MAX_TEXT_LENGTH} characters
 * @param options      the entry's options (a map, a record, any value the codec encodes), if any
 */
public record NewHistoryEntry(String phone, String ref, Optional<String> keyword, String answer, String refSerialize,
                              Optional<Object> options) {
    /** @throws IllegalArgumentException naming the field at fault */
    public NewHistoryEntry {
        Check.phone(phone);
        Check.varchar("ref", ref);
        Checks.notNull("keyword", keyword);
        keyword.ifPresent(k -> Check.varcharMaybeEmpty("keyword", k));
        Check.text("answer", answer);
        Check.text("refSerialize", refSerialize);
        Checks.notNull("options", options);
    }

    /** An entry without keyword and options. */
    public static NewHistoryEntry of(String phone, String ref, String answer, String refSerialize) {
        return new NewHistoryEntry(phone, ref, Optional.empty(), answer, refSerialize, Optional.empty());
    }

    /** A copy with this keyword. */
    public NewHistoryEntry withKeyword(String keyword) {
        return new NewHistoryEntry(phone, ref, Optional.of(Checks.notNull("keyword", keyword)), answer, refSerialize, options);
    }

    /** A copy with these options, stored as JSONB by the {@code Pgkit}'s codec. */
    public NewHistoryEntry withOptions(Object options) {
        return new NewHistoryEntry(phone, ref, keyword, answer, refSerialize, Optional.of(Checks.notNull("options", options)));
    }
}
