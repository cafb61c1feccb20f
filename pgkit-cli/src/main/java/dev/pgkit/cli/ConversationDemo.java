package dev.pgkit.cli;

import dev.pgkit.Pgkit;
import dev.pgkit.conversation.Contact;
import dev.pgkit.conversation.ConversationStore;
import dev.pgkit.conversation.Forgotten;
import dev.pgkit.conversation.HistoryEntry;
import dev.pgkit.conversation.HistoryPage;
import dev.pgkit.conversation.HistoryQuery;
import dev.pgkit.conversation.NewHistoryEntry;
import java.io.PrintWriter;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.ThreadLocalRandom;

/** The conversation adapter's part of the demo: every value printed is what the operation returned or a read gave back. */
final class ConversationDemo implements CliAdapter.DemoSection {

    @Override
    public void run(Pgkit pgkit, PrintWriter out) throws Exception {
        ConversationStore conversation = pgkit.conversation();
        String phone = "+1555" + ThreadLocalRandom.current().nextInt(1_000_000, 10_000_000);
        out.println();
        out.println("== conversation (dev.pgkit.conversation), BuilderBot's contact and history tables, phone " + phone);

        HistoryEntry first = conversation.save(NewHistoryEntry.of(phone, "welcome", "Hi! How can I help you?", "flow:welcome#0")
                .withKeyword("hello").withOptions(Map.of("delay", 0)));
        conversation.save(NewHistoryEntry.of(phone, "menu", "1) prices 2) hours", "flow:welcome#1"));
        conversation.save(NewHistoryEntry.of(phone, "hours", "We open at 9.", "flow:hours#0"));
        say(out, "save ×3", "ids from " + first.id() + ", contact " + first.contactId().map(String::valueOf).orElse("(none)"));
        say(out, "getPrevByNumber", conversation.getPrevByNumber(phone)
                .map(e -> "ref " + e.ref() + ", refSerialize " + e.refSerialize() + ", answer \"" + e.answer() + "\"").orElse("(none)"));

        say(out, "saveContact(a: merge)", "values = " + sorted(conversation.saveContact(phone, Map.of("name", "John Doe",
                "email", "john@example.com")).values()));
        say(out, "saveContact({subscribed}, a)", "values = " + sorted(conversation.saveContact(phone, Map.of("subscribed", true), "a").values()));
        say(out, "saveContact({name}, u: replace)", "values = " + sorted(conversation.saveContact(phone, Map.of("name", "Jane Doe"), "u").values()));
        Contact contact = conversation.getContact(phone).orElseThrow();
        say(out, "getContact", "id " + contact.id() + ", last interaction " + contact.lastInteraction().map(Object::toString).orElse("never")
                + " (server clock, UTC)");

        HistoryPage page = conversation.history(phone, HistoryQuery.newest(2));
        HistoryPage rest = conversation.history(phone, page.next().orElseThrow());
        say(out, "history newest first, pages of 2", answers(page.entries()) + " then " + answers(rest.entries()));
        say(out, "recent(2): chat-memory window", answers(conversation.recent(phone, 2)));
        say(out, "findContacts(name = Jane Doe)", conversation.findContacts("name", "Jane Doe", 100).stream()
                .anyMatch(c -> c.phone().equals(phone)) ? "found " + phone : "not found");
        say(out, "findContactsWithKey(subscribed)", conversation.findContactsWithKey("subscribed", 0, 100).stream()
                .anyMatch(c -> c.phone().equals(phone)) ? "found " + phone : "not found (replaced away)");

        Forgotten forgotten = conversation.forget(phone);
        say(out, "forget(phone)", forgotten.contacts() + " contact, " + forgotten.historyEntries() + " history entries removed; getContact = "
                + conversation.getContact(phone).map(c -> "still there").orElse("(absent)") + ", getPrevByNumber = "
                + conversation.getPrevByNumber(phone).map(e -> "still there").orElse("(absent)"));
        out.flush();
    }

    private static String answers(List<HistoryEntry> entries) {
        return entries.stream().map(e -> "\"" + e.answer() + "\"").toList().toString();
    }

    private static Map<String, Object> sorted(Map<String, Object> values) {
        return new TreeMap<>(values);
    }

    private static void say(PrintWriter out, String what, String result) {
        out.printf("  %-34s -> %s%n", what, result);
    }
}
