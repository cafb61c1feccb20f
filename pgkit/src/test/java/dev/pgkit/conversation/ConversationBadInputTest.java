package dev.pgkit.conversation;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.pgkit.Pgkit;
import dev.pgkit.test.Db;
import dev.pgkit.testing.PostgresExtension;
import dev.pgkit.testing.TestPostgres;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import org.assertj.core.api.ThrowableAssert.ThrowingCallable;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

/** Bad input gets a clear exception before any SQL runs, and leaves the database as it was. */
@ExtendWith(PostgresExtension.class)
class ConversationBadInputTest {
    static Pgkit pgkit;
    static ConversationStore store;
    static final String PHONE = "+15550100";

    @BeforeAll
    static void setUp(TestPostgres postgres) {
        pgkit = Db.pgkit(postgres, TestPostgres.uniqueName("conversation_bad_input"));
        store = pgkit.conversation();
        store.save(NewHistoryEntry.of(PHONE, "r", "a", "s"));
        store.saveContact(PHONE, Map.of("name", "Ada"));
    }

    @AfterAll
    static void tearDown() {
        Db.dropAndClose(pgkit);
    }

    static String state() {
        String s = "\"" + pgkit.schema() + "\"";
        return Db.scalar(pgkit, "SELECT count(*) FROM " + s + ".contact") + "/" + Db.scalar(pgkit, "SELECT count(*) FROM " + s + ".history")
                + "/" + store.getContact(PHONE).orElseThrow().valuesJson().orElseThrow();
    }

    void rejected(ThrowingCallable call, String messagePart) {
        String before = state();
        assertThatThrownBy(call).isInstanceOf(IllegalArgumentException.class).hasMessageContaining(messagePart);
        assertThat(state()).as("nothing written").isEqualTo(before);
    }

    @Test
    void badPhones() {
        rejected(() -> store.save(NewHistoryEntry.of(null, "r", "a", "s")), "phone must not be null");
        rejected(() -> store.save(NewHistoryEntry.of("", "r", "a", "s")), "phone must not be empty");
        rejected(() -> store.save(NewHistoryEntry.of("   ", "r", "a", "s")), "phone must not be blank");
        rejected(() -> store.save(NewHistoryEntry.of("+1\n555", "r", "a", "s")), "phone contains control character U+000A");
        rejected(() -> store.save(NewHistoryEntry.of("1".repeat(256), "r", "a", "s")), "phone is 256 characters long; the column holds at most 255");
        rejected(() -> store.saveContact("", Map.of("a", 1)), "phone must not be empty");
        rejected(() -> store.getContact(null), "phone must not be null");
        rejected(() -> store.getPrevByNumber(""), "phone must not be empty");
        rejected(() -> store.forget(""), "phone must not be empty");
        rejected(() -> store.clearHistory(null), "phone must not be null");
        rejected(() -> store.history("", HistoryQuery.newest(1)), "phone must not be empty");
        rejected(() -> store.recent(null, 1), "phone must not be null");
        // 255 characters outside the BMP are 255 characters for VARCHAR(255), though 510 Java chars
        assertThat(store.getContact("😀".repeat(255))).isEmpty();
    }

