package io.keybroker.policy;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.api.Assertions.catchThrowableOfType;

import io.keybroker.identity.WorkloadIdentity;
import io.keybroker.secret.SecretName;
import io.keybroker.secret.Stage;
import io.keybroker.testsupport.PolicyFixtures;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

class PolicyLoaderTests {

    @TempDir
    Path dir;

    private final PolicyLoader loader = new PolicyLoader();

    private InvalidPolicyException loadFailure() {
        return catchThrowableOfType(InvalidPolicyException.class, () -> loader.load(dir));
    }

    @Test
    void shouldLoadTheSpecExample() throws IOException {
        Files.writeString(dir.resolve("payments.yaml"), PolicyFixtures.PAYMENTS);
        PolicySet set = loader.load(dir);
        assertThat(set.files()).containsExactly("payments.yaml");
        assertThat(set.grants()).hasSize(3);
        assertThat(set.warnings()).isEmpty();
        assertThat(set.decide(WorkloadIdentity.spiffe("spiffe://cluster.local/ns/payments/sa/checkout"),
                SecretName.parse("stripe/secret-key"), Stage.PREVIOUS).allowed()).isTrue();
    }

    static Stream<Arguments> brokenFiles() {
        String head = "apiVersion: keybroker/v1\nkind: Policy\nmetadata:\n  name: payments\nspec:\n  workloads:\n";
        String entry = "    - identity: spiffe://cluster.local/ns/payments/sa/checkout\n      application: checkout\n";
        String allow = "      allow:\n        - secrets: [stripe/secret-key]\n          stages: [current]\n";
        return Stream.of(
                Arguments.of("wrong apiVersion", PolicyFixtures.PAYMENTS.replace("keybroker/v1", "keybroker/v2"),
                        List.of("bad.yaml:1: apiVersion: unsupported apiVersion 'keybroker/v2'; write apiVersion: keybroker/v1")),
                Arguments.of("wrong kind", PolicyFixtures.PAYMENTS.replace("kind: Policy", "kind: Secret"),
                        List.of("bad.yaml:2: kind: unsupported kind 'Secret'; write kind: Policy")),
                Arguments.of("missing metadata", PolicyFixtures.PAYMENTS.replace("metadata:\n  name: payments\n", ""),
                        List.of("bad.yaml:1: metadata: missing required key 'metadata'")),
                Arguments.of("bad metadata name", PolicyFixtures.PAYMENTS.replace("name: payments", "name: Pay_ments"),
                        List.of("bad.yaml:4: metadata.name: invalid name 'Pay_ments'")),
                Arguments.of("unknown top-level key", PolicyFixtures.PAYMENTS + "extra: 1\n",
                        List.of("bad.yaml:15: extra: unknown key 'extra'; allowed keys here: apiVersion, kind, metadata, spec")),
                Arguments.of("misspelt key with a suggestion", PolicyFixtures.PAYMENTS.replace("application:", "aplication:"),
                        List.of("bad.yaml:8: spec.workloads[0].aplication: unknown key 'aplication' (did you mean 'application'?)",
                                "bad.yaml:7: spec.workloads[0].application: missing required key 'application'")),
                Arguments.of("workloads not a list", head.replace("  workloads:\n", "  workloads: checkout\n"),
                        List.of("bad.yaml:6: spec.workloads: expected a list but found text")),
                Arguments.of("missing identity", head + entry.replace("- identity: spiffe://cluster.local/ns/payments/sa/checkout\n      ", "- ") + allow,
                        List.of("spec.workloads[0].identity: missing required key 'identity'")),
                Arguments.of("missing allow", head + entry,
                        List.of("spec.workloads[0].allow: missing required key 'allow'")),
                Arguments.of("empty allow", head + entry + "      allow: []\n",
                        List.of("bad.yaml:9: spec.workloads[0].allow: the entry grants nothing")),
                Arguments.of("missing stages", head + entry + "      allow:\n        - secrets: [stripe/secret-key]\n",
                        List.of("spec.workloads[0].allow[0].stages: missing required key 'stages'")),
                Arguments.of("unknown stage", head + entry + allow.replace("[current]", "[current, latest]"),
                        List.of("bad.yaml:11: spec.workloads[0].allow[0].stages[1]: unknown stage 'latest'; expected 'current' or 'previous'")),
                Arguments.of("duplicate stage", head + entry + allow.replace("[current]", "[current, current]"),
                        List.of("spec.workloads[0].allow[0].stages[1]: stage 'current' is listed twice")),
                Arguments.of("secret pattern * alone", head + entry + allow.replace("[stripe/secret-key]", "['*']"),
                        List.of("bad.yaml:10: spec.workloads[0].allow[0].secrets[0]: secret pattern '*' would grant every secret",
                                "write an exact name (stripe/secret-key), a prefix and '/*' for one more segment (stripe/*), or a prefix and '/**'")),
                Arguments.of("star in the middle", head + entry + allow.replace("[stripe/secret-key]", "[stripe/*/x]"),
                        List.of("spec.workloads[0].allow[0].secrets[0]: secret pattern 'stripe/*/x' has '*' in the wrong place")),
                Arguments.of("partial star", head + entry + allow.replace("[stripe/secret-key]", "[stripe/sk_*]"),
                        List.of("spec.workloads[0].allow[0].secrets[0]: secret pattern 'stripe/sk_*' has '*' in the wrong place")),
                Arguments.of("invalid secret name", head + entry + allow.replace("[stripe/secret-key]", "[Stripe/Key]"),
                        List.of("spec.workloads[0].allow[0].secrets[0]: secret pattern 'Stripe/Key' is invalid", "[a-z0-9][a-z0-9._-]*")),
                Arguments.of("dot-dot in a secret", head + entry + allow.replace("[stripe/secret-key]", "[stripe/../aws]"),
                        List.of("spec.workloads[0].allow[0].secrets[0]: secret pattern 'stripe/../aws' is invalid")),
                Arguments.of("secrets not a list", head + entry + allow.replace("[stripe/secret-key]", "stripe/secret-key"),
                        List.of("spec.workloads[0].allow[0].secrets: expected a list but found text")),
                Arguments.of("secret given as a number", head + entry + allow.replace("[stripe/secret-key]", "[42]"),
                        List.of("spec.workloads[0].allow[0].secrets[0]: expected text but found a number (put it in quotes if you meant it as text)")),
                Arguments.of("identity not spiffe", head + entry.replace("spiffe://cluster.local/ns/payments/sa/checkout", "https://example.org/x") + allow,
                        List.of("bad.yaml:7: spec.workloads[0].identity: identity 'https://example.org/x' is not a SPIFFE ID")),
                Arguments.of("upper-case trust domain", head + entry.replace("cluster.local", "Cluster.Local") + allow,
                        List.of("spec.workloads[0].identity: identity 'spiffe://Cluster.Local/ns/payments/sa/checkout' has an invalid trust domain")),
                Arguments.of("identity with port", head + entry.replace("cluster.local", "cluster.local:8443") + allow,
                        List.of("spec.workloads[0].identity:", "has a port in its trust domain")),
                Arguments.of("trust domain ending in a dot", head + entry.replace("cluster.local", "cluster.local.") + allow,
                        List.of("spec.workloads[0].identity:", "has a trust domain ending in '.'")),
                Arguments.of("identity with user info", head + entry.replace("cluster.local", "admin@cluster.local") + allow,
                        List.of("spec.workloads[0].identity:", "has user info")),
                Arguments.of("identity with query", head + entry.replace("sa/checkout", "sa/checkout?x=1") + allow,
                        List.of("spec.workloads[0].identity:", "has a query or fragment")),
                Arguments.of("identity with dot-dot", head + entry.replace("sa/checkout", "sa/../checkout") + allow,
                        List.of("spec.workloads[0].identity:", "has a '..' path segment")),
                Arguments.of("identity with empty segment", head + entry.replace("sa/checkout", "sa//checkout") + allow,
                        List.of("spec.workloads[0].identity:", "has an empty path segment")),
                Arguments.of("identity wildcard in the middle", head + entry.replace("sa/checkout", "*/checkout") + allow,
                        List.of("spec.workloads[0].identity:", "has '*' in the wrong place")),
                Arguments.of("identity of a bare trust domain", head + entry.replace("/ns/payments/sa/checkout", "") + allow,
                        List.of("spec.workloads[0].identity:", "names a trust domain, not a workload")),
                Arguments.of("cn with a wildcard", head + entry.replace("spiffe://cluster.local/ns/payments/sa/checkout", "cn:check*") + allow,
                        List.of("spec.workloads[0].identity: identity 'cn:check*' has an invalid common name")),
                Arguments.of("bad application name", head + entry.replace("application: checkout", "application: check/out") + allow,
                        List.of("bad.yaml:8: spec.workloads[0].application: invalid application name 'check/out'")),
                Arguments.of("bad rate limit", head + entry + "      rateLimit: 100 per second\n" + allow,
                        List.of("bad.yaml:9: spec.workloads[0].rateLimit: rate limit '100 per second' is invalid; write COUNT/UNIT")),
                Arguments.of("rate limit as a number", head + entry + "      rateLimit: 100\n" + allow,
                        List.of("spec.workloads[0].rateLimit: expected text but found a number")),
                Arguments.of("empty application", head + entry.replace("application: checkout", "application:") + allow,
                        List.of("spec.workloads[0].application: expected text but found nothing (an empty value)")),
                Arguments.of("duplicate key", head + entry + "      application: other\n" + allow,
                        List.of("bad.yaml:9: spec.workloads[0].application: duplicate key 'application' (first on line 8)")),
                Arguments.of("duplicate identity in one file", head + entry + allow + entry + allow,
                        List.of("bad.yaml:12: spec.workloads[1].identity: identity spiffe://cluster.local/ns/payments/sa/checkout already has a workload entry in line 7 of this file")),
                Arguments.of("YAML alias", head + entry.replace("- identity", "- &w\n      identity") + allow + "    - *w\n",
                        List.of("YAML aliases (*w) are not allowed")),
                Arguments.of("two documents", PolicyFixtures.PAYMENTS + "---\n" + PolicyFixtures.PAYMENTS,
                        List.of("bad.yaml: the file holds 2 YAML documents; put exactly one Policy in each file")),
                Arguments.of("comments only", "# nothing here\n",
                        List.of("bad.yaml: the file holds no policy")),
                Arguments.of("syntax error", "apiVersion: keybroker/v1\nkind: [Policy\n",
                        List.of("bad.yaml:", "YAML syntax error")),
                Arguments.of("custom tag", PolicyFixtures.PAYMENTS.replace("application: checkout", "application: !secret checkout"),
                        List.of("spec.workloads[0].application: expected text but found a value with the YAML tag !secret (tags are not allowed)")),
                Arguments.of("not a mapping", "- a\n- b\n",
                        List.of("bad.yaml:1: expected a mapping (key: value lines) but found a list")));
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("brokenFiles")
    void shouldRejectABrokenFileNamingTheFileFieldAndProblem(String description, String yaml, List<String> expected)
            throws IOException {
        Files.writeString(dir.resolve("bad.yaml"), yaml);
        InvalidPolicyException failure = loadFailure();
        assertThat(failure).as(description).isNotNull();
        String all = String.join("\n", failure.messages());
        for (String fragment : expected) {
            assertThat(all).as(description).contains(fragment);
        }
    }

    @Test
    void shouldReportEveryErrorOfALoadNotOnlyTheFirst() throws IOException {
        Files.writeString(dir.resolve("a.yaml"), PolicyFixtures.PAYMENTS.replace("stripe/secret-key", "stripe/*/x")
                .replace("100/s", "fast"));
        Files.writeString(dir.resolve("b.yaml"), PolicyFixtures.PAYMENTS.replace("kind: Policy", "kind: Nope")
                .replace("/sa/checkout", "/sa/other"));
        InvalidPolicyException failure = loadFailure();
        assertThat(failure.messages()).hasSize(3);
        assertThat(failure.messages()).anySatisfy(m -> assertThat(m).startsWith("a.yaml:9: spec.workloads[0].rateLimit:"));
        assertThat(failure.messages()).anySatisfy(m -> assertThat(m).startsWith("a.yaml:11: spec.workloads[0].allow[0].secrets[0]:"));
        assertThat(failure.messages()).anySatisfy(m -> assertThat(m).startsWith("b.yaml:2: kind:"));
    }

    @Test
    void shouldRejectTheSameIdentityInTwoFilesNamingBoth() throws IOException {
        Files.writeString(dir.resolve("payments.yaml"), PolicyFixtures.PAYMENTS);
        Files.writeString(dir.resolve("zz-extra.yaml"), PolicyFixtures.PAYMENTS.replace("name: payments", "name: extra"));
        InvalidPolicyException failure = loadFailure();
        assertThat(failure.messages()).containsExactly("zz-extra.yaml:7: spec.workloads[0].identity: identity "
                + "spiffe://cluster.local/ns/payments/sa/checkout already has a workload entry in payments.yaml line 7 "
                + "(spec.workloads[0]); an identity may have only one entry across all policy files: merge the allow "
                + "rules of both entries into one");
    }

    @Test
    void shouldReportADuplicateIdentityEvenWhenItsEntryHasOtherErrors() throws IOException {
        Files.writeString(dir.resolve("payments.yaml"), PolicyFixtures.PAYMENTS);
        Files.writeString(dir.resolve("zz-extra.yaml"), PolicyFixtures.PAYMENTS.replace("name: payments", "name: extra")
                .replace("rateLimit:", "rateLimt:"));
        assertThat(loadFailure().messages()).hasSize(2).anySatisfy(m -> assertThat(m)
                .startsWith("zz-extra.yaml:7: spec.workloads[0].identity: identity "
                        + "spiffe://cluster.local/ns/payments/sa/checkout already has a workload entry in payments.yaml"));
    }

    @Test
    void shouldAllowTheSameIdentityAsExactAndAsPrefixEntries() throws IOException {
        Files.writeString(dir.resolve("payments.yaml"), PolicyFixtures.PAYMENTS);
        Files.writeString(dir.resolve("ns.yaml"), PolicyFixtures.PAYMENTS.replace("name: payments", "name: ns")
                .replace("/sa/checkout", "/*"));
        assertThat(loader.load(dir).workloads()).hasSize(2);
    }

    @Test
    void shouldRefuseAYamlBombBeforeExpandingIt() throws IOException {
        StringBuilder bomb = new StringBuilder("apiVersion: keybroker/v1\nkind: Policy\n");
        bomb.append("a: &a [\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\"]\n");
        char prev = 'a';
        for (char c = 'b'; c <= 'j'; c++) {
            bomb.append(c).append(": &").append(c).append(" [");
            for (int i = 0; i < 9; i++) {
                bomb.append(i == 0 ? "" : ",").append('*').append(prev);
            }
            bomb.append("]\n");
            prev = c;
        }
        Files.writeString(dir.resolve("bomb.yaml"), bomb);
        assertThat(loadFailure().messages()).singleElement().asString()
                .startsWith("bomb.yaml:4: YAML aliases (*a) are not allowed in policy files");
    }

    @Test
    void shouldRefuseAFileLargerThanOneMebibyte() throws IOException {
        String padding = "# " + "x".repeat(1000) + "\n";
        Files.writeString(dir.resolve("huge.yaml"), PolicyFixtures.PAYMENTS + padding.repeat(1100));
        assertThat(loadFailure().messages()).containsExactly("huge.yaml: the file is larger than 1048576 bytes "
                + "(1 MiB), the limit for a policy file; split it into several files");
    }

    @Test
    void shouldRefuseAFileThatIsNotUtf8() throws IOException {
        Files.write(dir.resolve("latin1.yaml"), PolicyFixtures.PAYMENTS.replace("payments", "paym\u00e9nts")
                .getBytes(StandardCharsets.ISO_8859_1));
        assertThat(loadFailure().messages()).containsExactly("latin1.yaml: the file is not valid UTF-8 text; save it "
                + "as UTF-8");
    }

    @Test
    void shouldAcceptAnEmptyDirectoryWithAWarning() {
        PolicySet set = loader.load(dir);
        assertThat(set.files()).isEmpty();
        assertThat(set.warnings()).singleElement().asString()
                .isEqualTo("no policy files (*.yaml, *.yml) in " + dir + ": every request is denied");
    }

    @Test
    void shouldSkipOtherFilesWithAWarningAndHiddenFilesSilently() throws IOException {
        Files.writeString(dir.resolve("payments.yaml"), PolicyFixtures.PAYMENTS);
        Files.writeString(dir.resolve("README.md"), "not a policy");
        Files.writeString(dir.resolve(".payments.yaml.swp"), "editor junk");
        Files.writeString(dir.resolve(".hidden.yaml"), "broken: [");
        Files.createDirectory(dir.resolve("old"));
        PolicySet set = loader.load(dir);
        assertThat(set.files()).containsExactly("payments.yaml");
        assertThat(set.warnings()).containsExactly(
                "ignored README.md: only files named *.yaml or *.yml are read as policy files",
                "ignored subdirectory old/: policy files are read from " + dir + " itself, not from its subdirectories");
    }

    @Test
    void shouldRejectAMissingDirectory() {
        Path missing = dir.resolve("nope");
        assertThatThrownBy(() -> loader.load(missing)).isInstanceOf(InvalidPolicyException.class)
                .hasMessageContaining(missing + " does not exist; create it or point to the directory that holds "
                        + "the policy files");
    }

    @Test
    void shouldAcceptMetadataLabelsAndAnnotations() throws IOException {
        Files.writeString(dir.resolve("payments.yaml"), PolicyFixtures.PAYMENTS.replace("  name: payments\n",
                "  name: payments\n  labels:\n    team: payments\n  annotations:\n    owner: sec@example.com\n"));
        assertThat(loader.load(dir).files()).containsExactly("payments.yaml");
    }

    @Test
    void shouldQuoteAnUnknownKeyInTheFieldPathShortenedLikeInTheProblem() throws IOException {
        // Found by PolicyParserFuzzTests: the field path carried the whole key, however long.
        String key = "x".repeat(300);
        Files.writeString(dir.resolve("payments.yaml"), PolicyFixtures.PAYMENTS.replace("  name: payments\n",
                "  name: payments\n  " + key + ": y\n  labels:\n    " + key + ": [not, text]\n"));
        String shortened = "x".repeat(64) + "...";
        assertThat(loadFailure().errors()).extracting(PolicyError::field)
                .containsExactly("metadata." + shortened, "metadata.labels." + shortened);
    }

    @Test
    void shouldKeepLineBreaksOfAYamlSyntaxErrorOutOfTheMessage() throws IOException {
        // Found by PolicyParserFuzzTests: SnakeYAML quotes the character it stumbled on, here a line break.
        Files.writeString(dir.resolve("tag.yaml"), "apiVersion: !!\nkind: Policy\n");
        assertThat(loadFailure().messages()).singleElement().asString()
                .startsWith("tag.yaml:1: YAML syntax error: expected URI, but found ?").doesNotContain("\n");
    }

    @Test
    void shouldRefuseAPlainDirectoryWhoseHiddenDataLinkWouldReplaceTheVisibleFiles() throws IOException {
        Files.writeString(dir.resolve("payments.yaml"), POLICY_FOR_DATA_LINK);
        Path hidden = Files.createDirectory(dir.resolve(".hidden-generation"));
        Files.writeString(hidden.resolve("other.yaml"), POLICY_FOR_DATA_LINK);
        Files.createSymbolicLink(dir.resolve("..data"), hidden.getFileName());
        assertThatThrownBy(() -> new PolicyLoader().load(dir))
                .isInstanceOf(InvalidPolicyException.class)
                .hasMessageContaining("..data").hasMessageContaining("[payments.yaml]");
    }

    @Test
    void shouldReadTheDataGenerationOfAKubernetesVolume() throws IOException {
        Path generation = Files.createDirectory(dir.resolve("..2026_12_07"));
        Files.writeString(generation.resolve("payments.yaml"), POLICY_FOR_DATA_LINK);
        Files.createSymbolicLink(dir.resolve("..data"), generation.getFileName());
        Files.createSymbolicLink(dir.resolve("payments.yaml"), Path.of("..data", "payments.yaml"));
        assertThat(new PolicyLoader().load(dir).files()).containsExactly("payments.yaml");
    }

    private static final String POLICY_FOR_DATA_LINK = PolicyFixtures.policy("payments", """
                - identity: spiffe://cluster.local/ns/payments/sa/checkout
                  application: checkout
                  allow:
                    - secrets: [stripe/secret-key]
                      stages: [current]
            """);
}
