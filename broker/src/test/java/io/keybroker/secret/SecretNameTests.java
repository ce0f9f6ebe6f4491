package io.keybroker.secret;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

class SecretNameTests {

    @ParameterizedTest
    @ValueSource(strings = {"stripe/secret-key", "stripe/webhook-secret", "stripe/restricted/reporting", "a",
            "0/1.2_3-4", "stripe/v1.2"})
    void shouldAcceptValidNames(String raw) {
        assertThat(SecretName.parse(raw).value()).isEqualTo(raw);
    }

    @ParameterizedTest
    @ValueSource(strings = {"", "/", "stripe//key", "/stripe", "stripe/", "..", "stripe/../prod", "stripe/.hidden",
            "Stripe/key", "stripe/KEY", "stripe%2Fkey", "stripe/%2e%2e", "stripe/key\u0000", "stripe/ke y",
            "stripe\\key", "stripe/-dash", "stripe/_x", "stripe/k\u00e9y", "stripe/key?x=1", "stripe/key#f"})
    void shouldRejectMalformedNames(String raw) {
        assertThatThrownBy(() -> SecretName.parse(raw)).isInstanceOf(InvalidSecretNameException.class)
                .message().doesNotContain("\u0000");
    }

    @org.junit.jupiter.api.Test
    void shouldRejectNamesLongerThan256Characters() {
        String longest = "a".repeat(256);
        assertThat(SecretName.parse(longest).value()).hasSize(256);
        assertThatThrownBy(() -> SecretName.parse("a".repeat(300)))
                .isInstanceOf(InvalidSecretNameException.class).hasMessageContaining("300 characters");
    }

    @org.junit.jupiter.api.Test
    void shouldKnowWhetherANameLiesWithinAPrefix() {
        SecretName prefix = SecretName.parse("stripe/restricted");
        assertThat(SecretName.parse("stripe/restricted/reporting").isWithin(prefix)).isTrue();
        assertThat(SecretName.parse("stripe/restricted").isWithin(prefix)).isTrue();
        assertThat(SecretName.parse("stripe/restrictedx").isWithin(prefix)).isFalse();
        assertThat(SecretName.parse("stripe/secret-key").toPropertyName()).isEqualTo("stripe.secret-key");
    }
}
