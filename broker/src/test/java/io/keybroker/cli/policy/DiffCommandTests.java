package io.keybroker.cli.policy;

import static org.assertj.core.api.Assertions.assertThat;

import io.keybroker.testsupport.PolicyFixtures;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import tools.jackson.databind.JsonNode;
import tools.jackson.databind.json.JsonMapper;

class DiffCommandTests {

    private static final String CHECKOUT = "spiffe://cluster.local/ns/payments/sa/checkout";
    // The payments policy, with the current Stripe key only, so that a diff can grant the previous one.
    static final String POLICY = PolicyFixtures.PAYMENTS.replace("stages: [current, previous]",
            "stages: [current]");
    private static final String NAMESPACE = """
                - identity: spiffe://cluster.local/ns/payments/*
                  application: payments
                  allow:
                    - secrets: [shared/*]
                      stages: [current]
            """;

    @TempDir
    Path tmp;

    private String out;
    private String err;

    private int run(String... args) {
        CliRun run = CliRun.of(args);
        out = run.out();
        err = run.err();
        return run.status();
    }

    private Path dir(String name, String... files) throws IOException {
        Path dir = Files.createDirectories(tmp.resolve(name));
        for (int i = 0; i < files.length; i += 2) {
            Files.writeString(dir.resolve(files[i]), files[i + 1]);
        }
        return dir;
    }

    @Test
    void shouldExitZeroWhenRulesOnlyMovedBetweenFilesAndWereReordered() throws IOException {
        String namespace = NAMESPACE;
        Path old = dir("old", "payments.yaml", POLICY + namespace);
        String swapped = POLICY.replace("[stripe/secret-key]", "[SWAP]")
                .replace("[stripe/webhook-secret]", "[stripe/secret-key]").replace("[SWAP]", "[stripe/webhook-secret]");
        Path now = dir("new", "checkout.yaml", swapped.replace("name: payments", "name: checkout"),
                "namespace.yaml", POLICY.replace("name: payments", "name: namespace")
                        .substring(0, POLICY.indexOf("    - identity") + 1) + namespace);
        assertThat(run("policy", "check", now.toString())).as(out).isZero();

        assertThat(run("policy", "diff", old.toString(), now.toString())).isZero();
        assertThat(out).isEqualTo("policy diff: " + old + " -> " + now + "\nRESULT: no grant changes\n");
        assertThat(err).isEmpty();
    }

    @Test
    void shouldListAddedAndRemovedGrantsWithTheirRulesAndExitOne() throws IOException {
        Path old = dir("old", "payments.yaml", POLICY);
        Path now = dir("new", "payments.yaml", POLICY.replace("[stripe/webhook-secret]", "[stripe/restricted/refunds]"));

        assertThat(run("policy", "diff", old.toString(), now.toString())).isEqualTo(1);
        assertThat(out.lines()).containsExactly(
                "policy diff: " + old + " -> " + now,
                "grants added (1):",
                "  + " + CHECKOUT + "  stripe/restricted/refunds  current   payments.yaml#payments/workloads[0]/allow[1]",
                "grants removed (1):",
                "  - " + CHECKOUT + "  stripe/webhook-secret  current   payments.yaml#payments/workloads[0]/allow[1]",
                "RESULT: grants changed: 1 added, 1 removed, 0 rate limit(s) changed; no widening");
    }

