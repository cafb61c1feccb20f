package dev.pgkit.conversation;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.catchThrowableOfType;

import dev.pgkit.Pgkit;
import dev.pgkit.SchemaNotReadyException;
import dev.pgkit.test.Db;
import dev.pgkit.testing.PostgresExtension;
import dev.pgkit.testing.TestPostgres;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

/**
 * A runtime role granted exactly what the adapter's requirements name (the GRANT statements a
 * {@link SchemaNotReadyException} lists) can run every operation, housekeeping's retention included.
 */
@ExtendWith(PostgresExtension.class)
class ConversationPrivilegesTest {

    @Test
    void theGrantsTheRequirementsNameAreEnoughForEveryOperation(TestPostgres postgres) {
        String schema = TestPostgres.uniqueName("conversation_grants");
        String role = TestPostgres.uniqueName("pgkit_conv_runtime");
        try (Pgkit admin = Db.pgkit(postgres, schema)) {
            admin.conversation();
            Db.execute(admin, "CREATE ROLE " + role + " LOGIN PASSWORD 'rt'");
            try {
                Db.execute(admin, "GRANT USAGE ON SCHEMA \"" + schema + "\" TO " + role);
                List<String> grants = new ArrayList<>();
                try (Pgkit runtime = Db.builder(postgres, schema).credentials(role, "rt").autoCreateSchema(false).build()) {
                    SchemaNotReadyException refused = catchThrowableOfType(runtime::conversation, SchemaNotReadyException.class);
                    assertThat(refused).as("a role without grants is refused").isNotNull();
                    Matcher grant = Pattern.compile("\\((GRANT .*? TO <role>;)\\)").matcher(String.join("\n", refused.problems()));
                    while (grant.find()) {
                        grants.add(grant.group(1).replace("<role>", role));
                    }
                }
                assertThat(grants).isNotEmpty();
                grants.forEach(g -> Db.execute(admin, g));

                try (Pgkit runtime = Db.builder(postgres, schema).credentials(role, "rt").autoCreateSchema(false).build()) {
                    ConversationStore store = runtime.conversation();
                    store.save(NewHistoryEntry.of("p1", "r", "a", "s").withOptions(Map.of("x", 1)));
                    store.save(NewHistoryEntry.of("p2", "r", "a", "s"));
                    assertThat(store.getPrevByNumber("p1")).isPresent();
                    store.saveContact("p1", Map.of("name", "Ada"));
                    store.saveContact("p1", Map.of("name", "Ada Lovelace"), ContactAction.REPLACE);
                    assertThat(store.getContact("p1").map(Contact::values)).contains(Map.of("name", "Ada Lovelace"));
                    assertThat(store.history("p1", HistoryQuery.newest(5)).entries()).hasSize(1);
                    assertThat(store.recent("p1", 5)).hasSize(1);
                    assertThat(store.findContacts("name", "Ada Lovelace", 5)).hasSize(1);
                    assertThat(store.findContactsWithKey("name", 0, 5)).hasSize(1);
                    assertThat(store.findContactsContaining(Map.of("name", "Ada Lovelace"), 0, 5)).hasSize(1);
                    assertThat(store.merges()).isEmpty();
                    Db.execute(admin, "UPDATE \"" + schema + "\".history SET created_at = created_at - interval '2 days' WHERE phone = 'p2'");
                    assertThat(store.removeHistoryOlderThan(Duration.ofDays(1))).isEqualTo(1);
                    assertThat(store.clearHistory("p1")).isEqualTo(1);
                    assertThat(store.forget("p1")).isEqualTo(new Forgotten("p1", 1, 0));
                }
            } finally {
                Db.execute(admin, "DROP OWNED BY " + role);
                Db.execute(admin, "DROP ROLE " + role);
                Db.execute(admin, "DROP SCHEMA \"" + schema + "\" CASCADE");
            }
        }
    }
}
