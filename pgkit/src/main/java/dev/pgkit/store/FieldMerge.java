package dev.pgkit.store;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.util.Iterator;
import java.util.Map;
import java.util.Objects;
import java.util.TreeMap;

/**
 * The field-merge policy: two versions that are both JSON objects are joined field by field, each field
 * taking its latest write (the stamps the write statement keeps per field); a field written before the
 * latest clearing of the whole value (a delete, a non-object value) is dropped. Otherwise the later writer's
 * whole version wins. The join is commutative, associative and idempotent, so replicas that have seen the
 * same versions hold the same value whatever the order of syncs.
 */
final class FieldMerge implements Merge {
    /** One field's latest write: its value, or null when that write removed it. */
    record Field(Stamp stamp, JsonNode value) {
    }

    /** A live object's fields (removed ones included) and the stamp before which everything was cleared. */
    record Fields(TreeMap<String, Field> fields, Stamp cleared) {
    }

    @Override
    public Outcome resolve(String kind, RowState existing, RowState incoming) {
        if (existing == null) {
            return new Outcome(incoming, null);
        }
        RowState joined = join(existing, incoming);
        Kept conflict = null;
        if (!existing.deleted() && !incoming.deleted() && !(isObject(existing) && isObject(incoming))
                && !parse(existing.value()).equals(parse(incoming.value()))
                && !existing.descendsFrom(incoming) && !incoming.descendsFrom(existing)) {
            boolean incomingNewer = incoming.stamp().compareTo(existing.stamp()) > 0;
            RowState older = incomingNewer ? existing : incoming;
            conflict = new Kept(joined.value(), older.value(), older.stamp().toString(), "concurrent versions that are not both JSON objects");
        }
        return new Outcome(sameContent(joined, existing) ? null : joined, conflict);
    }

    static RowState join(RowState x, RowState y) {
        if (isObject(x) && isObject(y)) {
            Fields fx = fields(x);
            Fields fy = fields(y);
            Stamp cleared = Stamp.max(fx.cleared(), fy.cleared());
            TreeMap<String, Field> merged = new TreeMap<>(fx.fields());
            fy.fields().forEach((k, f) -> merged.merge(k, f, FieldMerge::later));
            return objectState(x.key(), Stamp.max(x.stamp(), y.stamp()), Merge.mergedParents(x, y), merged, cleared);
        }
        RowState winner = x.stamp().compareTo(y.stamp()) >= 0 ? x : y;
        RowState loser = winner == x ? y : x;
        if (isObject(winner)) {
            Fields fw = fields(winner);
            return objectState(winner.key(), winner.stamp(), winner.parents(), new TreeMap<>(fw.fields()), Stamp.max(fw.cleared(), loser.stamp()));
        }
        return winner;
    }

    private static Field later(Field a, Field b) {
        int order = a.stamp().compareTo(b.stamp());
        if (order != 0) {
            return order > 0 ? a : b;
        }
        return String.valueOf(a.value()).compareTo(String.valueOf(b.value())) >= 0 ? a : b; // one write: the same value
    }

    private static RowState objectState(String key, Stamp stamp, java.util.List<String> parents, TreeMap<String, Field> fields, Stamp cleared) {
        ObjectNode value = JsonNodeFactory.instance.objectNode();
        ObjectNode stamps = JsonNodeFactory.instance.objectNode();
        for (Map.Entry<String, Field> e : fields.entrySet()) {
            Field f = e.getValue();
            if (cleared != null && f.stamp().compareTo(cleared) <= 0) {
                continue;
            }
            if (f.value() == null) {
                stamps.set(e.getKey(), JsonNodeFactory.instance.arrayNode().add(f.stamp().toString()));
            } else {
                value.set(e.getKey(), f.value());
                stamps.put(e.getKey(), f.stamp().toString());
            }
        }
        ObjectNode meta = JsonNodeFactory.instance.objectNode();
        if (cleared == null) {
            meta.putNull("c");
        } else {
            meta.put("c", cleared.toString());
        }
        meta.set("f", stamps);
        return new RowState(key, value.toString(), false, stamp, parents, meta.toString());
    }

    /** The fields of a live object version with their stamps. */
    static Fields fields(RowState state) {
        JsonNode value = parse(state.value());
        JsonNode meta = state.fieldStamps() == null ? null : parse(state.fieldStamps());
        Stamp cleared = meta != null && meta.path("c").isTextual() ? Stamp.parse(meta.get("c").asText()) : null;
        JsonNode stamps = meta == null ? null : meta.get("f");
        TreeMap<String, Field> fields = new TreeMap<>();
        for (Iterator<Map.Entry<String, JsonNode>> it = value.fields(); it.hasNext(); ) {
            Map.Entry<String, JsonNode> e = it.next();
            JsonNode s = stamps == null ? null : stamps.get(e.getKey());
            fields.put(e.getKey(), new Field(s != null && s.isTextual() ? Stamp.parse(s.asText()) : state.stamp(), e.getValue()));
        }
        if (stamps != null) {
            for (Iterator<Map.Entry<String, JsonNode>> it = stamps.fields(); it.hasNext(); ) {
                Map.Entry<String, JsonNode> e = it.next();
                if (!fields.containsKey(e.getKey()) && e.getValue() instanceof ArrayNode removed && removed.size() > 0) {
                    fields.put(e.getKey(), new Field(Stamp.parse(removed.get(0).asText()), null));
                }
            }
        }
        return new Fields(fields, cleared);
    }

    static boolean isObject(RowState state) {
        return !state.deleted() && state.value() != null && parse(state.value()).isObject();
    }

    private static boolean sameContent(RowState a, RowState b) {
        if (a.deleted() != b.deleted() || !a.stamp().equals(b.stamp())) {
            return false;
        }
        if (a.deleted()) {
            return true;
        }
        if (!parse(a.value()).equals(parse(b.value()))) {
            return false;
        }
        return !isObject(a) || fields(a).equals(fields(b));
    }

    static JsonNode parse(String json) {
        try {
            return Check.JSON.readTree(Objects.requireNonNull(json, "json"));
        } catch (JsonProcessingException e) {
            throw new IllegalStateException("stored JSON cannot be read: " + e.getOriginalMessage(), e);
        }
    }
}
