package io.keybroker.cli.policy;

import static org.assertj.core.api.Assertions.assertThat;

import io.keybroker.testsupport.PolicyFixtures;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class TestCommandTests {

    private static final String CHECKOUT = "spiffe://cluster.local/ns/payments/sa/checkout";
    private static final String REPORTING = "spiffe://cluster.local/ns/payments/sa/reporting";
    private static final String POLICY = PolicyFixtures.policy("payments", """
                - identity: spiffe://cluster.local/ns/payments/sa/checkout
                  application: checkout
                  allow:
                    - secrets: [stripe/secret-key]
                      stages: [current, previous]
                    - secrets: [stripe/webhook-secret]
                      stages: [current]
                - identity: spiffe://cluster.local/ns/payments/*
                  application: payments
                  allow:
                    - secrets: [shared/*]
                      stages: [current]
            """);
    private static final String TESTS = """
            apiVersion: keybroker/v1
            kind: PolicyTest
            tests:
              - identity: spiffe://cluster.local/ns/payments/sa/checkout
                secret: stripe/secret-key
                stage: previous
                expect: allow
              - name: reporting never sees the live key
                identity: spiffe://cluster.local/ns/payments/sa/reporting
                secret: stripe/secret-key
                expect: deny
              - secret: stripe/secret-key        # no identity: who may read it at all
                readableOnlyBy: [spiffe://cluster.local/ns/payments/sa/checkout]
            """;

    @TempDir
    Path tmp;

    private Path policy;
    private String out;
    private String err;

    @BeforeEach
    void writePolicy() throws IOException {
        policy = Files.createDirectory(tmp.resolve("policy"));
        Files.writeString(policy.resolve("payments.yaml"), POLICY);
    }

    private int run(String... args) {
        CliRun run = CliRun.of(args);
        out = run.out();
        err = run.err();
        return run.status();
    }

    private Path tests(String name, String content) throws IOException {
        Path file = tmp.resolve(name);
        Files.createDirectories(file.getParent());
        Files.writeString(file, content);
        return file;
    }

    @Test
    void shouldPassTheExampleOfTheIssueWithTheDecidingRules() throws IOException {
        Path file = tests("tests.yaml", TESTS);
        assertThat(run("policy", "test", policy.toString(), file.toString())).as(err).isZero();
        assertThat(out.lines()).containsExactly(
                "PASS " + file + " tests[0]: " + CHECKOUT + " may read stripe/secret-key (stage previous): "
                        + "payments.yaml#payments/workloads[0]/allow[0]",
                "PASS " + file + " tests[1] reporting never sees the live key: " + REPORTING + " must not read "
                        + "stripe/secret-key (stage current, previous): default-deny",
                "PASS " + file + " tests[2]: stripe/secret-key is readable only by [" + CHECKOUT + "] (stage current, "
                        + "previous)",
                "RESULT: 3 passed, 0 failed (1 test file(s), policy directory " + policy + ")");
    }

    @Test
    void shouldNameTheDecidingRuleOfEveryFailureAndExitOne() throws IOException {
        // The policy now gives the whole namespace the live key: two of the three assertions break.
        Files.writeString(policy.resolve("payments.yaml"), POLICY.replace("[shared/*]", "[shared/*, stripe/secret-key]"));
        Path file = tests("tests.yaml", TESTS);
        assertThat(run("policy", "test", policy.toString(), file.toString())).isEqualTo(1);
        assertThat(out.lines()).containsExactly(
                "PASS " + file + " tests[0]: " + CHECKOUT + " may read stripe/secret-key (stage previous): "
                        + "payments.yaml#payments/workloads[0]/allow[0]",
                "FAIL " + file + " tests[1] reporting never sees the live key: " + REPORTING + " must not read "
                        + "stripe/secret-key (stage current, previous), but stage current is ALLOWED by "
                        + "payments.yaml#payments/workloads[1]/allow[0]: identity pattern "
                        + "spiffe://cluster.local/ns/payments/* (workload payments) is granted stage current of "
                        + "stripe/secret-key",
                "FAIL " + file + " tests[2]: stripe/secret-key is readable only by [" + CHECKOUT + "] (stage current, "
                        + "previous), but spiffe://cluster.local/ns/payments/* (every workload under it, e.g. "
                        + "spiffe://cluster.local/ns/payments/any-other-workload) may read stage current, ALLOWED by "
                        + "payments.yaml#payments/workloads[1]/allow[0]",
                "RESULT: 1 passed, 2 failed (1 test file(s), policy directory " + policy + ")");
    }

    @Test
    void shouldReportAnExpectedAllowThatIsDeniedWithTheReason() throws IOException {
        Path file = tests("tests.yaml", TESTS.replace("stage: previous", "stage: previous\n    secret: x")
                .replace("    secret: x\n", "").replace("secret: stripe/secret-key\n    stage: previous",
                        "secret: stripe/webhook-secret\n    stage: previous"));
        assertThat(run("policy", "test", policy.toString(), file.toString())).isEqualTo(1);
        assertThat(out).contains("FAIL " + file + " tests[0]: " + CHECKOUT + " may read stripe/webhook-secret (stage "
                + "previous), but stage previous is DENIED by default-deny: workload checkout (" + CHECKOUT + ") is "
                + "not granted stage previous of stripe/webhook-secret; payments.yaml#payments/workloads[0]/allow[1] "
                + "grants only stage current");
    }

    @Test
    void shouldRunEveryFileOfADirectoryInNameOrder() throws IOException {
        tests("suite/b.yaml", TESTS);
        tests("suite/a.yml", TESTS.replace("expect: deny", "expect: allow"));
        tests("suite/notes.txt", "not a test");
        assertThat(run("policy", "test", policy.toString(), tmp.resolve("suite").toString())).isEqualTo(1);
        String suite = tmp.resolve("suite") + "/";
        assertThat(out.lines().map(l -> l.replace(suite, "")).map(l -> l.substring(0, l.indexOf(':'))))
                .containsExactly("PASS a.yml tests[0]", "FAIL a.yml tests[1] reporting never sees the live key",
                        "PASS a.yml tests[2]", "PASS b.yaml tests[0]",
                        "PASS b.yaml tests[1] reporting never sees the live key", "PASS b.yaml tests[2]",
                        "RESULT");
        assertThat(out).endsWith("RESULT: 5 passed, 1 failed (2 test file(s), policy directory " + policy + ")\n");
    }

    @Test
    void shouldRefuseAnInvalidTestFileWithWhatToFixAndExitTwo() throws IOException {
        Path typo = tests("typo.yaml", TESTS.replace("expect: allow", "expct: allow"));
        assertThat(run("policy", "test", policy.toString(), typo.toString())).isEqualTo(2);
        assertThat(err).contains(typo + ":8: tests[0].expct: unknown key 'expct'; allowed keys here: expect, identity, "
                + "name, readableOnlyBy, secret, stage");

        Path bad = tests("bad.yaml", TESTS.replace("kind: PolicyTest", "kind: Policy")
                .replace("expect: deny", "expect: maybe").replace("stage: previous", "stage: old")
                .replace("readableOnlyBy: [spiffe://cluster.local/ns/payments/sa/checkout]", "readableOnlyBy: [checkout]"));
        assertThat(run("policy", "test", policy.toString(), bad.toString())).isEqualTo(2);
        assertThat(err.lines()).containsExactly(
                "error: invalid test file(s); fix these problems (the format is in docs/policy.md):",
                "  " + bad + ": kind: unsupported 'Policy'; write kind: PolicyTest",
                "  " + bad + ": tests[0].stage: unknown stage 'old'; expected 'current' or 'previous'",
                "  " + bad + ": tests[1].expect: unknown value 'maybe'; write expect: allow or expect: deny",
                "  " + bad + ": tests[2].readableOnlyBy[0]: identity 'checkout' is not a SPIFFE ID; write an exact "
                        + "SPIFFE ID (spiffe://cluster.local/ns/payments/sa/checkout), a SPIFFE ID prefix ending in "
                        + "'/*' (spiffe://cluster.local/ns/payments/*), or cn:NAME for a subject CN");
        assertThat(out).isEmpty();

        Path both = tests("both.yaml", TESTS.replace("readableOnlyBy:", "expect: deny\n    readableOnlyBy:"));
        assertThat(run("policy", "test", policy.toString(), both.toString())).isEqualTo(2);
        assertThat(err).contains(both + ": tests[2]: a test has either identity and expect, or readableOnlyBy, not "
                + "both");

        assertThat(run("policy", "test", policy.toString(), tmp.resolve("none.yaml").toString())).isEqualTo(2);
        assertThat(err).contains(tmp.resolve("none.yaml") + " does not exist");
    }

    @Test
    void shouldRefuseToTestAnInvalidPolicy() throws IOException {
        Files.writeString(policy.resolve("payments.yaml"), POLICY.replace("[current]", "[latest]"));
        Path file = tests("tests.yaml", TESTS);
        assertThat(run("policy", "test", policy.toString(), file.toString())).isEqualTo(2);
        assertThat(err).contains("error: the policy in " + policy + " is invalid",
                "unknown stage 'latest'; expected 'current' or 'previous'");
    }
}
