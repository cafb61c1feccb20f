package dev.pgkit.conversation;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.pgkit.OutcomeUnknownException;
import dev.pgkit.Pgkit;
import dev.pgkit.test.Db;
import dev.pgkit.test.TcpProxy;
import dev.pgkit.testing.PostgresExtension;
import dev.pgkit.testing.TestPostgres;
import java.util.Map;
import java.util.UUID;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

/**
 * A connection that breaks after a statement was sent (the answer is lost, the commit may have happened): a save
 * (an append) and a forget (whose report must be what it did) are never repeated and fail with
 * {@link OutcomeUnknownException} having applied once; reads and the idempotent contact upsert are repeated and
 * succeed.
 */
@ExtendWith(PostgresExtension.class)
class ConversationFaultTest {
    static TestPostgres postgres;
    static String schema;
    static String role;

    @BeforeAll
    static void setUp(TestPostgres server) {
        postgres = server;
        schema = TestPostgres.uniqueName("conversation_fault");
        role = TestPostgres.uniqueName("pgkit_conv_lost");
        Db.admin(postgres, "CREATE ROLE " + role + " LOGIN PASSWORD 'pw'", "CREATE SCHEMA " + schema + " AUTHORIZATION " + role);
    }

    @AfterAll
    static void tearDown() {
        Db.admin(postgres, "DROP SCHEMA " + schema + " CASCADE", "DROP OWNED BY " + role, "DROP ROLE " + role);
    }

    static long count(String sql) {
        try (Pgkit pgkit = Pgkit.builder().url(Db.server(postgres).urlFor(role, "pw", 0)).schema(schema).poolSize(1)
                .disableHousekeeping().build()) {
            return Db.scalar(pgkit, sql.replace("${s}", "\"" + schema + "\""));
        }
    }

    @Test
    void appendsAndErasuresAreNotRepeatedReadsAndUpsertsAre() throws Exception {
        Db.Server server = Db.server(postgres);
        try (TcpProxy proxy = new TcpProxy(server.host(), server.port());
             Pgkit pgkit = Pgkit.builder().url(server.urlFor(role, "pw", proxy.port())).schema(schema).poolSize(2)
                     .disableHousekeeping().build()) {
            ConversationStore store = pgkit.conversation();
            String phone = "+44" + UUID.randomUUID().toString().substring(0, 8);
            String answer = "lost-" + UUID.randomUUID();

            proxy.loseAnswerTo(answer);
            assertThatThrownBy(() -> store.save(NewHistoryEntry.of(phone, "r", answer, "s")))
                    .isInstanceOf(OutcomeUnknownException.class)
                    .hasMessageContaining("conversation.save(" + phone + ")");
            assertThat(count("SELECT count(*) FROM ${s}.history WHERE answer = '" + answer + "'")).as("applied once").isEqualTo(1);

            String name = "merged-" + UUID.randomUUID();
            proxy.loseAnswerTo(name);
            assertThat(store.saveContact(phone, Map.of("name", name)).values()).containsEntry("name", name);
            proxy.loseAnswerTo(phone);
            assertThat(store.getPrevByNumber(phone).map(HistoryEntry::answer)).contains(answer);
            assertThat(proxy.answersLost()).isEqualTo(3);

            proxy.loseAnswerTo(phone);
            assertThatThrownBy(() -> store.forget(phone)).isInstanceOf(OutcomeUnknownException.class)
                    .hasMessageContaining("conversation.forget(" + phone + ")");
            assertThat(count("SELECT count(*) FROM ${s}.contact WHERE phone = '" + phone + "'")).isZero();
            assertThat(count("SELECT count(*) FROM ${s}.history WHERE phone = '" + phone + "'")).isZero();
            assertThat(store.forget(phone)).as("a second call reports what it did: nothing").isEqualTo(new Forgotten(phone, 0, 0));
        }
    }
}
