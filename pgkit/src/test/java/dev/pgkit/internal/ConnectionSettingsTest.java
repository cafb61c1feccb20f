package dev.pgkit.internal;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.util.Map;
import org.junit.jupiter.api.Test;

/** URL and environment parsing (no database needed). */
class ConnectionSettingsTest {
    @Test
    void libpqUrlWithCredentialsAndTls() {
        ConnectionSettings s = ConnectionSettings.parse("postgres://app:p%40ss+word@db.example.com:6543/orders?sslmode=require&application_name=svc");
        assertThat(s.jdbcUrl()).isEqualTo("jdbc:postgresql://db.example.com:6543/orders");
        assertThat(s.properties()).containsEntry("user", "app").containsEntry("password", "p@ss+word")
                .containsEntry("sslmode", "require").containsEntry("ApplicationName", "svc");
        assertThat(s.describe()).isEqualTo("db.example.com:6543/orders as app").doesNotContain("p@ss");
    }

    @Test
    void libpqUrlDefaultsPortAndDatabase() {
        ConnectionSettings s = ConnectionSettings.parse("postgresql://bob@localhost");
        assertThat(s.jdbcUrl()).isEqualTo("jdbc:postgresql://localhost:5432/bob");
        ConnectionSettings multi = ConnectionSettings.parse("postgres://u@h1,h2:5433,[::1]/d");
        assertThat(multi.jdbcUrl()).isEqualTo("jdbc:postgresql://h1:5432,h2:5433,[::1]:5432/d");
    }

    @Test
    void jdbcUrlPassesThrough() {
        ConnectionSettings s = ConnectionSettings.parse("jdbc:postgresql://10.0.0.5:5433/app?user=svc");
        assertThat(s.jdbcUrl()).isEqualTo("jdbc:postgresql://10.0.0.5:5433/app");
        assertThat(s.properties()).containsEntry("user", "svc");
        assertThat(s.describe()).isEqualTo("10.0.0.5:5433/app as svc");
    }

    @Test
    void otherSchemesAreRejectedWithoutEchoingThePassword() {
        assertThatThrownBy(() -> ConnectionSettings.parse("mysql://root:topsecret@h/db"))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("neither a postgres://")
                .hasMessageNotContaining("topsecret");
        assertThatThrownBy(() -> ConnectionSettings.parse(" ")).hasMessageContaining("must not be null or empty");
    }

    @Test
    void environmentOrderPostgresUrlThenDatabaseUrlThenLibpq() {
        assertThat(ConnectionSettings.fromEnvironment(Map.of("POSTGRES_URL", "postgres://a@h1/d1", "DATABASE_URL", "postgres://b@h2/d2")).jdbcUrl())
                .isEqualTo("jdbc:postgresql://h1:5432/d1");
        assertThat(ConnectionSettings.fromEnvironment(Map.of("DATABASE_URL", "postgres://b@h2/d2", "PGHOST", "h3")).jdbcUrl())
                .isEqualTo("jdbc:postgresql://h2:5432/d2");
        ConnectionSettings libpq = ConnectionSettings.fromEnvironment(Map.of("PGHOST", "h3", "PGPORT", "6000", "PGUSER", "carol",
                "PGPASSWORD", "pw", "PGDATABASE", "inventory"));
        assertThat(libpq.jdbcUrl()).isEqualTo("jdbc:postgresql://h3:6000/inventory");
        assertThat(libpq.properties()).containsEntry("user", "carol").containsEntry("password", "pw");
    }

    @Test
    void nothingConfiguredSaysWhatToSet() {
        assertThatThrownBy(() -> ConnectionSettings.fromEnvironment(Map.of()))
                .hasMessageContaining("POSTGRES_URL").hasMessageContaining("DATABASE_URL").hasMessageContaining("PGHOST");
        assertThatThrownBy(() -> ConnectionSettings.fromEnvironment(Map.of("DATABASE_URL", "redis://x")))
                .hasMessageContaining("environment variable DATABASE_URL");
    }

