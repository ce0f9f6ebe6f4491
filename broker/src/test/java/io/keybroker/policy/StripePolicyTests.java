package io.keybroker.policy;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.api.Assertions.catchThrowableOfType;

import io.keybroker.identity.WorkloadIdentity;
import io.keybroker.secret.SecretName;
import io.keybroker.secret.Stage;
import io.keybroker.testsupport.PolicyFixtures;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

class StripePolicyTests {

    /** The Stripe example of docs/policy.md and docs/stripe-proxy.md, as a complete file. */
    static final String EXAMPLE = PolicyFixtures.policy("payments", """
                - identity: spiffe://cluster.local/ns/payments/sa/checkout
                  application: checkout
                  stripe:
                    key: stripe/secret-key            # added to the calls below
                    calls:                            # METHOD and path; * is one segment, ** any depth
                      - POST /v1/payment_intents
                      - GET /v1/payment_intents/*
                      - GET /v1/customers/**
                    webhookSecrets: [stripe/webhook-secret]   # may verify against, never read
                - identity: spiffe://cluster.local/ns/payments/*
                  application: payments-other
                  allow:
                    - secrets: [stripe/publishable-key]
                      stages: [current]
            """);

    private static final WorkloadIdentity CHECKOUT =
            WorkloadIdentity.spiffe("spiffe://cluster.local/ns/payments/sa/checkout");
    private static final WorkloadIdentity REFUNDS =
            WorkloadIdentity.spiffe("spiffe://cluster.local/ns/payments/sa/refunds");

    @TempDir
    Path dir;

    private PolicySet load(String yaml) throws IOException {
        Files.writeString(dir.resolve("payments.yaml"), yaml);
        return new PolicyLoader().load(dir);
    }

    private String failure(String yaml) throws IOException {
        Files.writeString(dir.resolve("payments.yaml"), yaml);
        return String.join("\n", catchThrowableOfType(InvalidPolicyException.class,
                () -> new PolicyLoader().load(dir)).messages());
    }

    @Test
    void shouldLoadAStripeSectionWithoutAnyReadGrant() throws IOException {
        PolicySet set = load(EXAMPLE);
        assertThat(set.stripeKey(CHECKOUT)).contains(SecretName.parse("stripe/secret-key"));
        assertThat(set.workload(CHECKOUT)).get().satisfies(w -> assertThat(w.stripe()).get()
                .satisfies(s -> assertThat(s.calls()).extracting(StripeCallPattern::text)
                        .containsExactly("POST /v1/payment_intents", "GET /v1/payment_intents/*",
                                "GET /v1/customers/**")));
        // The stripe section grants no read: the workload never holds the key.
        assertThat(set.decide(CHECKOUT, SecretName.parse("stripe/secret-key"), Stage.CURRENT).allowed()).isFalse();
        assertThat(set.decide(CHECKOUT, SecretName.parse("stripe/webhook-secret"), Stage.CURRENT).allowed())
                .isFalse();
    }

    @Test
    void shouldAllowListedCallsAndNameThePattern() throws IOException {
        PolicySet set = load(EXAMPLE);
        PolicyDecision decision = set.decideStripeCall(CHECKOUT, "GET", "/v1/payment_intents/pi_123");
        assertThat(decision.allowed()).isTrue();
        assertThat(decision.rule()).isEqualTo("payments.yaml#payments/workloads[0]/stripe/calls[1]");
        assertThat(set.decideStripeCall(CHECKOUT, "POST", "/v1/payment_intents").allowed()).isTrue();
        assertThat(set.decideStripeCall(CHECKOUT, "GET", "/v1/customers/cus_1/sources/src_2").allowed()).isTrue();
    }

    @ParameterizedTest(name = "{0} {1}")
    @CsvSource({
        "GET, /v1/payment_intents",
        "POST, /v1/payment_intents/pi_123",
        "DELETE, /v1/payment_intents/pi_123",
        "GET, /v1/payment_intents/pi_123/confirm",
        "POST, /v1/refunds",
        "GET, /v1/customers",
        "GET, /v1/payment_intents/..",
        "GET, /v1/payment_intents/",
        "GET, /v1//payment_intents/pi_1",
        "post, /v1/payment_intents",
    })
    void shouldRefuseCallsNoPatternCoversAndSayWhichListToEdit(String method, String path) throws IOException {
        PolicyDecision decision = load(EXAMPLE).decideStripeCall(CHECKOUT, method, path);
        assertThat(decision.allowed()).isFalse();
        assertThat(decision.rule()).isEqualTo(PolicyDecision.DEFAULT_DENY);
        assertThat(decision.reason()).contains("stripe.calls of payments.yaml#payments/workloads[0]");
    }

    @Test
    void shouldRefuseCallsOfAWorkloadWithoutAStripeSection() throws IOException {
        PolicyDecision decision = load(EXAMPLE).decideStripeCall(REFUNDS, "POST", "/v1/payment_intents");
        assertThat(decision.allowed()).isFalse();
        assertThat(decision.reason()).contains("payments.yaml#payments/workloads[1] has no stripe.key and "
                + "stripe.calls; add them to that entry");
    }

