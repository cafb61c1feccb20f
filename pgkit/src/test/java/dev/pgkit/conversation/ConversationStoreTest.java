package dev.pgkit.conversation;

import static org.assertj.core.api.Assertions.assertThat;

import dev.pgkit.Pgkit;
import dev.pgkit.test.Db;
import dev.pgkit.testing.PostgresExtension;
import dev.pgkit.testing.TestPostgres;
import java.sql.Connection;
import java.sql.ResultSet;
import java.sql.Statement;
import java.time.Duration;
import java.time.Instant;
import java.time.temporal.ChronoUnit;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.UUID;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

/** The seed's operations and pgkit's additions, as a bot and a user would check them. */
@ExtendWith(PostgresExtension.class)
class ConversationStoreTest {
    static Pgkit pgkit;
    static ConversationStore store;
    static String schema;

    @BeforeAll
    static void setUp(TestPostgres postgres) {
        schema = TestPostgres.uniqueName("conversation");
        pgkit = Db.pgkit(postgres, schema);
        store = pgkit.conversation();
    }

    @AfterAll
    static void tearDown() {
        Db.dropAndClose(pgkit);
    }

    static String phone() {
        return "+34" + UUID.randomUUID().toString().replace("-", "").substring(0, 12);
    }

    static long count(String sql) {
        return Db.scalar(pgkit, sql.replace("${s}", "\"" + schema + "\""));
    }

    @Test
    void saveCreatesTheContactThenTouchesIt() {
        String phone = phone();
        assertThat(store.getPrevByNumber(phone)).isEmpty();
        HistoryEntry first = store.save(NewHistoryEntry.of(phone, "ref-1", "hola", "serialized-1").withKeyword("hi")
                .withOptions(Map.of("capture", true, "delay", 0)));
        assertThat(first.contactId()).isPresent();
        assertThat(first.keyword()).contains("hi");
        assertThat(first.optionsJson()).hasValueSatisfying(json -> assertThat(json).contains("\"capture\": true"));
        Contact created = store.getContact(phone).orElseThrow();
        assertThat(created.id()).isEqualTo(first.contactId().get());
        assertThat(created.lastInteraction()).isPresent();
        assertThat(created.values()).isEmpty();

        HistoryEntry second = store.save(NewHistoryEntry.of(phone, "ref-2", "¿qué tal?", "serialized-2"));
        assertThat(second.contactId()).isEqualTo(first.contactId());
        assertThat(second.id()).isGreaterThan(first.id());
        HistoryEntry prev = store.getPrevByNumber(phone).orElseThrow();
        assertThat(prev).isEqualTo(second);
        assertThat(prev.refSerialize()).isEqualTo("serialized-2");
        assertThat(prev.keyword()).isEmpty();
        assertThat(prev.optionsJson()).isEmpty();
        assertThat(store.getContact(phone).orElseThrow().lastInteraction().get()).isAfterOrEqualTo(created.lastInteraction().get());
        assertThat(count("SELECT count(*) FROM ${s}.contact WHERE phone = '" + phone + "'")).isEqualTo(1);
    }

    @Test
    void timestampsAreTheServersClockInUtcWhateverTheSessionTimeZone() throws Exception {
        String phone = phone();
        HistoryEntry saved = store.save(NewHistoryEntry.of(phone, "r", "a", "s"));
        Instant server;
        try (Connection c = pgkit.dataSource().getConnection(); Statement s = c.createStatement()) {
            s.execute("SET TimeZone = 'Pacific/Kiritimati'"); // UTC+14: a local time would be 14 hours off
            try (ResultSet rs = s.executeQuery("SELECT now()")) {
                rs.next();
                server = rs.getObject(1, java.time.OffsetDateTime.class).toInstant();
            }
            s.execute("SELECT \"" + schema + "\".save_or_update_history_and_contact('r2', NULL, 'b', 's2', '" + phone + "', NULL)");
            s.execute("RESET TimeZone");
        }
        assertThat(Duration.between(saved.createdAt(), server).abs()).isLessThan(Duration.ofMinutes(1));
        HistoryEntry viaFunction = store.getPrevByNumber(phone).orElseThrow();
        assertThat(viaFunction.ref()).isEqualTo("r2");
        assertThat(Duration.between(viaFunction.createdAt(), server).abs()).isLessThan(Duration.ofMinutes(1));
    }

