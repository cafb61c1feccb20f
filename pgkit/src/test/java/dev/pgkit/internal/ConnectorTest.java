package dev.pgkit.internal;

import static org.assertj.core.api.Assertions.assertThat;

import java.time.Duration;
import java.util.Optional;
import org.junit.jupiter.api.Test;

/** The builder's connection options as driver properties (no database needed). */
class ConnectorTest {
    static Connector connector(Optional<Connector.Credentials> credentials) {
        return new Connector(new Connector.Options(credentials, Optional.empty(), Optional.empty(), 4,
                Duration.ofSeconds(7), Duration.ofSeconds(10), Duration.ofSeconds(30)));
    }

    @Test
    void credentialsOverrideTheUrlsAndANullPasswordMeansNone() {
        ConnectionSettings url = ConnectionSettings.parse("postgres://app:from-url@h/db");
        ConnectionSettings withPassword = connector(Optional.of(new Connector.Credentials("svc", Optional.of("given")))).withOptions(url);
        assertThat(withPassword.properties()).containsEntry("user", "svc").containsEntry("password", "given");
        assertThat(withPassword.describe()).isEqualTo("h:5432/db as svc");

        ConnectionSettings noPassword = connector(Optional.of(new Connector.Credentials("cert-user", Optional.empty()))).withOptions(url);
        assertThat(noPassword.properties()).containsEntry("user", "cert-user").doesNotContainKey("password");

        assertThat(connector(Optional.empty()).withOptions(url).properties()).containsEntry("user", "app").containsEntry("password", "from-url");
        assertThat(new Connector.Credentials("svc", Optional.of("given")).toString()).doesNotContain("given");
    }

    @Test
    void connectTimeoutBoundsTheWholeLoginInWholeSeconds() {
        ConnectionSettings settings = connector(Optional.empty()).withOptions(ConnectionSettings.parse("postgres://app@h/db"));
        assertThat(settings.properties()).containsEntry("connectTimeout", "7").containsEntry("loginTimeout", "7");
    }

    @Test
    void theSocketTimeoutIsALittleLongerThanTheStatementTimeoutInWholeSeconds() {
        assertThat(Timeouts.of(Duration.ofSeconds(30)).socket()).isEqualTo(Duration.ofSeconds(32));
        assertThat(Timeouts.of(Duration.ofMillis(1_500)).socket()).isEqualTo(Duration.ofSeconds(4));
    }
}
