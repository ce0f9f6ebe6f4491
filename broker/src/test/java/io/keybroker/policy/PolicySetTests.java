package io.keybroker.policy;

import static org.assertj.core.api.Assertions.assertThat;

import io.keybroker.identity.WorkloadIdentity;
import io.keybroker.secret.SecretName;
import io.keybroker.secret.Stage;
import io.keybroker.testsupport.PolicyFixtures;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class PolicySetTests {

    private static final WorkloadIdentity CHECKOUT = WorkloadIdentity.spiffe("spiffe://cluster.local/ns/payments/sa/checkout");
    private static final WorkloadIdentity REFUNDS = WorkloadIdentity.spiffe("spiffe://cluster.local/ns/payments/sa/refunds");
    private static final WorkloadIdentity REPORTING = WorkloadIdentity.spiffe("spiffe://cluster.local/ns/reporting/sa/daily");
    private static final WorkloadIdentity STRANGER = WorkloadIdentity.spiffe("spiffe://cluster.local/ns/other/sa/x");

    @TempDir
    Path dir;

    private PolicySet policy;

    @BeforeEach
    void load() throws IOException {
        Files.writeString(dir.resolve("payments.yaml"), PolicyFixtures.PAYMENTS_WITH_NAMESPACE);

        Files.writeString(dir.resolve("reporting.yml"), PolicyFixtures.policy("reporting", """
                    - identity: spiffe://cluster.local/ns/reporting/sa/daily
                      application: daily-report
                      allow:
                        - secrets: [stripe/restricted/**]
                          stages: [previous]
                    - identity: spiffe://cluster.local/*
                      application: everyone
                      allow:
                        - secrets: [public/banner]
                          stages: [current]
                    - identity: cn:legacy-batch
                      application: legacy
                      allow:
                        - secrets: [stripe/secret-key]
                          stages: [current]
                """));
        policy = new PolicyLoader().load(dir);
    }

    private PolicyDecision decide(WorkloadIdentity identity, String name, Stage stage) {
        return policy.decide(identity, SecretName.parse(name), stage);
    }

    @Test
    void shouldAllowAnExactSecretToAnExactIdentityAndNameTheRule() {
        PolicyDecision decision = decide(CHECKOUT, "stripe/secret-key", Stage.CURRENT);
        assertThat(decision.allowed()).isTrue();
        assertThat(decision.rule()).isEqualTo("payments.yaml#payments/workloads[0]/allow[0]");
        assertThat(decision.reason()).contains("stripe/secret-key", "spiffe://cluster.local/ns/payments/sa/checkout");
        assertThat(decide(CHECKOUT, "stripe/secret-key", Stage.PREVIOUS).allowed()).isTrue();
    }

    @Test
    void shouldDenyAStageTheRuleDoesNotGrantAndSaySo() {
        PolicyDecision decision = decide(CHECKOUT, "stripe/webhook-secret", Stage.PREVIOUS);
        assertThat(decision.allowed()).isFalse();
        assertThat(decision.rule()).isEqualTo(PolicyDecision.DEFAULT_DENY);
        assertThat(decision.reason()).isEqualTo("workload checkout (spiffe://cluster.local/ns/payments/sa/checkout) "
                + "is not granted stage previous of stripe/webhook-secret; "
                + "payments.yaml#payments/workloads[0]/allow[1] grants only stage current");
        assertThat(decide(CHECKOUT, "stripe/webhook-secret", Stage.CURRENT).allowed()).isTrue();
    }

    @Test
    void shouldNotTreatAnExactSecretAsAPrefix() {
        assertThat(decide(CHECKOUT, "stripe/secret-key/extra", Stage.CURRENT).allowed()).isFalse();
        assertThat(decide(CHECKOUT, "stripe/secret-keys", Stage.CURRENT).allowed()).isFalse();
        assertThat(decide(CHECKOUT, "stripe", Stage.CURRENT).allowed()).isFalse();
    }

    @Test
    void shouldMatchOneSegmentWithSingleStar() {
        assertThat(decide(REFUNDS, "shared/db-password", Stage.CURRENT).allowed()).isTrue();
        assertThat(decide(REFUNDS, "shared/db/password", Stage.CURRENT).allowed()).isFalse();
        assertThat(decide(REFUNDS, "shared", Stage.CURRENT).allowed()).isFalse();
        assertThat(decide(REFUNDS, "sharedx/a", Stage.CURRENT).allowed()).isFalse();
    }

    @Test
    void shouldMatchAnyDepthWithDoubleStar() {
        assertThat(decide(REPORTING, "stripe/restricted/reporting", Stage.PREVIOUS).allowed()).isTrue();
        assertThat(decide(REPORTING, "stripe/restricted/eu/reporting", Stage.PREVIOUS).allowed()).isTrue();
        assertThat(decide(REPORTING, "stripe/restricted", Stage.PREVIOUS).allowed()).isFalse();
        assertThat(decide(REPORTING, "stripe/restrictedx/a", Stage.PREVIOUS).allowed()).isFalse();
        assertThat(decide(REPORTING, "stripe/restricted/reporting", Stage.CURRENT).allowed()).isFalse();
    }

    @Test
    void shouldMatchIdentityPrefixesAtAnyDepthBelowThePrefix() {
        assertThat(decide(REFUNDS, "shared/db-password", Stage.CURRENT).rule())
                .isEqualTo("payments.yaml#payments/workloads[1]/allow[0]");
        WorkloadIdentity sibling = WorkloadIdentity.spiffe("spiffe://cluster.local/ns/payments-eu/sa/checkout");
        assertThat(decide(sibling, "shared/db-password", Stage.CURRENT).allowed()).isFalse();
        WorkloadIdentity otherDomain = WorkloadIdentity.spiffe("spiffe://example.org/ns/payments/sa/checkout");
        assertThat(decide(otherDomain, "public/banner", Stage.CURRENT).allowed()).isFalse();
        assertThat(decide(STRANGER, "public/banner", Stage.CURRENT).allowed()).isTrue();
    }

    @Test
    void shouldGrantTheUnionOfEveryMatchingEntry() {
        // checkout matches its exact entry, the ns/payments/* prefix and the trust-domain-wide prefix.
        assertThat(decide(CHECKOUT, "stripe/secret-key", Stage.CURRENT).allowed()).isTrue();
        assertThat(decide(CHECKOUT, "shared/db-password", Stage.CURRENT).rule())
                .isEqualTo("payments.yaml#payments/workloads[1]/allow[0]");
        assertThat(decide(CHECKOUT, "public/banner", Stage.CURRENT).rule())
                .isEqualTo("reporting.yml#reporting/workloads[1]/allow[0]");
        assertThat(policy.grantedStages(CHECKOUT, SecretName.parse("stripe/secret-key")))
                .containsExactlyInAnyOrder(Stage.CURRENT, Stage.PREVIOUS);
        assertThat(policy.mayRead(REFUNDS, SecretName.parse("stripe/secret-key"))).isFalse();
    }

    @Test
    void shouldDenyByDefaultWhenNoEntryMatches() {
        WorkloadIdentity foreign = WorkloadIdentity.spiffe("spiffe://example.org/ns/payments/sa/checkout");
        PolicyDecision decision = decide(foreign, "stripe/secret-key", Stage.CURRENT);
        assertThat(decision).isEqualTo(new PolicyDecision(false, "default-deny",
                "no workload entry matches identity spiffe://example.org/ns/payments/sa/checkout"));
    }

    @Test
    void shouldDenyASecretNoRuleCoversAndNameTheEntriesConsulted() {
        PolicyDecision decision = decide(REFUNDS, "stripe/secret-key", Stage.CURRENT);
        assertThat(decision.allowed()).isFalse();
        assertThat(decision.rule()).isEqualTo("default-deny");
        assertThat(decision.reason()).contains("workload payments-shared", "is not granted stripe/secret-key",
                "payments.yaml#payments/workloads[1]", "reporting.yml#reporting/workloads[1]");
    }

    @Test
    void shouldMatchCommonNamesOnlyForCertificatesAcceptedByTheirCn() {
        WorkloadIdentity byCn = new WorkloadIdentity("legacy-batch", WorkloadIdentity.Source.SUBJECT_CN);
        assertThat(decide(byCn, "stripe/secret-key", Stage.CURRENT).allowed()).isTrue();
        assertThat(decide(byCn, "stripe/secret-key", Stage.PREVIOUS).allowed()).isFalse();
        // A SPIFFE identity that happens to equal the CN text gets nothing from the cn: entry ...
        assertThat(decide(WorkloadIdentity.spiffe("legacy-batch"), "stripe/secret-key", Stage.CURRENT).allowed())
                .isFalse();
        // ... and a CN that looks like a SPIFFE ID gets nothing from SPIFFE entries.
        WorkloadIdentity spoof = new WorkloadIdentity(CHECKOUT.id(), WorkloadIdentity.Source.SUBJECT_CN);
        assertThat(decide(spoof, "stripe/secret-key", Stage.CURRENT).allowed()).isFalse();
        assertThat(decide(spoof, "public/banner", Stage.CURRENT).allowed()).isFalse();
    }

    @Test
    void shouldTakeApplicationAndRateLimitFromTheMostSpecificEntry() {
        assertThat(policy.workload(CHECKOUT)).get().satisfies(w -> {
            assertThat(w.application()).isEqualTo("checkout");
            assertThat(w.rateLimit()).contains(RateLimit.parse("100/s"));
            assertThat(w.entry()).isEqualTo("payments.yaml#payments/workloads[0]");
        });
        assertThat(policy.workload(REFUNDS)).get().satisfies(w -> {
            assertThat(w.application()).isEqualTo("payments-shared");
            assertThat(w.rateLimit()).contains(RateLimit.parse("1000/m"));
        });
        assertThat(policy.workload(STRANGER)).get().satisfies(w -> {
            assertThat(w.application()).isEqualTo("everyone");
            assertThat(w.rateLimit()).isEmpty();
        });
        assertThat(policy.workload(WorkloadIdentity.spiffe("spiffe://example.org/a"))).isEmpty();
    }

    @Test
    void shouldListEveryGrantWithItsRule() {
        assertThat(policy.grants()).extracting(g -> g.identity() + " " + g.secret() + " " + g.stage() + " " + g.rule())
                .containsExactly(
                        "spiffe://cluster.local/ns/payments/sa/checkout stripe/secret-key current payments.yaml#payments/workloads[0]/allow[0]",
                        "spiffe://cluster.local/ns/payments/sa/checkout stripe/secret-key previous payments.yaml#payments/workloads[0]/allow[0]",
                        "spiffe://cluster.local/ns/payments/sa/checkout stripe/webhook-secret current payments.yaml#payments/workloads[0]/allow[1]",
                        "spiffe://cluster.local/ns/payments/* shared/* current payments.yaml#payments/workloads[1]/allow[0]",
                        "spiffe://cluster.local/ns/reporting/sa/daily stripe/restricted/** previous reporting.yml#reporting/workloads[0]/allow[0]",
                        "spiffe://cluster.local/* public/banner current reporting.yml#reporting/workloads[1]/allow[0]",
                        "cn:legacy-batch stripe/secret-key current reporting.yml#reporting/workloads[2]/allow[0]");
        assertThat(policy.files()).containsExactly("payments.yaml", "reporting.yml");
        assertThat(policy.digest()).hasSize(64);
    }

    @Test
    void shouldDenyEverythingWithAnEmptyPolicy() {
        assertThat(PolicySet.empty().decide(CHECKOUT, SecretName.parse("stripe/secret-key"), Stage.CURRENT).allowed())
                .isFalse();
    }
}
