package dev.pgkit.conversation;

import static org.assertj.core.api.Assertions.assertThat;

import dev.pgkit.Pgkit;
import dev.pgkit.test.Db;
import dev.pgkit.testing.PostgresExtension;
import dev.pgkit.testing.TestPostgres;
import java.time.Duration;
import java.util.Map;
import java.util.TimeZone;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

/**
 * History older than the configured retention is removed by the foundation's housekeeping, by the server's clock
 * in UTC (the seed's columns are {@code timestamp}), whatever the session TimeZone: the connections here run at
 * UTC+14, where a comparison in local time would remove entries 14 hours too early.
 */
@ExtendWith(PostgresExtension.class)
class ConversationRetentionTest {

    static void backdate(Pgkit pgkit, String phone, String age) {
        Db.execute(pgkit, "UPDATE \"" + pgkit.schema() + "\".history SET created_at = (now() AT TIME ZONE 'UTC') - interval '" + age
                + "' WHERE phone = '" + phone + "'");
    }

    static long history(Pgkit pgkit, String phone) {
        return Db.scalar(pgkit, "SELECT count(*) FROM \"" + pgkit.schema() + "\".history WHERE phone = '" + phone + "'");
    }

    @Test
    void housekeepingRemovesHistoryPastTheRetentionInUtc(TestPostgres postgres) {
        TimeZone jvm = TimeZone.getDefault();
        TimeZone.setDefault(TimeZone.getTimeZone("Pacific/Kiritimati")); // pgjdbc gives each session the JVM's zone
        Pgkit pgkit = Db.builder(postgres, TestPostgres.uniqueName("conversation_retention"))
                .housekeepingInterval(Duration.ofMillis(200)).build();
        try {
            pgkit.conversation(); // a store without retention first: the tables are prepared, the later retention still registers
            ConversationStore store = pgkit.conversation(ConversationOptions.defaults().withHistoryRetention(Duration.ofDays(30)));
            assertThat(store.historyRetention()).contains(Duration.ofDays(30));
            assertThat(Db.scalar(pgkit, "SELECT count(*) FROM pg_settings WHERE name = 'TimeZone' AND setting = 'Pacific/Kiritimati'"))
                    .isEqualTo(1);
            // written as fresh, then aged by SQL: "old" past the retention, "young" 10 hours short of it
            for (int i = 0; i < 3; i++) {
                store.save(NewHistoryEntry.of("old", "r", "a", "s"));
                store.save(NewHistoryEntry.of("young", "r", "a", "s"));
            }
            store.save(NewHistoryEntry.of("fresh", "r", "a", "s"));
            store.saveContact("old", Map.of("kept", true));
            backdate(pgkit, "young", "29 days 14 hours");
            backdate(pgkit, "old", "30 days 1 minute");

            Db.awaitTrue(pgkit, "housekeeping removed the old history",
                    "SELECT count(*) = 0 FROM \"" + pgkit.schema() + "\".history WHERE phone = 'old'");
            assertThat(history(pgkit, "young")).isEqualTo(3);
            assertThat(history(pgkit, "fresh")).isEqualTo(1);
            assertThat(store.getContact("old")).as("contacts are kept").isPresent();

            // the explicit form, as a job would call it
            assertThat(store.removeHistoryOlderThan(Duration.ofDays(29))).isEqualTo(3);
            assertThat(history(pgkit, "young")).isZero();
            assertThat(history(pgkit, "fresh")).isEqualTo(1);
        } finally {
            TimeZone.setDefault(jvm);
            Db.dropAndClose(pgkit);
        }
    }

    @Test
    void withoutRetentionHistoryIsKept(TestPostgres postgres) {
        Pgkit pgkit = Db.builder(postgres, TestPostgres.uniqueName("conversation_kept")).build();
        try {
            ConversationStore store = pgkit.conversation();
            store.save(NewHistoryEntry.of("p", "r", "a", "s"));
            backdate(pgkit, "p", "3650 days");
            assertThat(pgkit.cleanup()).isZero();
            assertThat(history(pgkit, "p")).isEqualTo(1);
            assertThat(pgkit.tables()).anySatisfy(t -> {
                assertThat(t.table()).isEqualTo("history");
                assertThat(t.rows()).isEqualTo(1);
            });
        } finally {
            Db.dropAndClose(pgkit);
        }
    }
}
