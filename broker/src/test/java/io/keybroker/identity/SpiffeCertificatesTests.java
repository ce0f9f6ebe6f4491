package io.keybroker.identity;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.keybroker.testsupport.TestPki;
import java.security.cert.CertificateException;
import java.security.cert.X509Certificate;
import org.junit.jupiter.api.Test;

/**
 * The subject-CN fallback of {@link SpiffeCertificates}, for the cases SpiffeCertificatesFuzzTests found accepted
 * wrongly; the SPIFFE rules themselves are covered end to end by the listener's integration tests.
 */
class SpiffeCertificatesTests {

    private static final String CHECKOUT = "spiffe://cluster.local/ns/payments/sa/checkout";
    private static final TestPki.Cert CA = TestPki.ca("identity test CA");

    @Test
    void shouldIdentifyBySubjectCnWhenTheFallbackIsOnAndTheSubjectHasOneCn() throws Exception {
        X509Certificate leaf = TestPki.issue(CA, TestPki.leaf().subject("CN=legacy-billing,O=payments")
                .dns("billing.internal")).certificate();

        assertThat(SpiffeCertificates.identify(new X509Certificate[] {leaf}, true))
                .isEqualTo(new WorkloadIdentity("legacy-billing", WorkloadIdentity.Source.SUBJECT_CN));
        assertThatThrownBy(() -> SpiffeCertificates.identify(new X509Certificate[] {leaf}, false))
                .isInstanceOf(CertificateException.class).hasMessageContaining("no SPIFFE ID");
    }

    @Test
    void shouldAcceptExactlyTheCnsAPolicyCnEntryCanName() throws Exception {
        // One rule for the handshake and the policy file: "cn:my app" is a valid entry, so "my app" is an identity.
        X509Certificate spaced = TestPki.issue(CA, TestPki.leaf().commonName("legacy billing")).certificate();
        assertThat(SpiffeCertificates.identify(new X509Certificate[] {spaced}, true))
                .isEqualTo(new WorkloadIdentity("legacy billing", WorkloadIdentity.Source.SUBJECT_CN));

        // RFC 2253 escapes, so the CN holds exactly the '+' and the leading or trailing space
        for (String subject : new String[] {"CN=billing\\+1", "CN=\\ billing", "CN=billing\\ ",
                "CN=" + "a".repeat(65), "CN=*.billing"}) {
            X509Certificate leaf = TestPki.issue(CA, TestPki.leaf().subject(subject)).certificate();
            assertThatThrownBy(() -> SpiffeCertificates.identify(new X509Certificate[] {leaf}, true))
                    .as(subject).isInstanceOf(CertificateException.class)
                    .hasMessageContaining("subject CN cannot be an identity");
        }
    }

    @Test
    void shouldRefuseASanExtensionTheJdkCannotParseInsteadOfTakingItForNoSpiffeId() {
        // Java 17 reports no SANs at all for this certificate, which carries two SPIFFE IDs.
        X509Certificate leaf = TestPki.issue(CA, TestPki.leaf().commonName("legacy-billing").uri(CHECKOUT)
                .uri("spiffe://cluster.local/ns/a b")).certificate();

        for (boolean fallback : new boolean[] {true, false}) {
            assertThatThrownBy(() -> SpiffeCertificates.identify(new X509Certificate[] {leaf}, fallback))
                    .isInstanceOf(CertificateException.class);
        }
    }

    @Test
    void shouldRefuseTwoCnsInSeparateOrInOneMultiValuedRdn() {
        for (String subject : new String[] {"CN=legacy-billing,CN=admin", "CN=legacy-billing+CN=admin"}) {
            X509Certificate leaf = TestPki.issue(CA, TestPki.leaf().subject(subject)).certificate();

            assertThatThrownBy(() -> SpiffeCertificates.identify(new X509Certificate[] {leaf}, true))
                    .as(subject).isInstanceOf(CertificateException.class).hasMessageContaining("2 CNs");
        }
    }

    @Test
    void shouldRefuseACnWhoseValueIsNotText() {
        // An OCTET STRING holding "checkout": the JDK's RFC 2253 rendering makes it a byte array.
        X509Certificate leaf = TestPki.issue(CA, TestPki.leaf().subject("CN=#0408636865636b6f7574")).certificate();

        assertThatThrownBy(() -> SpiffeCertificates.identify(new X509Certificate[] {leaf}, true))
                .isInstanceOf(CertificateException.class).hasMessageContaining("not text");
    }

    @Test
    void shouldRefuseACnThatIsAUtf8StringButNotUtf8() {
        // Found by SpiffeCertificatesFuzzTests: the decoder's IllegalArgumentException escaped the trust manager.
        X509Certificate leaf = TestPki.issue(CA, TestPki.leaf().subject("CN=#0c02c328")).certificate();

        assertThatThrownBy(() -> SpiffeCertificates.identify(new X509Certificate[] {leaf}, true))
                .isInstanceOf(CertificateException.class).hasMessageContaining("not valid text");
    }
}