    @Test
    void shouldCallOutEveryKindOfWidening() throws IOException {
        Path old = dir("old", "payments.yaml", POLICY);
        Path now = dir("new", "payments.yaml", POLICY
                .replace("      rateLimit: 100/s\n", "")
                .replace("[stripe/secret-key]\n          stages: [current]", "[stripe/secret-key]\n          stages: [current, previous]")
                .replace("/sa/checkout", "/*")
                .replace("[stripe/webhook-secret]", "[stripe/**]"));

        assertThat(run("policy", "diff", old.toString(), now.toString())).isEqualTo(1);
        String prefix = "spiffe://cluster.local/ns/payments/*";
        assertThat(out).contains(
                "  + " + prefix + "  stripe/**          current   payments.yaml#payments/workloads[0]/allow[1]\n"
                        + "      WIDENING: identity pattern " + prefix + " grants this to every workload under it; "
                        + "wildcard stripe/** covers names no OLD rule granted to " + prefix + " at stage current\n",
                "  + " + prefix + "  stripe/secret-key  current   payments.yaml#payments/workloads[0]/allow[0]\n"
                        + "      WIDENING: wider identity pattern: OLD granted this to " + CHECKOUT
                        + " (payments.yaml#payments/workloads[0]/allow[0]), NEW to every workload under " + prefix + "\n",
                "  + " + prefix + "  stripe/secret-key  previous  payments.yaml#payments/workloads[0]/allow[0]\n"
                        + "      WIDENING: identity pattern " + prefix + " grants this to every workload under it; "
                        + "new previous stage\n");
        // The exact grants are gone, but the prefix still covers checkout: no effect.
        assertThat(out).contains("  - " + CHECKOUT + "  stripe/secret-key      current   "
                + "payments.yaml#payments/workloads[0]/allow[0]\n      no effect: still granted by NEW rule "
                + "payments.yaml#payments/workloads[0]/allow[0]\n");
        assertThat(out).endsWith("RESULT: grants changed: 3 added, 0 removed, 0 rate limit(s) changed; 3 WIDENING\n");
    }

    @Test
    void shouldCallOutARemovedRateLimitButNotALoweredOne() throws IOException {
        Path old = dir("old", "payments.yaml", POLICY);
        Path removed = dir("removed", "payments.yaml", POLICY.replace("      rateLimit: 100/s\n", ""));
        Path lowered = dir("lowered", "payments.yaml", POLICY.replace("100/s", "10/s"));

        assertThat(run("policy", "diff", old.toString(), removed.toString())).isEqualTo(1);
        assertThat(out).contains("rate limits changed (1):\n  ~ " + CHECKOUT + "  100/s -> none  "
                + "payments.yaml#payments/workloads[0]\n      WIDENING: rate limit removed\n");
        assertThat(run("policy", "diff", old.toString(), lowered.toString())).isEqualTo(1);
        assertThat(out).contains("  ~ " + CHECKOUT + "  100/s -> 10/s  payments.yaml#payments/workloads[0]\n")
                .doesNotContain("WIDENING").endsWith("1 rate limit(s) changed; no widening\n");
    }

    @Test
    void shouldNotCountAGrantThatAnOldWildcardAlreadyGave() throws IOException {
        Path old = dir("old", "payments.yaml", POLICY.replace("[stripe/webhook-secret]", "[stripe/*]"));
        Path now = dir("new", "payments.yaml", POLICY.replace("[stripe/webhook-secret]",
                "[stripe/*, stripe/refunds-key]"));

        assertThat(run("policy", "diff", old.toString(), now.toString())).isZero();
        assertThat(out).contains("  + " + CHECKOUT + "  stripe/refunds-key  current   "
                + "payments.yaml#payments/workloads[0]/allow[1]\n      no effect: already granted by OLD rule "
                + "payments.yaml#payments/workloads[0]/allow[1]\n").endsWith("RESULT: no grant changes\n");
    }

    @Test
    void shouldCompareGitRevisionsOfARealRepository() throws IOException {
        GitRepository repo = GitRepository.init(tmp.resolve("repo"))
                .write("policy/payments.yaml", POLICY).write("README.md", "policies\n").commit("first");
        repo.write("policy/payments.yaml", POLICY.replace("[stripe/webhook-secret]\n          stages: [current]",
                "[stripe/webhook-secret]\n          stages: [current, previous]")).commit("second");
        String repoDir = repo.dir().toString();

        assertThat(run("policy", "diff", "HEAD~1:policy/", "HEAD:policy", "--repo", repoDir)).isEqualTo(1);
        assertThat(out).startsWith("policy diff: HEAD~1:policy/ -> HEAD:policy\n").contains(
                "  + " + CHECKOUT + "  stripe/webhook-secret  previous  payments.yaml#payments/workloads[0]/allow[1]\n"
                        + "      WIDENING: new previous stage\n");
        // A revision against the work tree: the uncommitted removal of the file takes every grant away.
        repo.remove("policy/payments.yaml");
        Files.createDirectories(repo.dir().resolve("policy"));
        assertThat(run("policy", "diff", "main:policy/", repo.dir().resolve("policy").toString(), "--repo", repoDir))
                .isEqualTo(1);
        assertThat(out).contains("grants removed (3):");
        // Same revision twice: nothing changed.
        assertThat(run("policy", "diff", "HEAD:policy", "main:policy/", "--repo", repoDir)).isZero();
        assertThat(err).isEmpty();
    }

