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
 * Deletes expired rows of the adapters in use, in bounded batches that skip rows other sessions hold,
 * so cleanup never takes long locks and several instances can run it at once. Internal to pgkit (not exported).
 */
public final class Housekeeper {
    private static final Logger log = LoggerFactory.getLogger(Housekeeper.class);
    /** Rows deleted per statement. */
    static final int BATCH = 1_000;

    private final Database database;
    private final Identifier schema;
    private final List<SchemaComponent> components = new CopyOnWriteArrayList<>();
    private ScheduledFuture<?> task;

    public Housekeeper(Database database, Identifier schema) {
        this.database = database;
        this.schema = schema;
    }

    /** Adds a component whose expired rows this housekeeper removes. */
    public void register(SchemaComponent component) {
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

    /** Deletes every expired row of the registered components now; returns how many were deleted. */
    public long cleanup() {
        long total = 0;
        for (SchemaComponent component : components) {
            for (String table : component.expiringTables()) {
                total += cleanup(table);
            }
        }
        return total;
    }

    /** Deletes the expired rows of one table, a batch at a time. */
    public long cleanup(String table) {
        String qualified = schema.qualify(table);
        String sql = "DELETE FROM " + qualified + " WHERE ctid = ANY(ARRAY(SELECT ctid FROM " + qualified
                + " WHERE expires_at <= now() LIMIT " + BATCH + " FOR UPDATE SKIP LOCKED))";
        long total = 0;
        int deleted;
        do {
            deleted = database.update("delete expired rows", qualified, sql, statement -> { });
            total += deleted;
        } while (deleted == BATCH);
        return total;
    }

    private void cleanupLogged() {
        try {
            long deleted = cleanup();
            if (deleted > 0) {
                log.debug("pgkit housekeeping deleted {} expired rows in schema {}", deleted, schema);
            }
        } catch (RuntimeException e) {
            log.warn("pgkit housekeeping failed; will retry at the next interval: {}", e.getMessage());
        }
    }
}