    @Test
    void passwordsWithReservedCharactersAreParsedAndNeverShown() {
        for (String password : new String[] {"p@ss:w/rd", "pa?ss:w", "a:b@c/d", "@:/", "s3cr3t"}) {
            String url = "postgres://app:" + password + "@db.example.com:6543/orders?sslmode=require";
            ConnectionSettings s = ConnectionSettings.parse(url);
            assertThat(s.properties()).as(password).containsEntry("user", "app").containsEntry("password", password)
                    .containsEntry("sslmode", "require");
            assertThat(s.jdbcUrl()).as(password).isEqualTo("jdbc:postgresql://db.example.com:6543/orders");
            assertThat(s.describe()).isEqualTo("db.example.com:6543/orders as app");
            assertThat(s.toString()).doesNotContain(password);
            assertThat(ConnectionSettings.redact(url)).as(password)
                    .isEqualTo("postgres://app:***@db.example.com:6543/orders?sslmode=require");
        }
    }

    @Test
    void redactHidesPasswordParametersAndLeavesTheRestAlone() {
        assertThat(ConnectionSettings.redact("jdbc:postgresql://h:5432/db?user=svc&password=s3cr3t&ssl=true"))
                .isEqualTo("jdbc:postgresql://h:5432/db?user=svc&password=***&ssl=true");
        assertThat(ConnectionSettings.redact("postgres://h/db?user=svc@corp&PASSWORD=x@y"))
                .isEqualTo("postgres://h/db?user=svc@corp&PASSWORD=***");
        assertThat(ConnectionSettings.redact("postgres://bob@h:5432/db")).isEqualTo("postgres://bob@h:5432/db");
    }

    @Test
    void malformedPercentEncodingIsRejectedWithoutEchoingIt() {
        assertThatThrownBy(() -> ConnectionSettings.parse("postgres://app:%zzsecret@h/db"))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("the password is not valid percent-encoding")
                .hasMessageNotContaining("zzsecret");
    }

    @Test
    void databaseNamesAreReencodedForTheDriver() {
        for (String name : new String[] {"a+b", "100%", "what?", "with space", "\u00fcn\u00efc\u00f8d\u00e9", "a/b", "x&y=z"}) {
            String encoded = java.net.URLEncoder.encode(name, java.nio.charset.StandardCharsets.UTF_8).replace("+", "%20");
            ConnectionSettings s = ConnectionSettings.parse("postgres://u@h:5432/" + encoded);
            assertThat(org.postgresql.Driver.parseURL(s.jdbcUrl(), new java.util.Properties()).getProperty("PGDBNAME"))
                    .as("what pgjdbc reads back for %s", name).isEqualTo(name);
            assertThat(s.describe()).isEqualTo("h:5432/" + name + " as u");
            ConnectionSettings env = ConnectionSettings.fromEnvironment(Map.of("PGHOST", "h", "PGDATABASE", name));
            assertThat(org.postgresql.Driver.parseURL(env.jdbcUrl(), new java.util.Properties()).getProperty("PGDBNAME")).isEqualTo(name);
        }
    }

    @Test
    void identifiersAreValidatedAndQuoted() {
        assertThat(Identifier.of("schema", "my_schema1").quoted()).isEqualTo("\"my_schema1\"");
        assertThatThrownBy(() -> Identifier.of("schema", "public; DROP TABLE x")).hasMessageContaining("schema 'public; DROP TABLE x' is not a safe identifier");
        assertThatThrownBy(() -> Identifier.of("schema", "1abc")).hasMessageContaining("not a safe identifier");
        assertThatThrownBy(() -> Identifier.of("schema", "a".repeat(64))).hasMessageContaining("63-byte");
        assertThatThrownBy(() -> Identifier.of("schema", "")).hasMessageContaining("schema must not be null or empty");
    }
}