    @Test
    void shouldExitTwoWithWhatToFixOnAnUnknownRevisionOrAnInvalidPolicy() throws IOException {
        GitRepository repo = GitRepository.init(tmp.resolve("repo")).write("policy/payments.yaml", POLICY)
                .commit("first");
        Path good = dir("good", "payments.yaml", POLICY);
        assertThat(run("policy", "diff", "HEAD~3:policy/", good.toString(), "--repo", repo.dir().toString()))
                .isEqualTo(2);
        assertThat(err).startsWith("error: HEAD~3:policy/: git cannot read it (").contains("write REV:PATH");
        assertThat(run("policy", "diff", "HEAD:nope/", good.toString(), "--repo", repo.dir().toString()))
                .isEqualTo(2);
        assertThat(err).startsWith("error: HEAD:nope/: git cannot read it (");

        Path broken = dir("broken", "payments.yaml", POLICY.replace("100/s", "fast"));
        assertThat(run("policy", "diff", good.toString(), broken.toString())).isEqualTo(2);
        assertThat(err).contains("error: the policy in " + broken + " is invalid",
                "payments.yaml:9: spec.workloads[0].rateLimit: rate limit 'fast' is invalid");
        assertThat(run("policy", "diff", good.toString())).isEqualTo(2);
        assertThat(err).contains("Missing required parameter: 'NEW'");
        assertThat(run("policy", "diff", good.toString(), good.toString(), "--format", "yaml")).isEqualTo(2);
        assertThat(err).contains("error: --format 'yaml' is unknown; write --format text or --format json");
    }

    @Test
    void shouldWriteJsonForBots() throws IOException {
        Path old = dir("old", "payments.yaml", POLICY);
        Path now = dir("new", "payments.yaml", POLICY.replace("      rateLimit: 100/s\n", "")
                .replace("[stripe/webhook-secret]", "[stripe/webhook/*]"));

        assertThat(run("policy", "diff", old.toString(), now.toString(), "--format", "json")).isEqualTo(1);
        JsonNode json = JsonMapper.builder().build().readTree(out);
        assertThat(json.get("changed").asBoolean()).isTrue();
        assertThat(json.get("widening").asBoolean()).isTrue();
        JsonNode added = json.get("grants").get("added").get(0);
        assertThat(added.get("identity").asString()).isEqualTo(CHECKOUT);
        assertThat(added.get("secret").asString()).isEqualTo("stripe/webhook/*");
        assertThat(added.get("stage").asString()).isEqualTo("current");
        assertThat(added.get("file").asString()).isEqualTo("payments.yaml");
        assertThat(added.get("rule").asString()).isEqualTo("payments.yaml#payments/workloads[0]/allow[1]");
        assertThat(added.get("widening").get(0).asString()).startsWith("wildcard stripe/webhook/*");
        assertThat(json.get("grants").get("removed").get(0).get("secret").asString()).isEqualTo("stripe/webhook-secret");
        JsonNode limit = json.get("rateLimits").get(0);
        assertThat(limit.get("before").asString()).isEqualTo("100/s");
        assertThat(limit.get("after").isNull()).isTrue();
        assertThat(limit.get("widening").asString()).isEqualTo("rate limit removed");
        assertThat(json.has("secrets")).isFalse();
    }

