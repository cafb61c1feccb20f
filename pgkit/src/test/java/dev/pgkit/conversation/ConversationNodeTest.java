package dev.pgkit.conversation;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import dev.pgkit.Pgkit;
import dev.pgkit.test.Db;
import dev.pgkit.test.Node;
import dev.pgkit.testing.PostgresExtension;
import dev.pgkit.testing.TestPostgres;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

/**
 * A Node bot and a Java service on one database. BuilderBot's adapter is not on npm here, so a script sends the
 * statements its documentation gives through the real node-postgres ({@code pg}): concurrent first messages of a
 * phone through the installed functions make one contact; a contact saved by Node's client-side merge and a history
 * entry saved by Java read back on the other side. Skipped, with a message, where node or npm is missing.
 */
@ExtendWith(PostgresExtension.class)
class ConversationNodeTest {

    @Test
    void aNodeBotAndAJavaServiceShareContactsAndHistory(TestPostgres postgres) {
        List<String> missing = Node.missingTools();
        Assumptions.assumeTrue(missing.isEmpty(), String.join(" and ", missing) + " not installed: skipping the Node test");
        Node node = Node.install("node-pg", "pg", "8.23.1");
        Pgkit pgkit = Db.pgkit(postgres, TestPostgres.uniqueName("conversation_node"));
        try {
            ConversationStore java = pgkit.conversation();
            HistoryEntry fromJava = java.save(NewHistoryEntry.of("+34600000001", "java-ref", "written by Java", "flow:java#1")
                    .withKeyword("hi").withOptions(Map.of("media", "https://example.com/a.png")));
            java.saveContact("+34600000001", Map.of("name", "Ana"));

            JsonNode out = node.run("node/conversation-interop.mjs", Map.of("PGKIT_NODE_URL", Node.postgresUrl(postgres.url(), pgkit.schema())),
                    Map.of("phone", "+34600000002", "concurrent", 24, "readPhone", "+34600000001",
                            "contactSaves", List.of(Map.of("values", Map.of("name", "Luis", "plan", "free"), "action", "a"),
                                    Map.of("values", Map.of("plan", "pro"), "action", "a"))));

            assertThat(out.get("failed")).as("no first message refused").isEmpty();
            assertThat(out.get("saved").asInt()).isEqualTo(24);
            assertThat(Db.scalar(pgkit, "SELECT count(*) FROM \"" + pgkit.schema() + "\".contact WHERE phone = '+34600000002'")).isEqualTo(1);
            Contact contact = java.getContact("+34600000002").orElseThrow();
            assertThat(contact.values()).containsOnly(Map.entry("name", "Luis"), Map.entry("plan", "pro"));
            HistoryEntry latest = java.getPrevByNumber("+34600000002").orElseThrow();
            assertThat(latest.contactId()).contains(contact.id());
            assertThat(latest.keyword()).contains("hola");
            assertThat(latest.optionsJson()).hasValueSatisfying(json -> assertThat(json).startsWith("{\"i\": "));
            assertThat(java.history("+34600000002", HistoryQuery.newest(100)).entries()).hasSize(24).allSatisfy(e -> assertThat(e.contactId()).contains(contact.id()));

            JsonNode prev = out.get("prev");
            assertThat(prev.get("id").asLong()).isEqualTo(fromJava.id());
            assertThat(prev.get("refSerialize").asText()).isEqualTo("flow:java#1");
            assertThat(prev.get("answer").asText()).isEqualTo("written by Java");
            assertThat(prev.get("options").get("media").asText()).isEqualTo("https://example.com/a.png");
            assertThat(prev.get("contact_id").asLong()).isEqualTo(fromJava.contactId().orElseThrow());
            assertThat(out.get("contact").get("values").get("name").asText()).isEqualTo("Ana");
        } finally {
            Db.dropAndClose(pgkit);
        }
    }
}
