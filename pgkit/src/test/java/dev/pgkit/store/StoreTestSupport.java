package dev.pgkit.store;

import dev.pgkit.Pgkit;
import dev.pgkit.test.Db;
import dev.pgkit.testing.TestPostgres;

/** A Pgkit and a store in a schema of the test's own; dropped afterwards. */
final class StoreTestSupport {
    private StoreTestSupport() {
    }

    static Pgkit pgkit(TestPostgres postgres, String hint) {
        return Db.pgkit(postgres, TestPostgres.uniqueName(hint));
    }

    static Store store(Pgkit pgkit, String name, String schema) {
        return pgkit.store(StoreOptions.named(name).withSchema(schema));
    }

    static void drop(Pgkit pgkit, String... storeSchemas) {
        if (pgkit == null) {
            return;
        }
        String[] statements = new String[storeSchemas.length];
        for (int i = 0; i < storeSchemas.length; i++) {
            statements[i] = "DROP SCHEMA IF EXISTS \"" + storeSchemas[i] + "\" CASCADE";
        }
        Db.dropAndClose(pgkit);
        if (statements.length > 0) {
            Db.admin(TestPostgres.shared(), statements);
        }
    }

    static long count(Pgkit pgkit, String schema, String table, String where) {
        return Db.scalar(pgkit, "SELECT count(*) FROM \"" + schema + "\"." + table + (where.isEmpty() ? "" : " WHERE " + where));
    }
}
