package io.keybroker.backend.vault;

import static io.keybroker.backend.vault.VaultFixtures.location;
import static io.keybroker.backend.vault.VaultFixtures.properties;
import static io.keybroker.backend.vault.VaultFixtures.text;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.keybroker.backend.BackendSecret;
import io.keybroker.backend.BackendUnavailableException;
import io.keybroker.secret.SecretValue;
import io.keybroker.testsupport.OpenBaoServer;
import java.nio.charset.StandardCharsets;
import java.time.Clock;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.Set;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import reactor.core.publisher.Mono;
import reactor.core.publisher.Signal;
import reactor.util.function.Tuple2;

/** Check-and-set writes for {@code keybroker rotate}, against a real OpenBao with the documented rotator policy. */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class VaultWriterIntegrationTests {

    private static final Duration WAIT = Duration.ofSeconds(30);

    private OpenBaoServer server;
    private VaultConnection rotator;
    private VaultConnection broker;
    private VaultWriter writer;
    private VaultSecretBackend backend;

    @BeforeAll
    void start() {
        server = OpenBaoServer.start("writer");
        VaultFixtures.seedBrokerAccess(server.admin());
        String rotatorToken = server.admin().createToken(Map.of("policies", List.of(VaultFixtures.ROTATOR_POLICY),
                "ttl", "1h"));
        rotator = VaultConnection.create(VaultFixtures.token(server.address(), rotatorToken), properties());
        writer = new VaultWriter(rotator);
        broker = VaultConnection.create(VaultFixtures.appRole(server.address()), properties());
        backend = new VaultSecretBackend(broker, Clock.systemUTC());
    }

    @AfterAll
    void stop() {
        rotator.close();
        broker.close();
        server.close();
    }

    @Test
    void shouldLetExactlyOneOfTwoWritesBasedOnTheSameVersionWin() {
        String path = "prod/cas/stripe/secret-key";
        assertThat(writer.latestVersion(path).block(WAIT)).isZero();
        assertThat(writer.write(path, "value", value("sk_live_first"), 0).block(WAIT)).isEqualTo(1);
        long base = writer.latestVersion(path).block(WAIT);

        Tuple2<Signal<Long>, Signal<Long>> outcomes = Mono.zip(
                writer.write(path, "value", value("sk_live_rotation_a"), base).materialize(),
                writer.write(path, "value", value("sk_live_rotation_b"), base).materialize()).block(WAIT);

        List<Signal<Long>> both = List.of(outcomes.getT1(), outcomes.getT2());
        assertThat(both).filteredOn(Signal::isOnNext).singleElement()
                .satisfies(won -> assertThat(won.get()).isEqualTo(2));
        assertThat(both).filteredOn(Signal::isOnError).singleElement().satisfies(lost ->
                assertThat(lost.getThrowable())
                        .isInstanceOf(VaultWriteConflictException.class)
                        .hasMessageContaining("secret/data/" + path)
                        .hasMessageContaining("no longer 1")
                        .hasMessageContaining("nothing was written")
                        .hasMessageNotContaining("sk_live_rotation"));
        String winner = outcomes.getT1().isOnNext() ? "sk_live_rotation_a" : "sk_live_rotation_b";

        BackendSecret secret = backend.read(location(path)).block(WAIT);
        assertThat(secret.current().version()).isEqualTo("2");
        assertThat(text(secret.current().value())).isEqualTo(winner);
        assertThat(text(secret.previous().value())).isEqualTo("sk_live_first");
        assertThat(writer.latestVersion(path).block(WAIT)).isEqualTo(2);
    }

    @Test
    void shouldRefuseAWriteBasedOnAStaleVersion() {
        String path = "prod/cas/stale";
        writer.write(path, "value", value("one"), 0).block(WAIT);
        writer.write(path, "value", value("two"), 1).block(WAIT);

        assertThatThrownBy(() -> writer.write(path, "value", value("late"), 1).block(WAIT))
                .isInstanceOf(VaultWriteConflictException.class)
                .satisfies(error -> assertThat(((VaultWriteConflictException) error).expectedVersion()).isEqualTo(1));
        assertThatThrownBy(() -> writer.write(path, "value", value("fresh"), 0).block(WAIT))
                .as("cas=0 only creates").isInstanceOf(VaultWriteConflictException.class);
        assertThat(text(backend.read(location(path)).block(WAIT).current().value())).isEqualTo("two");
    }

    @Test
    void shouldWriteEveryByteOfEveryFieldAndLeaveTheCallersValuesToTheCaller() {
        String path = "prod/cas/fields";
        String tricky = "sk_\"q\"\\b\n\t\u0001 é € 🔑";
        SecretValue main = value(tricky);
        SecretValue other = value("rk_other");

        long version = writer.write(path, new java.util.LinkedHashMap<>(Map.of("value", main, "restricted", other)), 0)
                .block(WAIT);

        assertThat(version).isEqualTo(1);
        assertThat(main.isWiped()).as("the caller owns its values").isFalse();
        assertThat(backend.read(location(path)).block(WAIT).current().value().bytes())
                .isEqualTo(tricky.getBytes(StandardCharsets.UTF_8));
        assertThat(text(backend.read(location(path, "restricted")).block(WAIT).current().value())).isEqualTo("rk_other");
        assertThat(server.admin().call("GET", "secret/data/" + path, null).path("data").path("data")
                .propertyNames()).containsExactlyInAnyOrderElementsOf(Set.of("value", "restricted"));
    }

    @Test
    void shouldRefuseAValueThatIsNotUtf8() {
        assertThatThrownBy(() -> writer.write("prod/cas/binary", "value",
                SecretValue.adopt(new byte[] {(byte) 0xc3, (byte) 0x28}), 0).block(WAIT))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("not valid UTF-8");
    }

    @Test
    void shouldNotWriteWithTheBrokersReadOnlyPolicy() {
        VaultWriter brokerWriter = new VaultWriter(broker);

        assertThatThrownBy(() -> brokerWriter.write("prod/cas/readonly", "value", value("sk_nope"), 0).block(WAIT))
                .isInstanceOf(BackendUnavailableException.class)
                .hasMessageContaining("403")
                .hasMessageContaining("create and update on secret/data/prod/*")
                .hasMessageNotContaining("sk_nope");
        assertThat(server.admin().send("GET", "secret/metadata/prod/cas/readonly", null).status()).isEqualTo(404);
    }

    private static SecretValue value(String text) {
        return SecretValue.adopt(text.getBytes(StandardCharsets.UTF_8));
    }
}
