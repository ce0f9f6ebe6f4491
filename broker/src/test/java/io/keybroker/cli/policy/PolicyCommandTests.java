package io.keybroker.cli.policy;

import static org.assertj.core.api.Assertions.assertThat;

import io.keybroker.audit.AccessRecord;
import io.keybroker.audit.ChainedAuditLog;
import io.keybroker.testsupport.PolicyFixtures;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class PolicyCommandTests {

    private static final String CHECKOUT = "spiffe://cluster.local/ns/payments/sa/checkout";
    private static final String POLICY = PolicyFixtures.PAYMENTS;

    @TempDir
    Path tmp;

    private Path policyDir;
    private String out;
    private String err;

    @BeforeEach
    void writePolicy() throws IOException {
        policyDir = Files.createDirectory(tmp.resolve("policy"));
        Files.writeString(policyDir.resolve("payments.yaml"), POLICY);
    }

    private int run(String... args) {
        CliRun run = CliRun.of(args);
        out = run.out();
        err = run.err();
        return run.status();
    }

    private String dir() {
        return policyDir.toString();
    }

    // ---- check

    @Test
    void shouldPassAValidPolicyWithASummary() {
        assertThat(run("policy", "check", dir())).isZero();
        assertThat(out).isEqualTo("payments.yaml: 1 workload entry, 3 grant(s)\n"
                + "OK: 1 file(s), 1 workload entry, 3 grant(s) in " + dir() + "\n");
    }

    @Test
    void shouldListEveryProblemAndExitOne() throws IOException {
        Files.writeString(policyDir.resolve("broken.yaml"), POLICY.replace("name: payments", "name: broken")
                .replace("/sa/checkout", "/sa/refunds").replace("stripe/webhook-secret", "stripe/*/x")
                .replace("[current]", "[latest]"));
        assertThat(run("policy", "check", dir())).isEqualTo(1);
        assertThat(out.lines()).containsExactly(
                "broken.yaml:13: spec.workloads[0].allow[1].secrets[0]: secret pattern 'stripe/*/x' has '*' in the "
                        + "wrong place; '*' and '**' may only form the whole last segment: write an exact name "
                        + "(stripe/secret-key), a prefix and '/*' for one more segment (stripe/*), or a prefix and "
                        + "'/**' for any depth below it (stripe/**)",
                "broken.yaml:14: spec.workloads[0].allow[1].stages[0]: unknown stage 'latest'; expected 'current' or "
                        + "'previous'",
                "FAILED: 2 problem(s) in 1 file(s) in " + dir() + "; nothing of it takes effect until they are fixed "
                        + "(a running broker keeps its last good policy)");
    }

    @Test
    void shouldNameBothFilesOfADuplicateIdentity() throws IOException {
        Files.writeString(policyDir.resolve("second.yaml"), POLICY.replace("name: payments", "name: second"));
        assertThat(run("policy", "check", dir())).isEqualTo(1);
        assertThat(out).contains("second.yaml:7: spec.workloads[0].identity: identity " + CHECKOUT
                + " already has a workload entry in payments.yaml line 7");
    }

    @Test
    void shouldPrintWarningsButPass() throws IOException {
        Files.writeString(policyDir.resolve("notes.txt"), "x");
        assertThat(run("policy", "check", dir())).isZero();
        assertThat(out).startsWith("warning: ignored notes.txt: only files named *.yaml or *.yml are read");
    }

    @Test
    void shouldTakeTheDirectoryFromTheBrokersConfiguration() {
        assertThat(run("policy", "check", "--keybroker.policy.dir=" + dir())).isZero();
        assertThat(out).contains("OK: 1 file(s)");
    }

    @Test
    void shouldFailWhenNoDirectoryIsGivenOrItIsMissing() {
        assertThat(run("policy", "check")).isEqualTo(1);
        assertThat(err).contains("no policy directory: give it as DIR, or set keybroker.policy.dir");
        assertThat(run("policy", "check", tmp.resolve("nope").toString())).isEqualTo(1);
        assertThat(out).contains(tmp.resolve("nope") + " does not exist");
    }

    @Test
    void shouldShowHelpForEveryCommand() {
        for (String command : List.of("check", "explain", "unused", "test", "diff", "suggest-calls")) {
            assertThat(run("policy", command, "--help")).isZero();
            assertThat(out).contains("Usage: keybroker policy " + command);
        }
        assertThat(run("policy", "--help")).isZero();
        assertThat(out).contains("check", "explain", "unused", "test", "diff", "suggest-calls");
        assertThat(run("policy")).isEqualTo(2);
        assertThat(err).contains("name a policy command: check, explain, unused, test, diff or suggest-calls");
    }

    // ---- explain

    @Test
    void shouldExplainAnAllowedStageWithItsRule() {
        assertThat(run("policy", "explain", dir(), "--identity", CHECKOUT, "--secret", "stripe/secret-key",
                "--stage", "previous")).isZero();
        assertThat(out.lines()).containsExactly(
                "workload: application checkout, rate limit 100/s (from payments.yaml#payments/workloads[0], "
                        + "identity " + CHECKOUT + ")",
                "ALLOW previous payments.yaml#payments/workloads[0]/allow[0]: identity pattern " + CHECKOUT
                        + " (workload checkout) is granted stages current and previous of stripe/secret-key");
    }

    @Test
    void shouldExplainBothStagesAndExitThreeWhenOneIsDenied() {
        assertThat(run("policy", "explain", dir(), "--identity", CHECKOUT, "--secret", "stripe/webhook-secret"))
                .isEqualTo(3);
        assertThat(out.lines()).hasSize(3);
        assertThat(out.lines().skip(1)).containsExactly(
                "ALLOW current  payments.yaml#payments/workloads[0]/allow[1]: identity pattern " + CHECKOUT
                        + " (workload checkout) is granted stage current of stripe/webhook-secret",
                "DENY  previous default-deny: workload checkout (" + CHECKOUT + ") is not granted stage previous of "
                        + "stripe/webhook-secret; payments.yaml#payments/workloads[0]/allow[1] grants only stage "
                        + "current");
    }

    @Test
    void shouldExplainADefaultDeny() {
        assertThat(run("policy", "explain", dir(), "--identity", "spiffe://cluster.local/ns/other/sa/x",
                "--secret", "stripe/secret-key", "--stage", "current")).isEqualTo(3);
        assertThat(out.lines()).containsExactly("workload: no entry matches spiffe://cluster.local/ns/other/sa/x",
                "DENY  current  default-deny: no workload entry matches identity spiffe://cluster.local/ns/other/sa/x");
    }

    @Test
    void shouldRefuseBadInputWithWhatToFix() {
        assertThat(run("policy", "explain", dir(), "--identity", "checkout", "--secret", "stripe/secret-key"))
                .isEqualTo(1);
        assertThat(err).startsWith("error: --identity: identity 'checkout' is not a SPIFFE ID; write an exact SPIFFE ID");
        assertThat(run("policy", "explain", dir(), "--identity", CHECKOUT, "--secret", "stripe/../aws")).isEqualTo(1);
        assertThat(err).startsWith("error: --secret: secret name 'stripe/../aws': segment 2 '..' is invalid");
        assertThat(run("policy", "explain", dir(), "--identity", CHECKOUT, "--secret", "stripe/secret-key",
                "--stage", "old")).isEqualTo(1);
        assertThat(err).startsWith("error: --stage: unknown stage 'old'; expected 'current' or 'previous'");
        assertThat(out).isEmpty();
    }

    @Test
    void shouldRefuseToExplainAnInvalidPolicy() throws IOException {
        Files.writeString(policyDir.resolve("payments.yaml"), POLICY.replace("100/s", "100"));
        assertThat(run("policy", "explain", dir(), "--identity", CHECKOUT, "--secret", "stripe/secret-key"))
                .isEqualTo(1);
        assertThat(err).contains("the policy in " + dir() + " is invalid",
                "payments.yaml:9: spec.workloads[0].rateLimit: expected text but found a number");
    }

    @Test
    void shouldRejectAMissingRequiredOptionAsAUsageError() {
        assertThat(run("policy", "explain", dir(), "--secret", "stripe/secret-key")).isEqualTo(2);
        assertThat(err).contains("Missing required option: '--identity=ID'");
    }

    // ---- the stripe section

    private void writeStripePolicy() throws IOException {
        Files.writeString(policyDir.resolve("payments.yaml"), POLICY.replace("""
                      rateLimit: 100/s
                """, """
                      rateLimit: 100/s
                      stripe:
                        key: stripe/secret-key
                        calls: [POST /v1/payment_intents, GET /v1/payment_intents/*]
                        webhookSecrets: [stripe/webhook-secret]
                """));
    }

    @Test
    void shouldCountStripeCallsAndWebhookSecretsInTheCheckSummary() throws IOException {
        writeStripePolicy();
        assertThat(run("policy", "check", dir())).isZero();
        assertThat(out).startsWith("payments.yaml: 1 workload entry, 3 grant(s), 2 Stripe call pattern(s), 1 "
                + "webhook secret(s)\n");
    }

    @Test
    void shouldExplainAStripeCallAndSayWhichListToEditWhenDenied() throws IOException {
        writeStripePolicy();
        assertThat(run("policy", "explain", dir(), "--identity", CHECKOUT, "--stripe-call",
                "GET /v1/payment_intents/pi_123")).isZero();
        assertThat(out.lines()).containsExactly(
                "workload: application checkout, Stripe key stripe/secret-key (from payments.yaml#payments/"
                        + "workloads[0], identity " + CHECKOUT + ")",
                "ALLOW call     payments.yaml#payments/workloads[0]/stripe/calls[1]: workload checkout (" + CHECKOUT
                        + ") may call GET /v1/payment_intents/pi_123 (stripe.calls pattern "
                        + "'GET /v1/payment_intents/*')");
        assertThat(run("policy", "explain", dir(), "--identity", CHECKOUT, "--stripe-call", "POST /v1/refunds"))
                .isEqualTo(3);
        assertThat(out).contains("DENY  call     default-deny: workload checkout (" + CHECKOUT + ") may not call "
                + "POST /v1/refunds: no pattern of stripe.calls of payments.yaml#payments/workloads[0] covers it; add "
                + "'POST /v1/refunds' (or a pattern with * or **) to that list");
    }

    @Test
    void shouldExplainAWebhookSecret() throws IOException {
        writeStripePolicy();
        assertThat(run("policy", "explain", dir(), "--identity", CHECKOUT, "--webhook-secret",
                "stripe/webhook-secret")).isZero();
        assertThat(out).contains("ALLOW webhook  payments.yaml#payments/workloads[0]/stripe/webhookSecrets[0]");
        assertThat(run("policy", "explain", dir(), "--identity", CHECKOUT, "--webhook-secret",
                "stripe/other")).isEqualTo(3);
        assertThat(out).contains("add it to stripe.webhookSecrets of payments.yaml#payments/workloads[0]");
    }

    @Test
    void shouldAskForExactlyOneThingToExplain() {
        assertThat(run("policy", "explain", dir(), "--identity", CHECKOUT)).isEqualTo(2);
        assertThat(err).contains("give exactly one of --secret NAME, --stripe-call 'METHOD /path' or "
                + "--webhook-secret NAME");
    }

    // ---- unused

    private Path auditTrail(AccessRecord... records) {
        Path file = tmp.resolve("audit-" + System.nanoTime() + ".log");
        try (ChainedAuditLog log = new ChainedAuditLog(file, false, Long.MAX_VALUE, Clock.systemUTC())) {
            log.event("policy-reload", Map.of("result", "ok"));
            Stream.of(records).forEach(log::access);
        }
        return file;
    }

    private static AccessRecord access(Duration ago, String identity, String secret, List<String> stages,
            AccessRecord.Decision decision) {
        return new AccessRecord(Instant.now().minus(ago), "req", "v1", identity, secret, stages, decision,
                "rule", "reason", Map.of(), "cache", 100);
    }

    @Test
    void shouldListGrantsThatNoAllowedRequestUsed() {
        Path audit = auditTrail(
                access(Duration.ofDays(1), CHECKOUT, "stripe/secret-key", List.of("current"), AccessRecord.Decision.ALLOW),
                // Denied, not-found and rate-limited requests use no grant.
                access(Duration.ofDays(1), CHECKOUT, "stripe/webhook-secret", List.of("current"), AccessRecord.Decision.DENY),
                access(Duration.ofDays(1), CHECKOUT, "stripe/secret-key", List.of("previous"), AccessRecord.Decision.RATE_LIMITED),
                access(Duration.ofDays(1), null, null, List.of(), AccessRecord.Decision.INVALID));
        assertThat(run("policy", "unused", dir(), "--audit", audit.toString())).isZero();
        assertThat(out).contains("audit: 4 access record(s) in the period, 1 allowed");
        assertThat(out).contains("unused grants (2):");
        assertThat(out.lines().filter(l -> l.startsWith("  spiffe://")).map(l -> l.replaceAll(" +", " ").trim()))
                .containsExactly(
                        CHECKOUT + " stripe/secret-key previous payments.yaml#payments/workloads[0]/allow[0]",
                        CHECKOUT + " stripe/webhook-secret current payments.yaml#payments/workloads[0]/allow[1]");
    }

    @Test
    void shouldOnlyCountRequestsInsideThePeriod() {
        Path old = auditTrail(
                access(Duration.ofDays(40), CHECKOUT, "stripe/webhook-secret", List.of("current"), AccessRecord.Decision.ALLOW));
        Path recent = auditTrail(
                access(Duration.ofDays(2), CHECKOUT, "stripe/secret-key", List.of("current", "previous"),
                        AccessRecord.Decision.ALLOW));

        assertThat(run("policy", "unused", dir(), "--audit", old.toString(), recent.toString())).isZero();
        assertThat(out).contains("no unused grants");

        assertThat(run("policy", "unused", dir(), "--audit", old.toString(), recent.toString(), "--since", "30d"))
                .isZero();
        assertThat(out).contains("unused grants (1):", "stripe/webhook-secret");

        assertThat(run("policy", "unused", dir(), "--audit", recent.toString(), "--since", "30d")).isZero();
        assertThat(out).contains("note: the audit files do not reach back to the start of the period");
    }

    @Test
    void shouldMatchGrantPatternsAgainstRecordedIdentitiesAndNames() throws IOException {
        Files.writeString(policyDir.resolve("payments.yaml"), POLICY
                .replace("/sa/checkout", "/*").replace("stripe/webhook-secret", "stripe/**"));
        Path audit = auditTrail(
                access(Duration.ofHours(1), "spiffe://cluster.local/ns/payments/sa/refunds", "stripe/restricted/eu",
                        List.of("current"), AccessRecord.Decision.ALLOW),
                access(Duration.ofHours(1), "spiffe://cluster.local/ns/payments/sa/billing", "stripe/secret-key",
                        List.of("current", "previous"), AccessRecord.Decision.ALLOW));
        assertThat(run("policy", "unused", dir(), "--audit", audit.toString(), "--since", "12h")).isZero();
        assertThat(out).contains("no unused grants");
    }

    @Test
    void shouldExitThreeOnUnusedGrantsWhenAskedTo() {
        Path audit = auditTrail();
        assertThat(run("policy", "unused", dir(), "--audit", audit.toString(), "--fail-on-unused")).isEqualTo(3);
        assertThat(out).contains("unused grants (3):");
    }

    @Test
    void shouldNameTheFileAndLineOfADamagedAuditLine() throws IOException {
        Path audit = auditTrail(
                access(Duration.ofHours(1), CHECKOUT, "stripe/secret-key", List.of("current"), AccessRecord.Decision.ALLOW));
        Files.writeString(audit, "{\"type\":\"access\",\"time\":\"yesterday\",\"decision\":\"allow\"}\nnot json\n",
                java.nio.file.StandardOpenOption.APPEND);
        assertThat(run("policy", "unused", dir(), "--audit", audit.toString())).isEqualTo(1);
        assertThat(err).contains(audit + ":4: \"time\" is not an ISO-8601 instant", audit + ":5: not a JSON object");
        assertThat(out).isEmpty();
    }

    @Test
    void shouldRejectABadPeriodAndAMissingAuditFile() {
        Path audit = auditTrail();
        assertThat(run("policy", "unused", dir(), "--audit", audit.toString(), "--since", "a month")).isEqualTo(1);
        assertThat(err).contains("--since 'a month' is invalid; write a duration back from now such as 30d");
        assertThat(run("policy", "unused", dir(), "--audit", tmp.resolve("none.log").toString())).isEqualTo(1);
        assertThat(err).contains("cannot read audit file " + tmp.resolve("none.log"));
    }

    @Test
    void shouldAcceptAnInstantAsTheStartOfThePeriod() {
        Path audit = auditTrail(
                access(Duration.ofDays(3), CHECKOUT, "stripe/secret-key", List.of("current"), AccessRecord.Decision.ALLOW));
        Instant start = Instant.now().minus(Duration.ofDays(2));
        assertThat(run("policy", "unused", dir(), "--audit", audit.toString(), "--since", start.toString())).isZero();
        assertThat(out).contains("period: since " + start, "unused grants (3):");
    }

    @Test
    void shouldReportOverlappingMappingsOfTheBrokerConfiguration() {
        assertThat(run("policy", "check", dir(), "--keybroker.environment=prod", "--keybroker.backend=vault",
                "--keybroker.mappings[0].name=stripe/webhook-secret",
                "--keybroker.mappings[0].path={environment}/stripe/webhooks",
                "--keybroker.mappings[0].field=signing_secret")).isZero();
        assertThat(out).contains("warning: mapping overlap:", "stripe/webhooks", "stripe/webhook-secret");
        assertThat(run("policy", "check", dir(), "--keybroker.environment=prod",
                "--keybroker.mappings[0].name=stripe/a", "--keybroker.mappings[0].path={environment}/shared",
                "--keybroker.mappings[1].name=stripe/b", "--keybroker.mappings[1].path={environment}/shared"))
                .isEqualTo(1);
        assertThat(out).contains("both reach", "FAILED");
    }

    // ---- suggest-calls

    private Path stripeTrail(Object[]... calls) {
        Path file = tmp.resolve("audit-stripe-" + System.nanoTime() + ".log");
        try (ChainedAuditLog log = new ChainedAuditLog(file, false, Long.MAX_VALUE, Clock.systemUTC())) {
            log.event("lifecycle", Map.of("event", "start"));
            for (Object[] call : calls) {
                log.event("stripe-call", Map.of("time", Instant.now().minus((Duration) call[0]).toString(),
                        "endpoint", "stripe", "identity", call[1], "method", call[2], "path", call[3],
                        "decision", call[4]));
            }
        }
        return file;
    }

    @Test
    void shouldSuggestCallsFromTheAuditTrailWithObjectIdsAsWildcards() {
        Duration hour = Duration.ofHours(1);
        Path trail = stripeTrail(
                new Object[] {hour, CHECKOUT, "POST", "/v1/payment_intents", "allow"},
                new Object[] {hour, CHECKOUT, "GET", "/v1/payment_intents/pi_3MtwBwLkdIwHu7ix28a3tqPa", "allow"},
                new Object[] {hour, CHECKOUT, "GET", "/v1/payment_intents/pi_9ZzwBwLkdIwHu7ix28a3tqPb", "allow"},
                new Object[] {hour, CHECKOUT, "POST", "/v1/payment_intents/pi_3MtwBwLkdIwHu7ix28a3tqPa/confirm",
                    "deny"},
                new Object[] {Duration.ofDays(30), CHECKOUT, "GET", "/v1/balance", "allow"},
                new Object[] {hour, CHECKOUT, "GET", "/v1/bad", "invalid"},
                new Object[] {hour, "spiffe://cluster.local/ns/payments/sa/refunds", "POST", "/v1/refunds", "allow"});
        assertThat(run("policy", "suggest-calls", "--audit", trail.toString(), "--since", "7d", "--identity",
                CHECKOUT)).isZero();
        assertThat(out.lines()).containsExactly(
                out.lines().findFirst().orElseThrow(),
                "stripe:",
                "  calls:",
                "    - GET /v1/payment_intents/*    # 2 allowed",
                "    - POST /v1/payment_intents    # 1 allowed",
                "    - POST /v1/payment_intents/*/confirm    # 0 allowed, 1 refused: keep only if the workload is "
                        + "meant to make this call",
                "");
        assertThat(out).startsWith("# " + CHECKOUT + ": 4 Stripe call(s) from ");
        // The suggestion is a valid call list.
        out.lines().filter(l -> l.startsWith("    - ")).forEach(l -> io.keybroker.policy.StripeCallPattern.parse(
                l.substring(6, l.indexOf("    #"))));
    }

    @Test
    void shouldNameTheLineOfADamagedAuditRecord() throws IOException {
        Path trail = tmp.resolve("damaged.log");
        Files.writeString(trail, "{\"type\":\"stripe-call\",\"time\":\"yesterday\"}\n");
        assertThat(run("policy", "suggest-calls", "--audit", trail.toString())).isEqualTo(1);
        assertThat(err).contains(trail + ":1: \"time\" is not an ISO-8601 instant");
    }
}
