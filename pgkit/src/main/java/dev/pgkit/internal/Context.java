package dev.pgkit.internal;

import dev.pgkit.json.JsonCodec;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.ScheduledThreadPoolExecutor;
import java.util.concurrent.SynchronousQueue;
import java.util.concurrent.ThreadPoolExecutor;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;

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
    /** One monitor per component being prepared. */
    private final Map<String, Object> preparing = new ConcurrentHashMap<>();
    private final WakeupService wakeups;
    /** Guards the fields below; never held across blocking work. */
    private final Object lock = new Object();
    private volatile NotificationListener listener;
    private ScheduledExecutorService scheduler;
    private ScheduledExecutorService housekeeping;
    private ExecutorService poolWork;
    private volatile boolean closed;
    private final Set<AutoCloseable> closeWith = new java.util.LinkedHashSet<>();

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

    /** The schema manager of the schema {@code component}'s tables live in (its own, or this context's). */
    public SchemaManager schemaManager(SchemaComponent component) {
        return component.schemaOverride().map(own -> new SchemaManager(database, own)).orElse(schemaManager);
    }

    public Housekeeper housekeeper() {
        return housekeeper;
    }

    /**
     * Makes a component usable, once per {@code Pgkit}: migrates its schema (auto-creation on) or
     * verifies it (off), and hands its cleanups to housekeeping. Only callers preparing the same
     * component wait for one another (a migration may wait for another instance's); nothing else of
     * this context does.
     */
    public void prepare(Component component) {
        String key = component.schema().schemaOr(schema).quoted() + "." + component.key();
        if (ready.contains(key)) {
            housekeeper.register(component); // the same tables, maybe with other cleanups (another retention)
            return;
        }
        synchronized (preparing.computeIfAbsent(key, k -> new Object())) {
            if (ready.contains(key)) {
                housekeeper.register(component);
                return;
            }
            ensureOpen();
            SchemaManager manager = schemaManager(component.schema());
            if (autoCreateSchema) {
                manager.migrate(component.schema());
            } else {
                manager.verify(component.schema());
            }
            housekeeper.register(component);
            housekeepingInterval.ifPresent(interval -> housekeeper.start(housekeepingThread(), interval));
            ready.add(key);
        }
    }

    /** Closes {@code resource} (a live query) when this context closes, before the listener and the pool; no-op once closed. */
    public void closeWith(AutoCloseable resource) {
        synchronized (lock) {
            ensureOpen();
            closeWith.add(resource);
        }
    }

    /** Forgets a resource closed before this context. */
    public void forget(AutoCloseable resource) {
        synchronized (lock) {
            closeWith.remove(resource);
        }
    }

    /** The shared LISTEN connection, opened on first use; never blocks (the connection opens in the background). */
    public NotificationListener listener() {
        NotificationListener started = listener;
        if (started != null) {
            ensureOpen();
            return started;
        }
        synchronized (lock) {
            ensureOpen();
            if (listener == null) {
                listener = new NotificationListener(listenerSource, database.describe(), connectTimeout,
                        channel -> database.query("wake the listener", channel, "SELECT pg_notify(?, '')", s -> s.setString(1, channel), rs -> null));
                listener.onConnectionTrouble(database::connectionTrouble);
            }
            return listener;
        }
    }

    /** The wait/wake service (waiters on keys, channel subscriptions with gap signals). */
    public WakeupService wakeups() {
        return wakeups;
    }

    /** The listener if one was started. */
    public Optional<NotificationListener> startedListener() {
        return Optional.ofNullable(listener);
    }

    /** The shared scheduler thread {@code pgkit-scheduler} (the lock watchdog: short, timely tasks only). */
    public ScheduledExecutorService scheduler() {
        synchronized (lock) {
            ensureOpen();
            if (scheduler == null) {
                scheduler = singleThread("pgkit-scheduler");
            }
            return scheduler;
        }
    }

    /**
     * Threads {@code pgkit-pool-N} for work that may wait for a pool connection (the watchdog's
     * renewals through the pool), so it never holds up the scheduler. A thread exists only while it has
     * work, so they never outnumber the tasks running at once.
     */
    public ExecutorService poolWork() {
        synchronized (lock) {
            ensureOpen();
            if (poolWork == null) {
                AtomicInteger count = new AtomicInteger();
                poolWork = new ThreadPoolExecutor(0, Integer.MAX_VALUE, 30, TimeUnit.SECONDS, new SynchronousQueue<>(),
                        runnable -> NotificationListener.daemon("pgkit-pool-" + count.incrementAndGet()).newThread(runnable));
            }
            return poolWork;
        }
    }

    /** Housekeeping's own thread: a long cleanup must never delay a lock renewal. */
    private ScheduledExecutorService housekeepingThread() {
        synchronized (lock) {
            ensureOpen();
            if (housekeeping == null) {
                housekeeping = singleThread("pgkit-housekeeping");
            }
            return housekeeping;
        }
    }

    private static ScheduledExecutorService singleThread(String name) {
        ScheduledThreadPoolExecutor executor = new ScheduledThreadPoolExecutor(1, NotificationListener.daemon(name));
        executor.setRemoveOnCancelPolicy(true);
        executor.setExecuteExistingDelayedTasksAfterShutdownPolicy(false);
        return Executors.unconfigurableScheduledExecutorService(executor);
    }

    /** Stops housekeeping, the scheduler and the listener, and waits for their threads. */
    @Override
    public void close() {
        NotificationListener startedListener;
        List<ExecutorService> executors = new ArrayList<>();
        List<AutoCloseable> resources;
        synchronized (lock) {
            if (closed) {
                return;
            }
            closed = true;
            resources = new ArrayList<>(closeWith);
            startedListener = listener;
            for (ExecutorService executor : new ExecutorService[] {scheduler, housekeeping, poolWork}) {
                if (executor != null) {
                    executors.add(executor);
                }
            }
        }
        for (AutoCloseable resource : resources) {
            try {
                resource.close();
            } catch (Exception e) {
                org.slf4j.LoggerFactory.getLogger(Context.class).debug("closing {} failed", resource, e);
            }
        }
        housekeeper.stop();
        executors.forEach(ExecutorService::shutdownNow);
        for (ExecutorService executor : executors) {
            try {
                executor.awaitTermination(5, TimeUnit.SECONDS);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        }
        if (startedListener != null) {
            startedListener.close();
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
