package io.keybroker.identity;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import org.junit.jupiter.api.Test;

class WorkloadIdentityTests {

    @Test
    void shouldParseCallerIdentitiesForExplain() {
        assertThat(WorkloadIdentity.parse("cn:legacy-batch"))
                .isEqualTo(new WorkloadIdentity("legacy-batch", WorkloadIdentity.Source.SUBJECT_CN));
        assertThat(WorkloadIdentity.parse("spiffe://td/x")).isEqualTo(WorkloadIdentity.spiffe("spiffe://td/x"));
        assertThatThrownBy(() -> WorkloadIdentity.parse("spiffe://td/*"))
                .hasMessageContaining("is a pattern; give one caller's SPIFFE ID");
    }

    @Test
    void shouldRefuseWhatNoCertificateCouldCarry() {
        assertThatThrownBy(() -> WorkloadIdentity.parse("spiffe://td./x")).hasMessageContaining("ending in '.'");
        assertThatThrownBy(() -> WorkloadIdentity.parse("cn:*")).hasMessageContaining("invalid common name");
        assertThat(SpiffeIdGrammar.isUsableCommonName(null)).isFalse();
        assertThat(SpiffeIdGrammar.isUsableCommonName("legacy batch")).isTrue();
    }
}
