package io.keybroker.policy;

import static org.assertj.core.api.Assertions.assertThat;

import io.keybroker.identity.WorkloadIdentity;
import java.util.List;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import org.junit.jupiter.api.Test;

/** The pattern inclusion that {@code policy diff} uses to tell a wider grant from one already covered. */
class PatternInclusionTests {

    @ParameterizedTest(name = "{0} includes {1}: {2}")
    @CsvSource({
        "stripe/**,          stripe/**,          true",
        "stripe/**,          stripe/*,           true",
        "stripe/**,          stripe/a/*,         true",
        "stripe/**,          stripe/a/b,         true",
        "stripe/**,          stripe,             false",
        "stripe/**,          stripex/a,          false",
        "stripe/*,           stripe/a,           true",
        "stripe/*,           stripe/a/b,         false",
        "stripe/*,           stripe/**,          false",
        "stripe/*,           stripe/a/*,         false",
        "stripe/a,           stripe/a,           true",
        "stripe/a,           stripe/*,           false",
        "stripe/a/*,         stripe/**,          false",
    })
    void shouldIncludeExactlyTheSecretPatternsItCovers(String wider, String narrower, boolean includes) {
        assertThat(SecretPattern.parse(wider).includes(SecretPattern.parse(narrower))).isEqualTo(includes);
    }

    @ParameterizedTest(name = "{0} includes {1}: {2}")
    @CsvSource({
        "spiffe://td/ns/payments/*,        spiffe://td/ns/payments/sa/checkout, true",
        "spiffe://td/ns/payments/*,        spiffe://td/ns/payments/sa/*,        true",
        "spiffe://td/ns/payments/*,        spiffe://td/ns/payments/*,           true",
        "spiffe://td/*,                    spiffe://td/ns/payments/*,           true",
        "spiffe://td/ns/payments/*,        spiffe://td/ns/payments-eu/sa/x,     false",
        "spiffe://td/ns/payments/*,        spiffe://td/*,                       false",
        "spiffe://td/ns/payments/sa/x,     spiffe://td/ns/payments/sa/x,        true",
        "spiffe://td/ns/payments/sa/x,     spiffe://td/ns/payments/*,           false",
        "spiffe://td/*,                    cn:checkout,                         false",
        "cn:checkout,                      cn:checkout,                         true",
    })
    void shouldIncludeExactlyTheIdentityPatternsItCovers(String wider, String narrower, boolean includes) {
        assertThat(IdentityPattern.parse(wider).includes(IdentityPattern.parse(narrower))).isEqualTo(includes);
    }

    @Test
    void shouldRepresentAPrefixByAWorkloadNoEntryNames() {
        IdentityPattern prefix = IdentityPattern.parse("spiffe://td/ns/payments/*");
        IdentityPattern taken = IdentityPattern.parse("spiffe://td/ns/payments/any-other-workload");
        WorkloadIdentity caller = prefix.representative(List.of(prefix, taken));
        assertThat(prefix.matches(caller)).isTrue();
        assertThat(caller.id()).isEqualTo("spiffe://td/ns/payments/any-other-workload-2");
        assertThat(IdentityPattern.parse("cn:checkout").representative(List.of()).text()).isEqualTo("cn:checkout");
    }
}
