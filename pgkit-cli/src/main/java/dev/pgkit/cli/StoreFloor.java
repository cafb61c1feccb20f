package dev.pgkit.cli;

import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.util.ArrayList;
import java.util.List;

/**
 * The floor of {@code pgkit bench store}: plain pgjdbc (one connection per client, no pool, no pgkit) running the
 * least the same work needs on the same tables: a record upsert with its queue entry in one statement, a primary-key
 * select, an event insert, a 100-event range read, and for sync a copy of the rows in batches (select, then an
 * upsert of the batch) from one schema to the other.
 */
final class StoreFloor {
    enum Op {
        PUT("put"), GET("get"), APPEND("event append"), READ("event read 100");

        final String label;

        Op(String label) {
            this.label = label;
        }
    }

    private final Floor floor;
    private final String schema;
    private final String store;

    StoreFloor(Floor floor, String quotedSchema, String store) {
        this.floor = floor;
        this.schema = quotedSchema;
        this.store = store + "-floor";
    }

    LoadRunner.Worker worker(Op op, int index) throws Exception {
        Connection connection = floor.connect();
        String key = "w" + index;
        PreparedStatement statement = switch (op) {
            case PUT -> connection.prepareStatement("""
                    WITH w AS (INSERT INTO %1$s.persist_records AS r (store, key, value, version, updated_at, origin)
                               VALUES (?, ?, '"v"', 1, now(), 'floor')
                               ON CONFLICT (store, key) DO UPDATE SET value = EXCLUDED.value, version = r.version + 1, updated_at = now()
                               RETURNING key, version)
                    INSERT INTO %1$s.persist_sync_queue (store, kind, key, operation, payload, source)
                    SELECT ?, 'record', key, 'put', '{}', 'floor' FROM w""".formatted(schema));
            case GET -> {
                try (PreparedStatement put = connection.prepareStatement("INSERT INTO " + schema + ".persist_records (store, key, value, version, "
                        + "updated_at, origin) VALUES (?, ?, '\"v\"', 1, now(), 'floor') ON CONFLICT DO NOTHING")) {
                    put.setString(1, store);
                    put.setString(2, key);
                    put.executeUpdate();
                }
                yield connection.prepareStatement("SELECT value::text, version, updated_at FROM " + schema
                        + ".persist_records WHERE store = ? AND key = ? AND NOT deleted");
            }
            case APPEND -> connection.prepareStatement("INSERT INTO " + schema + ".persist_events (store, stream, payload) VALUES (?, ?, '\"e\"') RETURNING id");
            case READ -> {
                try (PreparedStatement fill = connection.prepareStatement("INSERT INTO " + schema + ".persist_events (store, stream, payload) "
                        + "SELECT ?, ?, to_jsonb(i) FROM generate_series(1, 100) i")) {
                    fill.setString(1, store);
                    fill.setString(2, "r" + index);
                    fill.executeUpdate();
                }
                yield connection.prepareStatement("SELECT id, payload::text, \"timestamp\" FROM " + schema
                        + ".persist_events WHERE store = ? AND stream = ? AND id >= 0 ORDER BY id LIMIT 100");
            }
        };
        statement.setString(1, store);
        statement.setString(2, op == Op.READ ? "r" + index : key);
        if (op == Op.PUT) {
            statement.setString(3, store);
        }
        return new LoadRunner.Worker() {
            @Override
            public void run() throws Exception {
                if (op == Op.PUT) {
                    statement.executeUpdate();
                } else {
                    try (ResultSet rs = statement.executeQuery()) {
                        while (rs.next()) {
                            rs.getString(op == Op.APPEND ? 1 : 2);
                        }
                    }
                }
            }

            @Override
            public void close() throws Exception {
                connection.close();
            }
        };
    }

    /** Copies the store's records from one schema to the other in batches of 1,000; returns the seconds it took. */
    double copy(String fromSchema, String toSchema, String syncStore, int rows) throws Exception {
        String floorStore = syncStore + "-floor";
        try (Connection c = floor.connect()) {
            long start = System.nanoTime();
            String after = "";
            try (PreparedStatement read = c.prepareStatement("SELECT key, value::text FROM \"" + fromSchema
                    + "\".persist_records WHERE store = ? AND key > ? ORDER BY key LIMIT 1000");
                 PreparedStatement write = c.prepareStatement("INSERT INTO \"" + toSchema + "\".persist_records AS r (store, key, value, version, updated_at, origin)"
                         + " SELECT ?, k, v::jsonb, 1, now(), 'floor' FROM unnest(?::text[], ?::text[]) AS n(k, v)"
                         + " ON CONFLICT (store, key) DO UPDATE SET value = EXCLUDED.value, version = r.version + 1")) {
                while (true) {
                    read.setString(1, syncStore);
                    read.setString(2, after);
                    List<String> keys = new ArrayList<>();
                    List<String> values = new ArrayList<>();
                    try (ResultSet rs = read.executeQuery()) {
                        while (rs.next()) {
                            keys.add(rs.getString(1));
                            values.add(rs.getString(2));
                        }
                    }
                    if (keys.isEmpty()) {
                        break;
                    }
                    after = keys.get(keys.size() - 1);
                    write.setString(1, floorStore);
                    write.setArray(2, c.createArrayOf("text", keys.toArray()));
                    write.setArray(3, c.createArrayOf("text", values.toArray()));
                    write.executeUpdate();
                }
            }
            return (System.nanoTime() - start) / 1e9;
        }
    }
}
