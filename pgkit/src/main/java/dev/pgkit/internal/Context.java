package dev.pgkit.internal;

import dev.pgkit.json.JsonCodec;
import java.time.Duration;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.ScheduledThreadPoolExecutor;
import java.util.concurrent.TimeUnit;

/**
 * What the adapters of one {@code Pgkit} share: the pool, the schema, the codec, the one LISTEN
 * connection, the wait/wake service and the one scheduler thread (started on first use), and schema
 * readiness.
 * Internal to pgkit (not exported).
 */
public final class Context implements AutoCloseable {
    private final Database database;
    private final Identifier schema;
    private final JsonCodec codec;
    private final boolean autoCreateSchema;
    private final NotificationListener.ConnectionSource listenerSource;
    private final Duration connectTimeout;
    private final Optional<Duration> housekeepingInterval;
    private final SchemaManager schemaManager;
    private final Housekeeper housekeeper;
    private final Set<String> ready = ConcurrentHashMap.newKeySet();
    private final WakeupService wakeups;
    private NotificationListener listener;
    private ScheduledExecutorService scheduler;
    private ScheduledExecutorService housekeeping;
    private boolean closed;

    /** The default {@link #wakeups()} re-check interval. */
    public static final Duration DEFAULT_WAIT_RECHECK_INTERVAL = Duration.ofSeconds(1);

    /**
     * @param waitRecheckInterval the longest a waiter sleeps without a wake-up (writers that send no
     *                            NOTIFY, such as the Node adapters, are seen within it)
     */
    public Context(Database database, Identifier schema, JsonCodec codec, boolean autoCreateSchema,
                   NotificationListener.ConnectionSource listenerSource, Duration connectTimeout, Optional<Duration> housekeepingInterval,
                   Duration waitRecheckInterval) {
        this.wakeups = new WakeupService(this::listener, waitRecheckInterval);
        this.database = database;
        this.schema = schema;
        this.codec = codec;
        this.autoCreateSchema = autoCreateSchema;
        this.listenerSource = listenerSource;
        this.connectTimeout = connectTimeout;
        this.housekeepingInterval = housekeepingInterval;
        this.schemaManager = new SchemaManager(database, schema);
        this.housekeeper = new Housekeeper(database, schema);
    }

    public Database database() {
        return database;
    }

    public Identifier schema() {
        return schema;
    }

    public JsonCodec codec() {
        return codec;
    }

    public SchemaManager schemaManager() {
        return schemaManager;
    }

    public Housekeeper housekeeper() {
        return housekeeper;
    }

    /**
     * Makes a component usable, once per {@code Pgkit}: migrates its schema (auto-creation on) or
     * verifies it (off), and hands its cleanups to housekeeping.
     */
    public void prepare(Component component) {
        if (ready.contains(component.name())) {
            return;
        }
        synchronized (this) {
            if (ready.contains(component.name())) {
                return;
            }
            if (autoCreateSchema) {
                schemaManager.migrate(component.schema());
            } else {
                schemaManager.verify(component.schema());
            }
            housekeeper.register(component);
            housekeepingInterval.ifPresent(interval -> housekeeper.start(housekeepingThread(), interval));
            ready.add(component.name());
        }
    }

    /** The shared LISTEN connection, opened on first use. */
    public synchronized NotificationListener listener() {
        ensureOpen();
        if (listener == null) {
            listener = new NotificationListener(listenerSource, database.describe(), connectTimeout,
                    channel -> database.query("wake the listener", channel, "SELECT pg_notify(?, '')", s -> s.setString(1, channel), rs -> null));
        }
        return listener;
    }

    /** The wait/wake service (waiters on keys, channel subscriptions with gap signals). */
    public WakeupService wakeups() {
        return wakeups;
    }

    /** The listener if one was started. */
    public synchronized Optional<NotificationListener> startedListener() {
        return Optional.ofNullable(listener);
    }

    /** The shared scheduler thread {@code pgkit-scheduler} (the lock watchdog: short, timely tasks only). */
    public synchronized ScheduledExecutorService scheduler() {
        ensureOpen();
        if (scheduler == null) {
            scheduler = singleThread("pgkit-scheduler");
        }
        return scheduler;
    }

    /** Housekeeping's own thread: a long cleanup must never delay a lock renewal. */
    private synchronized ScheduledExecutorService housekeepingThread() {
        ensureOpen();
        if (housekeeping == null) {
            housekeeping = singleThread("pgkit-housekeeping");
        }
        return housekeeping;
    }

    private static ScheduledExecutorService singleThread(String name) {
        ScheduledThreadPoolExecutor executor = new ScheduledThreadPoolExecutor(1, NotificationListener.daemon(name));
        executor.setRemoveOnCancelPolicy(true);
        executor.setExecuteExistingDelayedTasksAfterShutdownPolicy(false);
        return Executors.unconfigurableScheduledExecutorService(executor);
    }

    /** Stops housekeeping, the scheduler and the listener, and waits for their threads. */
    @Override
    public synchronized void close() {
        if (closed) {
            return;
        }
        closed = true;
        housekeeper.stop();
        for (ScheduledExecutorService executor : new ScheduledExecutorService[] {scheduler, housekeeping}) {
            if (executor != null) {
                executor.shutdownNow();
                try {
                    executor.awaitTermination(5, TimeUnit.SECONDS);
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                }
            }
        }
        if (listener != null) {
            listener.close();
        }
        wakeups.wakeAll();
        database.close();
    }

    private void ensureOpen() {
        if (closed) {
            throw new IllegalStateException("this Pgkit is closed");
        }
    }
}