    @Test
    void saveContactMergesOrReplaces() {
        String phone = phone();
        Contact created = store.saveContact(phone, Map.of("name", "John Doe", "email", "john@example.com"));
        assertThat(created.values()).containsOnly(Map.entry("name", "John Doe"), Map.entry("email", "john@example.com"));
        assertThat(created.updatedIn()).isEmpty();

        Contact merged = store.saveContact(phone, Map.of("subscribed", true, "name", "John"), "a");
        assertThat(merged.id()).isEqualTo(created.id());
        assertThat(merged.values()).containsOnly(Map.entry("name", "John"), Map.entry("email", "john@example.com"),
                Map.entry("subscribed", true));
        assertThat(merged.updatedIn()).isPresent();

        Contact replaced = store.saveContact(phone, Map.of("name", "Jane Doe"), ContactAction.REPLACE);
        assertThat(replaced.values()).containsOnly(Map.entry("name", "Jane Doe"));
        assertThat(store.getContact(phone).orElseThrow()).isEqualTo(replaced);
        assertThat(store.saveContact(phone, Map.of("lang", "es"), (String) null).values()).containsOnly(
                Map.entry("name", "Jane Doe"), Map.entry("lang", "es"));
    }

    @Test
    void historyPagesNewestFirstWithoutGapsOrRepeats() {
        String phone = phone();
        List<Long> ids = new ArrayList<>();
        for (int i = 0; i < 25; i++) {
            ids.add(store.save(NewHistoryEntry.of(phone, "ref-" + i, "answer " + i, "s")).id());
        }
        // equal creation times must not lose or repeat entries across pages
        Db.execute(pgkit, "UPDATE \"" + schema + "\".history SET created_at = '2024-05-01 12:00:00' WHERE phone = '" + phone
                + "' AND id BETWEEN " + ids.get(5) + " AND " + ids.get(15));
        List<Long> read = new ArrayList<>();
        HistoryPage page = store.history(phone, HistoryQuery.newest(10));
        int pages = 1;
        read.addAll(page.entries().stream().map(HistoryEntry::id).toList());
        while (page.next().isPresent()) {
            page = store.history(phone, page.next().get());
            read.addAll(page.entries().stream().map(HistoryEntry::id).toList());
            pages++;
        }
        List<Long> tied = new ArrayList<>(ids.subList(5, 16));
        java.util.Collections.reverse(tied);
        List<Long> oldest = new ArrayList<>(ids.subList(0, 5));
        java.util.Collections.reverse(oldest);
        // newest first: by creation time (the tied block is the oldest time), then id
        List<Long> byTime = new ArrayList<>(ids.subList(16, 25));
        java.util.Collections.reverse(byTime);
        byTime.addAll(oldest);
        byTime.addAll(tied);
        assertThat(read).containsExactlyElementsOf(byTime);
        assertThat(pages).isIn(3, 4);
    }

