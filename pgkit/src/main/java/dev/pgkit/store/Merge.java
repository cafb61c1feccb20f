package dev.pgkit.store;

import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.HexFormat;
import java.util.List;
import java.util.Optional;
import java.util.TreeSet;

/** The resolution of one incoming version against the existing one, per {@link SyncPolicy}. */
interface Merge {
    /**
     * What to do with {@code incoming} where {@code existing} (null: absent) is stored.
     */
    Outcome resolve(String kind, RowState existing, RowState incoming);

    /**
     * @param write    the state to store, or null to change nothing
     * @param conflict a conflict to keep, or null
     */
    record Outcome(RowState write, Kept conflict) {
        static final Outcome NOTHING = new Outcome(null, null);
    }

    /** A version kept aside because the policy could not decide. */
    record Kept(String kept, String other, String otherStamp, String reason) {
    }

    Merge LAST_WRITER_WINS = (kind, existing, incoming) -> {
        if (existing == null || incoming.stamp().compareTo(existing.stamp()) > 0) {
            return new Outcome(incoming, null);
        }
        return Outcome.NOTHING;
    };

    Merge FIELD_MERGE = new FieldMerge();

    /** The caller's resolver for concurrent versions; a version that replaced the other wins without asking. */
    record Resolving(ConflictResolver resolver) implements Merge {
        @Override
        public Outcome resolve(String kind, RowState existing, RowState incoming) {
            if (existing == null) {
                return new Outcome(incoming, null);
            }
            if (existing.stamp().equals(incoming.stamp()) || existing.descendsFrom(incoming)) {
                return Outcome.NOTHING;
            }
            if (incoming.descendsFrom(existing)) {
                return new Outcome(incoming, null);
            }
            boolean incomingNewer = incoming.stamp().compareTo(existing.stamp()) > 0;
            RowState older = incomingNewer ? existing : incoming;
            RowState newer = incomingNewer ? incoming : existing;
            Optional<String> resolved = resolver.resolve(kind, existing.key(), version(older), version(newer));
            if (resolved == null || resolved.isEmpty()) {
                return keepNewer(existing, incoming, older, newer, "the resolver could not decide");
            }
            String json = Check.json("the resolver's value", resolved.get());
            Stamp stamp = new Stamp(newer.stamp().micros(), "m" + digest(older.stamp() + "|" + newer.stamp() + "|" + json));
            return new Outcome(new RowState(existing.key(), json, false, stamp, mergedParents(older, newer), null), null);
        }

        private static ConflictResolver.Version version(RowState state) {
            return new ConflictResolver.Version(Optional.ofNullable(state.value()), state.stamp().instant(), state.stamp().origin());
        }
    }

    /** Keeps the later writer's version (so both replicas keep the same) and the other aside. */
    static Outcome keepNewer(RowState existing, RowState incoming, RowState older, RowState newer, String reason) {
        Kept kept = new Kept(newer.value(), older.value(), older.stamp().toString(), reason);
        return new Outcome(newer == incoming ? incoming : null, kept);
    }

    /** Both versions' parents and stamps, the newest {@link RowState#MAX_PARENTS}. */
    static List<String> mergedParents(RowState a, RowState b) {
        TreeSet<Stamp> all = new TreeSet<>();
        for (RowState state : List.of(a, b)) {
            all.add(state.stamp());
            state.parents().forEach(p -> all.add(Stamp.parse(p)));
        }
        while (all.size() > RowState.MAX_PARENTS) {
            all.pollFirst();
        }
        return all.stream().map(Stamp::toString).toList();
    }

    static String digest(String text) {
        try {
            byte[] hash = MessageDigest.getInstance("SHA-256").digest(text.getBytes(StandardCharsets.UTF_8));
            return HexFormat.of().formatHex(hash, 0, 12);
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
    }
}
