package dev.pgkit.conversation;

import dev.pgkit.internal.Checks;
import java.time.Duration;
import java.util.Optional;

/**
 * Options of a {@link ConversationStore}.
 *
 * @param historyRetention how long history entries are kept: when set, housekeeping (periodic, and
 *                         {@code pgkit cleanup}) removes entries older than this by their {@code created_at};
 *                         empty (the default, as BuilderBot) keeps them until deleted
 */
public record ConversationOptions(Optional<Duration> historyRetention) {
    /** The shortest retention accepted: anything shorter is surely a unit mistake. */
    public static final Duration MIN_RETENTION = Duration.ofMinutes(1);

    /** @throws IllegalArgumentException for a retention shorter than {@link #MIN_RETENTION} */
    public ConversationOptions {
        Checks.notNull("historyRetention", historyRetention);
        historyRetention.ifPresent(ConversationOptions::checkRetention);
    }

    /** BuilderBot's behaviour: history is kept until deleted. */
    public static ConversationOptions defaults() {
        return new ConversationOptions(Optional.empty());
    }

    /** A copy whose housekeeping removes history entries older than {@code retention}. */
    public ConversationOptions withHistoryRetention(Duration retention) {
        return new ConversationOptions(Optional.of(Checks.notNull("historyRetention", retention)));
    }

    static Duration checkRetention(Duration retention) {
        Checks.notNull("retention", retention);
        if (retention.compareTo(MIN_RETENTION) < 0) {
            throw new IllegalArgumentException("history retention must be at least " + MIN_RETENTION.toMinutes() + " minute, was " + retention);
        }
        if (retention.compareTo(Duration.ofDays(365L * 1000)) > 0) {
            throw new IllegalArgumentException("history retention must be at most 1000 years, was " + retention);
        }
        return retention;
    }
}