    @Test
    void shouldShowTheConcreteSecretsEachIdentityGainsAndLoses() throws IOException {
        String namespace = NAMESPACE;
        Path old = dir("old", "payments.yaml", POLICY + namespace);
        Path now = dir("new", "payments.yaml", POLICY.replace("[stripe/webhook-secret]", "[stripe/webhook/*]")
                + namespace.replace("[shared/*]", "[shared/**]"));
        Path names = tmp.resolve("secrets.txt");
        Files.writeString(names, "# every secret of the backend\nstripe/secret-key\nstripe/webhook-secret\n"
                + "stripe/webhook/eu   # the EU endpoint\nshared/db-url\nshared/db/password\n\n");

        assertThat(run("policy", "diff", old.toString(), now.toString(), "--secrets", names.toString())).isEqualTo(1);
        assertThat(out).contains("secrets gained and lost (of 5 known name(s) in " + names + "):\n"
                + "  spiffe://cluster.local/ns/payments/*"
                + " (decided for spiffe://cluster.local/ns/payments/any-other-workload)\n"
                + "    + shared/db/password  current  payments.yaml#payments/workloads[1]/allow[0]\n"
                + "  " + CHECKOUT + "\n"
                + "    + shared/db/password  current  payments.yaml#payments/workloads[1]/allow[0]\n"
                + "    + stripe/webhook/eu  current  payments.yaml#payments/workloads[0]/allow[1]\n"
                + "    - stripe/webhook-secret  current  was payments.yaml#payments/workloads[0]/allow[1]\n");

        Files.writeString(names, "stripe/secret-key\nStripe/Key\n");
        assertThat(run("policy", "diff", old.toString(), now.toString(), "--secrets", names.toString())).isEqualTo(2);
        assertThat(err).contains("error: --secrets " + names + " holds invalid secret names",
                names + ":2: secret name 'Stripe/Key': segment 1 'Stripe' is invalid");
    }

    private static String withStripe(String key, String calls, String webhookSecrets) {
        return POLICY.replace("      rateLimit: 100/s\n", "      rateLimit: 100/s\n      stripe:\n        key: " + key
                + "\n        calls: " + calls + "\n        webhookSecrets: " + webhookSecrets + "\n");
    }

    @Test
    void shouldCallOutNewStripeCallsAndWebhookSecretsAndListKeyChanges() throws IOException {
        Path old = dir("old", "payments.yaml", withStripe("stripe/secret-key", "[POST /v1/payment_intents]",
                "[stripe/webhook/*]"));
        Path now = dir("new", "payments.yaml", withStripe("stripe/restricted/checkout",
                "[POST /v1/payment_intents, POST /v1/refunds]", "[stripe/webhook/eu, stripe/connect-webhook]"));

        assertThat(run("policy", "diff", old.toString(), now.toString())).isEqualTo(1);
        String entry = "payments.yaml#payments/workloads[0]/stripe/";
        assertThat(out).contains("stripe changes (6):\n"
                + "  - " + CHECKOUT + "  stripe.key             stripe/secret-key           " + entry + "key\n"
                + "  + " + CHECKOUT + "  stripe.key             stripe/restricted/checkout  " + entry + "key\n"
                + "  + " + CHECKOUT + "  stripe.calls           POST /v1/refunds            " + entry + "calls[1]\n"
                + "      WIDENING: new Stripe call: the broker now makes POST /v1/refunds with the workload's key\n"
                + "  - " + CHECKOUT + "  stripe.webhookSecrets  stripe/webhook/*            " + entry
                + "webhookSecrets[0]\n"
                + "  + " + CHECKOUT + "  stripe.webhookSecrets  stripe/webhook/eu           " + entry
                + "webhookSecrets[0]\n"
                + "      no effect: already allowed by OLD " + entry + "webhookSecrets[0]\n"
                + "  + " + CHECKOUT + "  stripe.webhookSecrets  stripe/connect-webhook      " + entry
                + "webhookSecrets[1]\n"
                + "      WIDENING: new webhook secret: the workload may now verify webhooks against "
                + "stripe/connect-webhook\n");
        assertThat(out).endsWith("RESULT: grants changed: 0 added, 0 removed, 0 rate limit(s) changed, "
                + "5 Stripe change(s); 2 WIDENING\n");

        assertThat(run("policy", "diff", old.toString(), now.toString(), "--format", "json")).isEqualTo(1);
        JsonNode call = JsonMapper.builder().build().readTree(out).get("stripe").get(2);
        assertThat(call.get("field").asString()).isEqualTo("stripe.calls");
        assertThat(call.get("change").asString()).isEqualTo("added");
        assertThat(call.get("value").asString()).isEqualTo("POST /v1/refunds");
        assertThat(call.get("rule").asString()).isEqualTo(entry + "calls[1]");
        assertThat(call.get("widening").asString()).startsWith("new Stripe call");

        assertThat(run("policy", "diff", old.toString(), old.toString())).isZero();
    }
}
