package dev.pgkit.broadcast;

import com.fasterxml.jackson.databind.JsonNode;
import dev.pgkit.PgkitException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.TimeUnit;

/**
 * The requests one node is waiting on ({@code FETCH_SOCKETS}, {@code SERVER_SIDE_EMIT} with an ack): each
 * expects one response from every node live when it was sent, and completes when all came, when the
 * missing ones left the cluster, or at its timeout with what arrived.
 */
final class Requests {
    private final Map<String, Request> open = new ConcurrentHashMap<>();

    static String newId() {
        return String.format("%016x", ThreadLocalRandom.current().nextLong());
    }

    final class Request {
        final String id;
        private final Set<String> missing;
        private final List<JsonNode> values = new ArrayList<>();
        private final CompletableFuture<Replies> done = new CompletableFuture<>();
        private volatile ScheduledFuture<?> timeout;

        Request(String id, Set<String> expected) {
            this.id = id;
            this.missing = new HashSet<>(expected);
        }

        synchronized void respond(String from, List<JsonNode> response) {
            if (missing.remove(from)) {
                values.addAll(response);
                completeIfDone();
            }
        }

        synchronized void gone(String uid) {
            if (missing.remove(uid)) {
                completeIfDone();
            }
        }

        private void completeIfDone() {
            if (missing.isEmpty()) {
                finish();
            }
        }

        synchronized void finish() {
            open.remove(id);
            ScheduledFuture<?> t = timeout;
            if (t != null) {
                t.cancel(false);
            }
            done.complete(new Replies(values, missing));
        }

        void cancel() {
            open.remove(id);
            ScheduledFuture<?> t = timeout;
            if (t != null) {
                t.cancel(false);
            }
        }

        /** Waits for the outcome (the timeout guarantees one). */
        Replies await() {
            try {
                return done.get();
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                cancel();
                throw new PgkitException("interrupted while waiting for the responses to request " + id, e);
            } catch (ExecutionException e) {
                throw new IllegalStateException(e.getCause());
            }
        }
    }

    Request open(Set<String> expected, Duration timeout, ScheduledExecutorService scheduler) {
        Request request = new Request(newId(), expected);
        open.put(request.id, request);
        request.timeout = scheduler.schedule(request::finish, timeout.toNanos(), TimeUnit.NANOSECONDS);
        if (expected.isEmpty()) {
            request.finish();
        }
        return request;
    }

    void respond(String requestId, String from, List<JsonNode> response) {
        Request request = open.get(requestId);
        if (request != null) {
            request.respond(from, response);
        }
    }

    void nodeGone(String uid) {
        open.values().forEach(r -> r.gone(uid));
    }

    /** Completes every open request with what it has (the node is closing). */
    void finishAll() {
        open.values().forEach(Request::finish);
    }

    int size() {
        return open.size();
    }
}
