package io.keybroker.cache;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.keybroker.backend.BackendLocation;
import io.keybroker.backend.BackendVersion;
import io.keybroker.backend.ChangeMarker;
import io.keybroker.secret.SecretValue;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.time.Instant;
import org.junit.jupiter.api.Test;

class CachedSecretTests {

    private static final BackendLocation KEY = BackendLocation.of("file", "prod/stripe/secret-key");
    private static final Instant PREVIOUS_CREATED = Instant.parse("2026-08-20T10:00:00Z");
    private static final Instant CURRENT_CREATED = Instant.parse("2026-11-20T10:00:00Z");
    private static final Duration GRACE = Duration.ofDays(7);

    private final SecretCipher cipher = new SecretCipher();

    private EncryptedVersion encrypted(BackendLocation location, String id, Instant created) {
        return cipher.encrypt(location, new BackendVersion(id, created,
                SecretValue.adopt(("value-" + id).getBytes(StandardCharsets.UTF_8))));
    }

    private CachedSecret entry() {
        return new CachedSecret(KEY, encrypted(KEY, "2", CURRENT_CREATED), encrypted(KEY, "1", PREVIOUS_CREATED),
                CURRENT_CREATED.plusSeconds(3), CURRENT_CREATED.plusSeconds(3), new ChangeMarker("m"));
    }

    @Test
    void shouldOfferThePreviousVersionInsideTheGraceWindow() {
        CachedSecret entry = entry();

        assertThat(entry.previousWithinGrace(CURRENT_CREATED, GRACE)).contains(entry.previous());
        assertThat(entry.previousWithinGrace(CURRENT_CREATED.plus(GRACE).minusMillis(1), GRACE))
                .contains(entry.previous());
    }

    @Test
    void shouldHideThePreviousVersionOnceTheGraceWindowHasPassed() {
        CachedSecret entry = entry();

        assertThat(entry.previousWithinGrace(CURRENT_CREATED.plus(GRACE), GRACE)).isEmpty();
        assertThat(entry.previousWithinGrace(CURRENT_CREATED.plus(Duration.ofDays(30)), GRACE)).isEmpty();
        assertThat(entry.previousWithinGrace(CURRENT_CREATED, Duration.ZERO)).isEmpty();
        assertThat(entry.previous()).isNotNull();
    }

    @Test
    void shouldHaveNoPreviousWhenTheBackendHasNone() {
        CachedSecret entry = new CachedSecret(KEY, encrypted(KEY, "1", CURRENT_CREATED), null, CURRENT_CREATED,
                CURRENT_CREATED, new ChangeMarker("m"));

        assertThat(entry.previousWithinGrace(CURRENT_CREATED, GRACE)).isEmpty();
    }

    @Test
    void shouldRefuseVersionsOfAnotherLocation() {
        BackendLocation other = BackendLocation.of("file", "prod/stripe/webhook-secret");

        assertThatThrownBy(() -> new CachedSecret(KEY, encrypted(KEY, "2", CURRENT_CREATED),
                encrypted(other, "1", PREVIOUS_CREATED), CURRENT_CREATED, CURRENT_CREATED, new ChangeMarker("m")))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining(KEY.toString());
    }
}
