package dev.pgkit.broadcast;

import com.fasterxml.jackson.databind.JsonNode;
import dev.pgkit.PgkitTimeoutException;
import java.util.List;
import java.util.Set;

/**
 * What a request to the other nodes of a namespace collected: one response per node that was live when it
 * was sent, or what had arrived when its timeout ran out. A node that closes or stops heartbeating while
 * the request waits is no longer waited for.
 *
 * @param values       the responses (at most one per node), in arrival order
 * @param missingNodes the uids of the nodes whose response did not arrive in time (empty when complete)
 */
public record Replies(List<JsonNode> values, Set<String> missingNodes) {

    public Replies {
        values = List.copyOf(values);
        missingNodes = Set.copyOf(missingNodes);
    }

    /** Whether every node that was expected to respond did. */
    public boolean isComplete() {
        return missingNodes.isEmpty();
    }

    /**
     * The responses, when every node answered.
     *
     * @throws PgkitTimeoutException naming the nodes that did not answer in time
     */
    public List<JsonNode> requireComplete() {
        if (!isComplete()) {
            throw new PgkitTimeoutException("timeout reached: missing " + missingNodes.size() + " response(s), from node(s) " + missingNodes
                    + " (" + values.size() + " arrived); raise requestsTimeout or check that those nodes answer", null);
        }
        return values;
    }
}
