package dev.pgkit.conversation;

import java.time.Instant;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;

/**
 * One row of BuilderBot's {@code contact} table: a phone and the values a bot keeps about it.
 *
 * @param id              the row's id (the table's serial)
 * @param phone           the phone (unique)
 * @param createdAt       when the contact was created, by the server's clock (empty if a writer left it NULL)
 * @param updatedIn       when its values were last saved, if ever
 * @param lastInteraction when its last history entry was saved, if ever
 * @param values          its values (a JSON object; empty when none were saved)
 * @param valuesJson      the same values as the stored JSON text, if any
 */
public record Contact(long id, String phone, Optional<Instant> createdAt, Optional<Instant> updatedIn,
                      Optional<Instant> lastInteraction, Map<String, Object> values, Optional<String> valuesJson) {
    public Contact {
        Objects.requireNonNull(createdAt, "createdAt");
        Objects.requireNonNull(updatedIn, "updatedIn");
        Objects.requireNonNull(lastInteraction, "lastInteraction");
        values = Collections.unmodifiableMap(new LinkedHashMap<>(values)); // JSON values may be null
        Objects.requireNonNull(valuesJson, "valuesJson");
    }
}