    @Test
    void historyByTimeRange() {
        String phone = phone();
        Instant base = Instant.parse("2025-01-01T00:00:00Z");
        List<Long> ids = new ArrayList<>();
        for (int i = 0; i < 10; i++) {
            long id = store.save(NewHistoryEntry.of(phone, "ref-" + i, "answer " + i, "s")).id();
            ids.add(id);
            Db.execute(pgkit, "UPDATE \"" + schema + "\".history SET created_at = timestamp '2025-01-01 00:00:00' + interval '" + i
                    + " hours' WHERE id = " + id);
        }
        HistoryPage range = store.history(phone, HistoryQuery.newest(100).from(base.plus(2, ChronoUnit.HOURS))
                .until(base.plus(6, ChronoUnit.HOURS)));
        assertThat(range.entries()).extracting(HistoryEntry::id).containsExactly(ids.get(5), ids.get(4), ids.get(3), ids.get(2));
        assertThat(range.entries().get(0).createdAt()).isEqualTo(base.plus(5, ChronoUnit.HOURS));
        assertThat(range.next()).isEmpty();
        HistoryPage first = store.history(phone, HistoryQuery.newest(3).from(base.plus(2, ChronoUnit.HOURS)));
        assertThat(first.entries()).extracting(HistoryEntry::id).containsExactly(ids.get(9), ids.get(8), ids.get(7));
        HistoryPage second = store.history(phone, first.next().orElseThrow());
        assertThat(second.entries()).extracting(HistoryEntry::id).containsExactly(ids.get(6), ids.get(5), ids.get(4));
        HistoryPage third = store.history(phone, second.next().orElseThrow());
        assertThat(third.entries()).extracting(HistoryEntry::id).containsExactly(ids.get(3), ids.get(2));
        assertThat(third.next()).isEmpty();
    }

    @Test
    void recentIsAWindowOfTheNewestOldestFirst() {
        String phone = phone();
        List<Long> ids = new ArrayList<>();
        for (int i = 0; i < 6; i++) {
            ids.add(store.save(NewHistoryEntry.of(phone, "ref-" + i, "answer " + i, "s")).id());
        }
        assertThat(store.recent(phone, 3)).extracting(HistoryEntry::id).containsExactly(ids.get(3), ids.get(4), ids.get(5));
        assertThat(store.recent(phone, 100)).extracting(HistoryEntry::id).containsExactlyElementsOf(ids);
        assertThat(store.recent(phone(), 5)).isEmpty();
    }

    @Test
    void contactsFoundByJsonValueOnTheGinIndex() throws Exception {
        String tag = UUID.randomUUID().toString();
        String ada = phone();
        String bob = phone();
        String eve = phone();
        store.saveContact(ada, Map.of("name", "Ada " + tag, "email", "ada@example.com", "preferences", Map.of("notifications", true)));
        store.saveContact(bob, Map.of("name", "Bob " + tag, "preferences", Map.of("notifications", false, "language", "en")));
        store.saveContact(eve, Map.of("name", "Eve " + tag, "age", 7));

        assertThat(store.findContacts("name", "Ada " + tag, 10)).extracting(Contact::phone).containsExactly(ada);
        assertThat(store.findContacts("name", "nobody " + tag, 10)).isEmpty();
        String emailKey = "email-" + tag;
        store.saveContact(bob, Map.of(emailKey, "bob@example.com"));
        store.saveContact(eve, Map.of(emailKey, "eve@example.com"));
        List<Contact> withKey = store.findContactsWithKey(emailKey, 0, 10);
        assertThat(withKey).extracting(Contact::phone).containsExactly(bob, eve);
        assertThat(store.findContactsWithKey(emailKey, withKey.get(0).id(), 10)).extracting(Contact::phone).containsExactly(eve);
        assertThat(store.findContactsWithKey(emailKey, 0, 1)).extracting(Contact::phone).containsExactly(bob);
        assertThat(store.findContactsContaining(Map.of("name", "Ada " + tag, "preferences", Map.of("notifications", true)), 0, 10))
                .extracting(Contact::phone).containsExactly(ada);
        assertThat(store.findContactsContaining(Map.of("name", "Bob " + tag, "preferences", Map.of("notifications", true)), 0, 10))
                .isEmpty();

        // the seed's recommended index serves each query (forced past the seq scan a tiny table would prefer)
        String c = "\"" + schema + "\".contact c";
        assertThat(plan("SELECT * FROM " + c + " WHERE c.\"values\" @> jsonb_build_object('name', 'Ada')"))
                .contains("idx_contact_values");
        assertThat(plan("SELECT * FROM " + c + " WHERE c.\"values\" ? 'email'")).contains("idx_contact_values");
    }

