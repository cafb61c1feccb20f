package dev.pgkit.internal;

import java.time.Duration;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.TimeUnit;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Runs the {@link Cleanup} statements of the adapters in use, each in bounded batches that skip rows
 * other sessions hold, so cleanup never takes long locks or bloats a hot table in one go, and several
 * instances can run it at once. Internal to pgkit (not exported).
 */
public final class Housekeeper {
    private static final Logger log = LoggerFactory.getLogger(Housekeeper.class);
    /** Rows deleted per statement unless told otherwise. */
    static final int DEFAULT_BATCH = 1_000;

    private final Database database;
    private final Identifier schema;
    private final int batchSize;
    private final List<Component> components = new CopyOnWriteArrayList<>();
    private ScheduledFuture<?> task;

    public Housekeeper(Database database, Identifier schema) {
        this(database, schema, DEFAULT_BATCH);
    }

    /** A housekeeper deleting at most {@code batchSize} rows per statement. */
    public Housekeeper(Database database, Identifier schema, int batchSize) {
        if (batchSize < 1) {
            throw new IllegalArgumentException("batchSize must be at least 1, was " + batchSize);
        }
        this.database = database;
        this.schema = schema;
        this.batchSize = batchSize;
    }

    /** Adds a component whose cleanups the periodic run executes. */
    public void register(Component component) {
        if (!components.contains(component)) {
            components.add(component);
        }
    }

    /** Runs {@link #cleanup()} every {@code interval} on {@code scheduler}. */
    public synchronized void start(ScheduledExecutorService scheduler, Duration interval) {
        if (task == null) {
            long millis = interval.toMillis();
            task = scheduler.scheduleWithFixedDelay(this::cleanupLogged, millis, millis, TimeUnit.MILLISECONDS);
        }
    }

    public synchronized void stop() {
        if (task != null) {
            task.cancel(false);
            task = null;
        }
    }

    /** Runs every cleanup of the registered components now; returns how many rows were deleted. */
    public long cleanup() {
        long total = 0;
        for (Component component : components) {
            total += cleanup(component);
        }
        return total;
    }

    /** Runs every cleanup of one component now; returns how many rows were deleted. */
    public long cleanup(Component component) {
        long total = 0;
        for (Cleanup cleanup : component.cleanups()) {
            total += run(cleanup, component.schema().schemaOr(schema));
        }
        return total;
    }

    /**
     * Runs one cleanup a batch at a time until a statement deletes less than a full batch (nothing left, or
     * the rest is held by other sessions and waits for the next run); returns how many rows were deleted.
     */
    public long run(Cleanup cleanup) {
        return run(cleanup, schema);
    }

    private long run(Cleanup cleanup, Identifier schema) {
        // deleting garbage twice deletes nothing more: a batch lost with its connection is simply run again
        Sql sql = Sql.idempotentWrite("cleanup " + cleanup.name(), cleanup.sql(schema));
        List<Object> parameters = cleanup.parameters();
        long total = 0;
        int deleted;
        do {
            deleted = database.update(sql, schema, statement -> {
                int index = 1;
                for (Object parameter : parameters) {
                    statement.setObject(index++, parameter);
                }
                statement.setInt(index, batchSize);
            });
            total += deleted;
        } while (deleted == batchSize);
        return total;
    }

    private void cleanupLogged() {
        try {
            long deleted = cleanup();
            if (deleted > 0) {
                log.debug("pgkit housekeeping deleted {} rows in schema {}", deleted, schema);
            }
        } catch (RuntimeException e) {
            log.warn("pgkit housekeeping failed; will retry at the next interval: {}", e.getMessage());
        }
    }
}