    @Test
    void badEntries() {
        rejected(() -> store.save(null), "entry must not be null");
        rejected(() -> store.save(NewHistoryEntry.of(PHONE, null, "a", "s")), "ref must not be null");
        rejected(() -> store.save(NewHistoryEntry.of(PHONE, "", "a", "s")), "ref must not be empty");
        rejected(() -> store.save(NewHistoryEntry.of(PHONE, "r".repeat(256), "a", "s")), "ref is 256 characters long");
        rejected(() -> store.save(NewHistoryEntry.of(PHONE, "r", null, "s")), "answer must not be null");
        rejected(() -> store.save(NewHistoryEntry.of(PHONE, "r", "x".repeat(ConversationStore.MAX_TEXT_LENGTH + 1), "s")),
                "answer is 1048577 characters long; at most 1048576 are accepted");
        rejected(() -> store.save(NewHistoryEntry.of(PHONE, "r", "nul\0here", "s")), "answer contains the character U+0000 at index 3");
        rejected(() -> store.save(NewHistoryEntry.of(PHONE, "r", "a", null)), "refSerialize must not be null");
        rejected(() -> store.save(NewHistoryEntry.of(PHONE, "r", "a", "s").withKeyword("k".repeat(300))), "keyword is 300 characters long");
        rejected(() -> store.save(NewHistoryEntry.of(PHONE, "r", "a", "s").withKeyword(null)), "keyword must not be null");
        rejected(() -> store.save(NewHistoryEntry.of(PHONE, "r", "a", "s").withOptions(Map.of("big", "x".repeat(ConversationStore.MAX_TEXT_LENGTH)))),
                "options encode to");
        rejected(() -> store.save(NewHistoryEntry.of(PHONE, "r", "a", "s").withOptions(Map.of("nul", "\0"))), "U+0000");
        rejected(() -> store.save(new NewHistoryEntry(PHONE, "r", null, "a", "s", Optional.empty())), "keyword must not be null");
    }

    @Test
    void badContactValuesAndActions() {
        rejected(() -> store.saveContact(PHONE, List.of(1, 2)), "values must be a JSON object (a map or a record), not an array");
        rejected(() -> store.saveContact(PHONE, "text"), "values must be a JSON object (a map or a record), not a string");
        rejected(() -> store.saveContact(PHONE, 42), "not a number");
        rejected(() -> store.saveContact(PHONE, null), "values must not be null");
        rejected(() -> store.saveContact(PHONE, Map.of("a", 1), "x"), "action must be 'a' (merge the values) or 'u' (replace them), was 'x'");
        rejected(() -> store.saveContact(PHONE, Map.of("a", 1), "A"), "was 'A'");
        rejected(() -> store.saveContact(PHONE, Map.of("a", 1), (ContactAction) null), "action must not be null");
        rejected(() -> store.saveContact(PHONE, Map.of("a", "x".repeat(ConversationStore.MAX_TEXT_LENGTH))), "values encode to");
        rejected(() -> store.saveContact(PHONE, Map.of("a", "\0")), "U+0000");
        rejected(() -> store.saveContact(PHONE, new Object()), "cannot encode");
    }

    @Test
    void badQueries() {
        rejected(() -> store.history(PHONE, null), "query must not be null");
        rejected(() -> HistoryQuery.newest(0), "limit must be between 1 and 10000, was 0");
        rejected(() -> HistoryQuery.newest(10_001), "limit must be between 1 and 10000");
        rejected(() -> HistoryQuery.newest(1).from(Instant.parse("2025-01-02T00:00:00Z")).until(Instant.parse("2025-01-01T00:00:00Z")),
                "from (2025-01-02T00:00:00Z) must be before until (2025-01-01T00:00:00Z)");
        rejected(() -> store.recent(PHONE, 0), "limit must be between 1");
        rejected(() -> store.findContacts(null, "v", 1), "key must not be null");
        rejected(() -> store.findContacts("", "v", 1), "key must not be empty");
        rejected(() -> store.findContacts("k", null, 1), "value must not be null");
        rejected(() -> store.findContactsWithKey("k", 0, -1), "limit must be between 1");
        rejected(() -> store.findContactsContaining(List.of("a"), 0, 1), "subset must be a JSON object");
    }

    @Test
    void badRetention() {
        rejected(() -> store.removeHistoryOlderThan(null), "retention must not be null");
        rejected(() -> store.removeHistoryOlderThan(Duration.ofSeconds(5)), "history retention must be at least 1 minute, was PT5S");
        rejected(() -> store.removeHistoryOlderThan(Duration.ofDays(-1)), "history retention must be at least 1 minute");
        rejected(() -> ConversationOptions.defaults().withHistoryRetention(Duration.ZERO), "history retention must be at least 1 minute");
        rejected(() -> new ConversationOptions(null), "historyRetention must not be null");
    }
}
