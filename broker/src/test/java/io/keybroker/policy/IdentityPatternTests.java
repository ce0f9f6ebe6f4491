package io.keybroker.policy;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.keybroker.identity.WorkloadIdentity;
import io.keybroker.secret.SecretName;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import org.junit.jupiter.params.provider.ValueSource;

class IdentityPatternTests {

    @ParameterizedTest
    @CsvSource({
        "spiffe://cluster.local/ns/payments/sa/checkout, spiffe://cluster.local/ns/payments/sa/checkout, true",
        "spiffe://cluster.local/ns/payments/sa/checkout, spiffe://cluster.local/ns/payments/sa/checkout2, false",
        "spiffe://cluster.local/ns/payments/*, spiffe://cluster.local/ns/payments/sa/checkout, true",
        "spiffe://cluster.local/ns/payments/*, spiffe://cluster.local/ns/payments/x, true",
        "spiffe://cluster.local/ns/payments/*, spiffe://cluster.local/ns/payments, false",
        "spiffe://cluster.local/ns/payments/*, spiffe://cluster.local/ns/payments-eu/sa/x, false",
        "spiffe://cluster.local/*, spiffe://cluster.local/anything/at/all, true",
        "spiffe://cluster.local/*, spiffe://cluster.localhost/a, false",
    })
    void shouldMatchSpiffeIdentities(String pattern, String identity, boolean matches) {
        assertThat(IdentityPattern.parse(pattern).matches(WorkloadIdentity.spiffe(identity))).isEqualTo(matches);
    }

    @ParameterizedTest
    @ValueSource(strings = {"spiffe://", "spiffe:///ns/x", "SPIFFE://td/x", "spiffe://td/x/", "spiffe://td//x",
        "spiffe://td/./x", "spiffe://td/x/..", "spiffe://td:1/x", "spiffe://u@td/x", "spiffe://td/x?a", "spiffe://td/x#f",
        "spiffe://TD/x", "spiffe://td/x%2Fy", "spiffe://td/x y", "spiffe://*/x", "spiffe://td/**", "spiffe://td/a*/b",
        "*", "cluster.local/ns/x", "cn:", "cn:*", "cn: leading-space", "spiffe://td"})
    void shouldRejectInvalidIdentityPatternsWithAFix(String raw) {
        assertThatThrownBy(() -> IdentityPattern.parse(raw)).isInstanceOf(IllegalArgumentException.class)
                .hasMessageStartingWith("identity '" + SecretName.printable(raw) + "'");
    }

    @Test
    void shouldRejectOverlongSpiffeIds() {
        String id = "spiffe://td/" + "a".repeat(2100);
        assertThatThrownBy(() -> IdentityPattern.parse(id)).hasMessageContaining("a SPIFFE ID has at most 2048");
    }

    @ParameterizedTest
    @CsvSource({"stripe/secret-key, EXACT", "stripe/*, ONE_LEVEL", "stripe/**, ANY_DEPTH", "a/b.c_d-e/**, ANY_DEPTH"})
    void shouldParseTheThreeSecretPatternForms(String raw, SecretPattern.Kind kind) {
        assertThat(SecretPattern.parse(raw).kind()).isEqualTo(kind);
    }

    @ParameterizedTest
    @ValueSource(strings = {"*", "**", "/*", "/**", "stripe/*/x", "stripe/**/x", "stripe*", "stripe/sk_*", "stripe/***",
        "stripe//*", "Stripe/*", "../*", "", "stripe/"})
    void shouldRejectEveryOtherSecretPattern(String raw) {
        assertThatThrownBy(() -> SecretPattern.parse(raw)).isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("write an exact name (stripe/secret-key), a prefix and '/*' for one more segment");
    }
}
