package dev.pgkit.cli;

import dev.pgkit.LogOffset;
import dev.pgkit.Pgkit;
import dev.pgkit.persistence.EventEnvelope;
import dev.pgkit.persistence.EventJournal;
import dev.pgkit.persistence.JournalConcurrencyException;
import dev.pgkit.persistence.DurableStateConcurrencyException;
import dev.pgkit.persistence.LiveQuery;
import dev.pgkit.persistence.NewEvent;
import dev.pgkit.persistence.Persistence;
import dev.pgkit.persistence.PersistenceOptions;
import java.io.PrintWriter;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.UUID;
import java.util.concurrent.CopyOnWriteArrayList;

/** The persistence adapter's part of the demo: every value printed is what an operation returned or a read gave back. */
final class PersistenceDemo implements CliAdapter.DemoSection {

    @Override
    public void run(Pgkit pgkit, PrintWriter out) throws Exception {
        String id = UUID.randomUUID().toString().substring(0, 8);
        Persistence persistence = pgkit.persistence(PersistenceOptions.defaults());
        EventJournal journal = persistence.journal();
        String account = "account-" + id;
        String tag = "accounts-" + id;
        out.println();
        out.println("== persistence (dev.pgkit.persistence), actor-ts tables events / events_tags / snapshots / durable_state");

        List<Object> opened = new CopyOnWriteArrayList<>();
        try (LiveQuery live = persistence.queries().eventsByTag(tag, LogOffset.START, Object.class,
                batch -> batch.forEach(e -> opened.add(e.persistenceId() + "#" + e.sequenceNr())))) {
            long highest = journal.appendAll(account, List.of(NewEvent.tagged(event("Opened", 0), tag), NewEvent.tagged(event("Deposited", 50), tag)), 0);
            say(out, "append(" + account + ", 2 events, expected 0)", "highest sequence nr " + highest);
            try {
                journal.append(account, List.of(event("Deposited", 1)), 1);
                say(out, "append(expected 1) again", "appended (unexpected)");
            } catch (JournalConcurrencyException e) {
                say(out, "append(expected 1) again", "refused: stream is at " + e.currentSequenceNr());
            }
            highest = journal.append(account, List.of(event("Withdrawn", 20)), List.of(tag), highest);
            say(out, "append(expected 2)", "highest sequence nr " + highest);
            say(out, "read(" + account + ", 2..3)", journal.read(account, 2, 3, 10, Object.class).stream()
                    .map(e -> e.sequenceNr() + ":" + e.event()).toList().toString());
            long deadline = System.nanoTime() + 5_000_000_000L;
            while (opened.size() < 3 && System.nanoTime() < deadline) {
                Thread.sleep(10);
            }
            say(out, "live eventsByTag(" + tag + ")", "delivered " + opened + ", offset " + live.offset());
            List<EventEnvelope<Object>> page = persistence.queries().currentEventsByTag(tag, LogOffset.START, 2, Object.class);
            LogOffset stored = page.get(page.size() - 1).offset();
            say(out, "currentEventsByTag, first 2", "offset to store: " + stored);
            say(out, "currentEventsByTag from " + stored, persistence.queries().currentEventsByTag(tag, stored, Object.class).stream()
                    .map(e -> e.persistenceId() + "#" + e.sequenceNr()).toList().toString());
        }
        say(out, "deleteTo(" + account + ", 2)", "deleted " + journal.deleteTo(account, 2) + ", highestSequenceNr still "
                + journal.highestSequenceNr(account) + ", remaining " + journal.read(account, Object.class).size());

        for (int i = 1; i <= 5; i++) {
            persistence.snapshots().save(account, i * 10L, Map.of("balance", i * 10));
        }
        say(out, "snapshots.save ×5 (keepN 3)", "latest = " + persistence.snapshots().load(account, Object.class)
                .map(s -> s.metadata().sequenceNr() + ":" + s.snapshot()).orElse("(none)") + ", oldest kept = "
                + persistence.snapshots().load(account, dev.pgkit.persistence.SnapshotCriteria.upTo(30), Object.class)
                .map(s -> Long.toString(s.metadata().sequenceNr())).orElse("(none)") + ", at or below 20 = "
                + persistence.snapshots().load(account, dev.pgkit.persistence.SnapshotCriteria.upTo(20), Object.class)
                .map(s -> Long.toString(s.metadata().sequenceNr())).orElse("(none: pruned)"));

        String cart = "cart-" + id;
        long revision = persistence.durableState().upsert(cart, 0, new TreeMap<>(Map.of("items", 1)));
        revision = persistence.durableState().upsert(cart, revision, new TreeMap<>(Map.of("items", 2)));
        say(out, "durableState.upsert ×2", "revision " + revision + ", load = " + persistence.durableState().load(cart, Object.class)
                .map(s -> s.revision() + ":" + s.value()).orElse("(none)"));
        try {
            persistence.durableState().upsert(cart, 1, Map.of("items", 9));
            say(out, "durableState.upsert(revision 1)", "stored (unexpected)");
        } catch (DurableStateConcurrencyException e) {
            say(out, "durableState.upsert(revision 1)", "refused: current revision " + e.currentRevision());
        }
        say(out, "durableState.delete", "deleted = " + persistence.durableState().delete(cart) + ", load = "
                + persistence.durableState().load(cart, Object.class).map(Object::toString).orElse("(absent)"));
        journal.deleteTo(account, Long.MAX_VALUE);
        persistence.snapshots().delete(account, dev.pgkit.persistence.SnapshotCriteria.latest());
        out.flush();
    }

    private static Map<String, Object> event(String type, int amount) {
        return new TreeMap<>(Map.of("type", type, "amount", amount));
    }

    private static void say(PrintWriter out, String what, String result) {
        out.printf("  %-40s -> %s%n", what, result);
    }
}
