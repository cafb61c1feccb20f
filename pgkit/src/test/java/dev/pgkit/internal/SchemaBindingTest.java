package dev.pgkit.internal;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.pgkit.Pgkit;
import dev.pgkit.SchemaNotReadyException;
import dev.pgkit.test.Db;
import dev.pgkit.testing.PostgresExtension;
import dev.pgkit.testing.TestPostgres;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

/** Options-dependent schemas: configured table names and an adapter's own schema, each binding migrated on its own. */
@ExtendWith(PostgresExtension.class)
class SchemaBindingTest {
    private static final SchemaComponent THINGS = new SchemaComponent("bindingtest",
            List.of(new SchemaComponent.Migration(1, "things", "dev/pgkit/schema/bindingtest/V1__things.sql")),
            List.of(SchemaComponent.Requirement.table("things", "SELECT")));

    private static Component bound(String schema, String table) {
        return new Component(THINGS.bind(schema == null ? null : Identifier.of("schema", schema),
                Map.of("things", Identifier.of("table", table))), List.of(), List.of(StatusTable.kept(table)));
    }

    @Test
    void eachBindingGetsItsTablesAndVersionsInItsSchema(TestPostgres postgres) throws Exception {
        Pgkit pgkit = Db.pgkit(postgres, "binding_main");
        try {
            Context context = ContextTest.contextOf(pgkit);
            Component defaults = bound(null, "things");
            Component renamed = bound(null, "Other_Things");
            Component elsewhere = bound("binding_own", "things");
            assertThat(defaults.key()).isEqualTo("bindingtest");
            assertThat(renamed.key()).isEqualTo("bindingtest[things=Other_Things]");
            for (Component component : List.of(defaults, renamed, elsewhere)) {
                context.prepare(component);
            }
            assertThat(Db.scalar(pgkit, "SELECT count(*) FROM pg_class WHERE relname IN ('things', 'Other_Things', 'things_body_idx', "
                    + "'Other_Things_body_idx') AND relnamespace = 'binding_main'::regnamespace")).isEqualTo(4);
            assertThat(Db.scalar(pgkit, "SELECT count(*) FROM binding_own.things")).isZero();
            assertThat(context.schemaManager().appliedVersions()).containsEntry("bindingtest", 1).containsEntry("bindingtest[things=Other_Things]", 1);
            assertThat(context.schemaManager(elsewhere.schema()).appliedVersions()).containsEntry("bindingtest", 1);
            assertThat(context.schemaManager(elsewhere.schema()).ddl(elsewhere.schema()))
                    .contains("CREATE TABLE \"binding_own\".\"things\"", "CREATE INDEX \"things_body_idx\"");
            List<StatusTables.Count> counts = StatusTables.count(context.database(), context.schema(), List.of(elsewhere));
            assertThat(counts).singleElement().satisfies(c -> assertThat(c.exists()).isTrue());

            // verification reads the bound names: a binding never migrated is reported missing by its own name
            Component missing = bound("binding_own", "never_made");
            assertThatThrownBy(() -> context.schemaManager(missing.schema()).verify(missing.schema()))
                    .isInstanceOf(SchemaNotReadyException.class).hasMessageContaining("binding_own.never_made does not exist");
        } finally {
            Db.admin(postgres, "DROP SCHEMA IF EXISTS binding_own CASCADE");
            Db.dropAndClose(pgkit);
        }
    }

    @Test
    void theVersionKeyOfSeveralRenamedTablesIsTheSameInEveryRun() {
        Map<String, Identifier> names = new java.util.HashMap<>();
        for (String table : List.of("zeta", "alpha", "mid", "beta", "omega")) {
            names.put(table, Identifier.of("table", table + "_x"));
        }
        assertThat(THINGS.bind(null, names).versionKey())
                .isEqualTo("bindingtest[alpha=alpha_x,beta=beta_x,mid=mid_x,omega=omega_x,zeta=zeta_x]");
    }

    @Test
    void cleanupsAndCountsUseTheAdaptersOwnSchema(TestPostgres postgres) throws Exception {
        Pgkit pgkit = Db.pgkit(postgres, "binding_cleanup");
        try {
            Context context = ContextTest.contextOf(pgkit);
            Component elsewhere = new Component(THINGS.bind(Identifier.of("schema", "binding_own2"),
                    Map.of("things", Identifier.of("table", "only_there"))),
                    List.of(Cleanup.olderThan("bindingtest.old", "only_there", "created", java.time.Duration.ofHours(1))),
                    List.of(StatusTable.kept("only_there")));
            context.prepare(elsewhere);
            Db.execute(pgkit, "ALTER TABLE binding_own2.only_there ADD COLUMN created timestamptz NOT NULL DEFAULT now()");
            Db.execute(pgkit, "INSERT INTO binding_own2.only_there VALUES (1, 'old', now() - interval '2 hours'), (2, 'new', now())");
            assertThat(StatusTables.count(context.database(), context.schema(), List.of(elsewhere)))
                    .singleElement().satisfies(c -> assertThat(c.rows()).isEqualTo(2));
            assertThat(context.housekeeper().cleanup(elsewhere)).isEqualTo(1);
            assertThat(Db.scalar(pgkit, "SELECT id FROM binding_own2.only_there")).isEqualTo(2);
        } finally {
            Db.admin(postgres, "DROP SCHEMA IF EXISTS binding_own2 CASCADE");
            Db.dropAndClose(pgkit);
        }
    }

    @Test
    void aPlaceholderWithoutABoundNameIsRefused() {
        SchemaComponent unbound = THINGS;
        assertThatThrownBy(() -> unbound.sql(unbound.migrations().get(0), Identifier.of("schema", "s")))
                .isInstanceOf(IllegalStateException.class).hasMessageContaining("${things");
    }
}