    @Test
    void shouldDecideWebhookSecretsByTheirOwnList() throws IOException {
        PolicySet set = load(EXAMPLE);
        PolicyDecision allowed = set.decideWebhookSecret(CHECKOUT, SecretName.parse("stripe/webhook-secret"));
        assertThat(allowed.allowed()).isTrue();
        assertThat(allowed.rule()).isEqualTo("payments.yaml#payments/workloads[0]/stripe/webhookSecrets[0]");
        PolicyDecision other = set.decideWebhookSecret(CHECKOUT, SecretName.parse("stripe/secret-key"));
        assertThat(other.allowed()).isFalse();
        assertThat(other.reason()).contains("add it to stripe.webhookSecrets of payments.yaml#payments/workloads[0]");
        assertThat(set.decideWebhookSecret(REFUNDS, SecretName.parse("stripe/webhook-secret")).allowed()).isFalse();
    }

    @Test
    void shouldStillRequireAllowWhenThereIsNoStripeSection() throws IOException {
        assertThat(failure(EXAMPLE.replace("""
                      allow:
                        - secrets: [stripe/publishable-key]
                          stages: [current]
                """, ""))).contains("spec.workloads[1].allow: missing required key 'allow'");
    }

    @ParameterizedTest(name = "{0}")
    @CsvSource(delimiter = '|', quoteCharacter = '"', ignoreLeadingAndTrailingWhitespace = false, value = {
        "lower-case method|      - POST /v1/payment_intents|      - post /v1/payment_intents|"
            + "spec.workloads[0].stripe.calls[0]: call 'post /v1/payment_intents' has method 'post' (write it in upper case: POST)",
        "unknown method|      - POST /v1/payment_intents|      - PATCH /v1/payment_intents|"
            + "has method 'PATCH'; Stripe's API uses GET, POST, DELETE",
        "no path|      - POST /v1/payment_intents|      - POST|is not METHOD and path",
        "query string|      - POST /v1/payment_intents|      - GET /v1/customers?limit=3|has a query string",
        "broker prefix|      - POST /v1/payment_intents|      - POST /stripe/v1/payment_intents|"
            + "starts with the broker's /stripe prefix; write the Stripe path as in Stripe's API reference, e.g. 'POST /v1/payment_intents'",
        "double star in the middle|      - POST /v1/payment_intents|      - GET /v1/**/x|'**' may only end the path",
        "only wildcards|      - POST /v1/payment_intents|      - GET /**|would allow every Stripe path",
        "duplicate call|      - GET /v1/customers/**|      - GET /v1/payment_intents/*|listed twice in stripe.calls",
        "dot-dot segment|      - POST /v1/payment_intents|      - POST /v1/../x|invalid segment '..'",
        "key is a pattern|key: stripe/secret-key |key: stripe/* |spec.workloads[0].stripe.key: invalid secret name",
        "unknown key|webhookSecrets:|webhookSecret:|unknown key 'webhookSecret' (did you mean 'webhookSecrets'?)",
    })
    void shouldReportMistakesInTheStripeSectionWithTheFix(String label, String from, String to, String expected)
            throws IOException {
        assertThat(EXAMPLE).contains(from);
        assertThat(failure(EXAMPLE.replaceFirst(java.util.regex.Pattern.quote(from), to))).contains(expected);
    }

    @Test
    void shouldRefuseCallsWithoutAKeyAndAKeyWithoutCalls() throws IOException {
        assertThat(failure(EXAMPLE.replace("        key: stripe/secret-key            # added to the calls below\n",
                ""))).contains("spec.workloads[0].stripe.key: stripe.calls are listed but stripe.key is missing; "
                        + "add key: stripe/secret-key");
        assertThat(failure(EXAMPLE.replaceAll("(?s)        calls:.*?\\*\\*\n", "")))
                .contains("stripe.key is set but no call is listed");
        assertThat(failure(EXAMPLE.replaceAll("(?s)        key:.*?\\*\\*\n", "")
                .replace("        webhookSecrets: [stripe/webhook-secret]   # may verify against, never read\n",
                        "        webhookSecrets: []\n")))
                .contains("the stripe section grants nothing");
    }

    @Test
    void shouldMatchStarAsOneSegmentAndDoubleStarAsAnyDepth() {
        StripeCallPattern one = StripeCallPattern.parse("GET /v1/customers/*");
        assertThat(one.matches("GET", "/v1/customers/cus_1")).isTrue();
        assertThat(one.matches("GET", "/v1/customers")).isFalse();
        assertThat(one.matches("GET", "/v1/customers/cus_1/sources")).isFalse();
        assertThat(one.matches("POST", "/v1/customers/cus_1")).isFalse();
        StripeCallPattern any = StripeCallPattern.parse("GET /v2/core/**");
        assertThat(any.matches("GET", "/v2/core/events")).isTrue();
        assertThat(any.matches("GET", "/v2/core/events/evt_1")).isTrue();
        assertThat(any.matches("GET", "/v2/core")).isFalse();
        assertThat(any.matches("GET", "/v2/core/events/../x")).isFalse();
        StripeCallPattern middle = StripeCallPattern.parse("POST /v1/payment_intents/*/confirm");
        assertThat(middle.matches("POST", "/v1/payment_intents/pi_1/confirm")).isTrue();
        assertThat(middle.matches("POST", "/v1/payment_intents/pi_1/cancel")).isFalse();
        assertThatThrownBy(() -> StripeCallPattern.parse("GET v1/customers")).hasMessageContaining("invalid path");
    }
}