    static String plan(String sql) throws Exception {
        try (Connection c = pgkit.dataSource().getConnection(); Statement s = c.createStatement()) {
            c.setAutoCommit(false);
            s.execute("SET LOCAL enable_seqscan = off");
            StringBuilder out = new StringBuilder();
            try (ResultSet rs = s.executeQuery("EXPLAIN " + sql)) {
                while (rs.next()) {
                    out.append(rs.getString(1)).append('\n');
                }
            }
            c.rollback();
            c.setAutoCommit(true);
            return out.toString();
        }
    }

    @Test
    void historyQueriesUseThePhoneIndex() throws Exception {
        String h = "\"" + schema + "\".history h";
        assertThat(plan("SELECT * FROM " + h + " WHERE h.phone = 'x' ORDER BY h.created_at DESC, h.id DESC LIMIT 1"))
                .contains("history_phone_created_idx").doesNotContain("Sort");
    }

    @Test
    void forgetErasesTheContactAndAllItsHistoryAndReportsIt() {
        String phone = phone();
        String other = phone();
        for (int i = 0; i < 4; i++) {
            store.save(NewHistoryEntry.of(phone, "r" + i, "a", "s"));
        }
        store.saveContact(phone, Map.of("name", "To Be Forgotten"));
        store.save(NewHistoryEntry.of(other, "r", "a", "s"));

        Forgotten forgotten = store.forget(phone);
        assertThat(forgotten).isEqualTo(new Forgotten(phone, 1, 4));
        assertThat(forgotten.removedAnything()).isTrue();
        assertThat(store.getContact(phone)).isEmpty();
        assertThat(store.getPrevByNumber(phone)).isEmpty();
        assertThat(count("SELECT count(*) FROM ${s}.history WHERE phone = '" + phone + "'")).isZero();
        assertThat(store.getContact(other)).isPresent();
        assertThat(store.getPrevByNumber(other)).isPresent();

        Forgotten again = store.forget(phone);
        assertThat(again).isEqualTo(new Forgotten(phone, 0, 0));
        assertThat(again.removedAnything()).isFalse();
        // a new message after being forgotten starts a new contact
        HistoryEntry fresh = store.save(NewHistoryEntry.of(phone, "r", "back again", "s"));
        assertThat(store.getContact(phone).orElseThrow().id()).isEqualTo(fresh.contactId().orElseThrow());
    }

    @Test
    void clearHistoryKeepsTheContact() {
        String phone = phone();
        store.save(NewHistoryEntry.of(phone, "r1", "a", "s"));
        store.save(NewHistoryEntry.of(phone, "r2", "a", "s"));
        assertThat(store.clearHistory(phone)).isEqualTo(2);
        assertThat(store.getPrevByNumber(phone)).isEmpty();
        assertThat(store.getContact(phone)).isPresent();
    }

    @Test
    void functionsCanBeReinstalledAfterTheNodeAdapterReplacedThem() {
        Db.execute(pgkit, "CREATE OR REPLACE FUNCTION \"" + schema + "\".save_or_update_contact(in_phone VARCHAR(255), in_values JSONB)"
                + " RETURNS VOID AS $$ BEGIN RAISE EXCEPTION 'the seed body'; END; $$ LANGUAGE plpgsql");
        store.installFunctions();
        String phone = phone();
        Db.execute(pgkit, "SELECT \"" + schema + "\".save_or_update_contact('" + phone + "', '{\"name\": \"Via Node\"}')");
        assertThat(store.getContact(phone).map(Contact::values)).contains(Map.of("name", "Via Node"));
    }

    @Test
    void noMergesWithoutDuplicates() {
        assertThat(store.merges()).isEmpty();
        assertThat(Optional.of(store.historyRetention())).contains(Optional.empty());
    }
}
