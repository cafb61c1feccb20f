package dev.pgkit.internal;

import java.sql.Connection;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;

/**
 * The channels of the listener: what subscribers want (desired: a channel per name with its
 * subscribers' mailboxes) apart from what is LISTENed on the current connection (actual, touched by
 * the listener thread only). {@link #reconcile} makes actual match desired on each loop; after a
 * reconnect actual is empty, so every desired channel is listened to again: a registration can never
 * be lost in a reconnect. A channel's activation future completes only once it is LISTENed on the
 * current connection and is replaced by a new, incomplete one when that connection dies.
 */
final class ChannelRegistry {
    private final NotificationDispatcher dispatcher;
    private final Map<String, Channel> desired = new ConcurrentHashMap<>();
    /** LISTENed on the current connection; written by the listener thread only. */
    private final Set<String> listened = ConcurrentHashMap.newKeySet();
    private volatile RuntimeException closedBy;

    private static final class Channel {
        final String name;
        final String quoted;
        final List<NotificationDispatcher.Mailbox> subscribers = new CopyOnWriteArrayList<>();
        private CompletableFuture<Void> active = new CompletableFuture<>();

        Channel(String name, String quoted) {
            this.name = name;
            this.quoted = quoted;
        }

        synchronized CompletableFuture<Void> active() {
            return active;
        }

        synchronized boolean isActive() {
            return active.isDone() && !active.isCompletedExceptionally();
        }
    }

    ChannelRegistry(NotificationDispatcher dispatcher) {
        this.dispatcher = dispatcher;
    }

    /** Adds a subscriber; if the channel is already active, it gets its first gap signal at once. */
    NotificationListener.Subscription subscribe(String name, NotificationHandler handler) {
        String quoted = Identifier.channel("channel", name).quoted();
        NotificationDispatcher.Mailbox mailbox = dispatcher.mailbox(handler);
        Channel[] joined = new Channel[1];
        desired.compute(name, (key, existing) -> {
            Channel channel = existing != null ? existing : new Channel(key, quoted);
            synchronized (channel) {
                RuntimeException closed = closedBy;
                if (closed != null) {
                    channel.active.completeExceptionally(closed);
                }
                channel.subscribers.add(mailbox);
                if (channel.isActive()) {
                    mailbox.offerGap();
                }
            }
            joined[0] = channel;
            return channel;
        });
        Channel channel = joined[0];
        return new NotificationListener.Subscription() {
            @Override
            public CompletableFuture<Void> active() {
                return channel.active();
            }

            @Override
            public void close() {
                unsubscribe(channel, mailbox);
            }
        };
    }

    private void unsubscribe(Channel channel, NotificationDispatcher.Mailbox mailbox) {
        mailbox.close();
        desired.computeIfPresent(channel.name, (key, existing) -> {
            if (existing != channel) {
                return existing;
            }
            existing.subscribers.remove(mailbox);
            return existing.subscribers.isEmpty() ? null : existing;
        });
    }

    /**
     * Listener thread: LISTEN what is desired and not listened, UNLISTEN what is listened and no longer
     * desired. Activations are published by {@link #activateListened()}.
     */
    void reconcile(Connection connection) throws SQLException {
        List<Channel> toListen = new ArrayList<>();
        for (Channel channel : desired.values()) {
            if (!listened.contains(channel.name)) {
                toListen.add(channel);
            }
        }
        if (!toListen.isEmpty()) {
            StringBuilder sql = new StringBuilder();
            for (Channel channel : toListen) {
                sql.append("LISTEN ").append(channel.quoted).append(';');
            }
            execute(connection, sql.toString());
            toListen.forEach(channel -> listened.add(channel.name));
        }
        List<String> toUnlisten = new ArrayList<>();
        for (String name : listened) {
            if (!desired.containsKey(name)) {
                toUnlisten.add(name);
            }
        }
        if (!toUnlisten.isEmpty()) {
            StringBuilder sql = new StringBuilder();
            for (String name : toUnlisten) {
                sql.append("UNLISTEN ").append(Identifier.channel("channel", name).quoted()).append(';');
            }
            execute(connection, sql.toString());
            toUnlisten.forEach(listened::remove);
        }
    }

    /**
     * Listener thread, after {@link #reconcile}: completes the activation of every channel LISTENed now
     * and gives its subscribers their gap signal (once per activation).
     */
    void activateListened() {
        for (Channel channel : desired.values()) {
            if (listened.contains(channel.name)) {
                activate(channel);
            }
        }
    }

    private static void activate(Channel channel) {
        synchronized (channel) {
            if (channel.active.isDone()) {
                return;
            }
            channel.active.complete(null);
            for (NotificationDispatcher.Mailbox subscriber : channel.subscribers) {
                subscriber.offerGap();
            }
        }
    }

    /** Listener thread: the connection died; nothing is listened any more and no channel is active. */
    void connectionLost() {
        listened.clear();
        for (Channel channel : desired.values()) {
            synchronized (channel) {
                if (channel.active.isDone() && closedBy == null) {
                    channel.active = new CompletableFuture<>();
                }
            }
        }
    }

    /** Listener thread: a notification arrived. */
    void deliver(String name, String payload) {
        Channel channel = desired.get(name);
        if (channel != null && listened.contains(name)) {
            for (NotificationDispatcher.Mailbox subscriber : channel.subscribers) {
                subscriber.offer(name, payload);
            }
        }
    }

    /** The channels LISTENed on the current connection. */
    List<String> listened() {
        return List.copyOf(listened);
    }

    /** Fails every pending activation at once and stops every delivery. */
    void close(RuntimeException reason) {
        closedBy = reason;
        for (Channel channel : desired.values()) {
            synchronized (channel) {
                channel.active.completeExceptionally(reason);
                channel.subscribers.forEach(NotificationDispatcher.Mailbox::close);
            }
        }
    }

    private static void execute(Connection connection, String sql) throws SQLException {
        try (Statement statement = connection.createStatement()) {
            statement.execute(sql);
        }
    }
}
