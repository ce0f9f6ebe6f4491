package io.keybroker.policy;

import static org.assertj.core.api.Assertions.assertThat;

import com.code_intelligence.jazzer.junit.DictionaryEntries;
import com.code_intelligence.jazzer.junit.FuzzTest;
import io.keybroker.identity.WorkloadIdentity;
import io.keybroker.secret.InvalidSecretNameException;
import io.keybroker.secret.SecretName;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.regex.Pattern;

/**
 * Fuzzes the policy parser on the text of one policy file, through the same {@link PolicyLoader#compile} that
 * start-up, the watcher and {@code keybroker policy check} use (docs/fuzzing.md; {@code scripts/fuzz.sh policy}).
 *
 * <p>The only outcomes allowed are a {@link PolicySet} that grants what the file says, or an
 * {@link InvalidPolicyException} whose every error names the file, a line inside it and a field, in printable
 * text of bounded length (policy errors go to the log, the audit log and the command's output). Anything else
 * (another exception, a hang, an alias expanded) is a finding.
 */
class PolicyParserFuzzTests {

    private static final String FILE = "fuzz.yaml";
    /**
     * A field path as the parser builds it: keys joined by '.', list indexes in brackets. An unknown key is the
     * writer's text and may hold any printable character, so only printable ASCII is required here.
     */
    private static final Pattern FIELD = Pattern.compile("[ -~]*");
    /** What one error may take: the longest fixed problem text plus a few quoted, shortened inputs. */
    private static final int MAX_ERROR_LENGTH = 1200;

    private final PolicyLoader loader = new PolicyLoader();

    @FuzzTest(maxDuration = "10m")
    @DictionaryEntries({"apiVersion: keybroker/v1\\x0a", "kind: Policy\\x0a", "metadata:\\x0a  name: ",
            "spec:\\x0a", "  workloads:\\x0a", "    - identity: ", "spiffe://cluster.local/ns/", "/sa/", "/*", "cn:",
            "      application: ", "      rateLimit: ", "/s", "/m", "      allow:\\x0a", "        - secrets: [",
            "stripe/secret-key", "/**", "]\\x0a", "          stages: [", "current", "previous", "&a ", "*a", "!!str ",
            "!!map", "? ", "<<: ", "---\\x0a", "...\\x0a", "{", "}", "[", "]", "\\\"", "'", "#", "%YAML 1.1\\x0a",
            "\\x09", "\\xef\\xbb\\xbf", "labels:", "annotations:"})
    void shouldYieldAPolicySetOrErrorsNamingFileLineAndField(byte[] input) {
        PolicyLoader.Snapshot snapshot = new PolicyLoader.Snapshot(Path.of("policies"), Map.of(FILE, input),
                List.of(), List.of(), "digest");
        PolicySet policy;
        try {
            policy = loader.compile(snapshot);
        } catch (InvalidPolicyException ex) {
            assertErrorsAreUsable(ex, input);
            return;
        }
        assertThat(policy.files()).containsExactly(FILE);
        assertThat(new String(input, StandardCharsets.UTF_8)).doesNotContain("\ufffd");
        for (Grant grant : policy.grants()) {
            assertGrantIsInForce(policy, grant);
        }
    }

    private static void assertErrorsAreUsable(InvalidPolicyException ex, byte[] input) {
        assertThat(ex.errors()).isNotEmpty();
        int lines = lineCount(new String(input, StandardCharsets.UTF_8));
        for (PolicyError error : ex.errors()) {
            assertThat(error.file()).isEqualTo(FILE);
            assertThat(error.line()).isBetween(0, lines);
            assertThat(error.field()).matches(FIELD).hasSizeLessThanOrEqualTo(200);
            assertThat(error.problem()).isNotBlank();
            assertThat(error.toString()).hasSizeLessThanOrEqualTo(MAX_ERROR_LENGTH);
            assertThat(error.toString().chars()).as("printable text only: %s", error)
                    .allMatch(c -> c >= 0x20 && c != 0x7f && !(c >= 0x80 && c < 0xa0) && c != 0x2028 && c != 0x2029);
        }
    }

    /** SnakeYAML's line breaks, and one more line for a mark at the very end. */
    private static int lineCount(String text) {
        int breaks = 0;
        for (int i = 0; i < text.length(); i++) {
            char c = text.charAt(i);
            if (c == '\n' || c == '\u0085' || c == '\u2028' || c == '\u2029'
                    || (c == '\r' && (i + 1 == text.length() || text.charAt(i + 1) != '\n'))) {
                breaks++;
            }
        }
        return breaks + 2;
    }

    /** Grants only add: a caller the grant's identity pattern covers may read the stage of a name it covers. */
    private static void assertGrantIsInForce(PolicySet policy, Grant grant) {
        WorkloadIdentity caller = switch (grant.identity().kind()) {
            case EXACT -> WorkloadIdentity.spiffe(grant.identity().fixed());
            case PREFIX -> WorkloadIdentity.spiffe(grant.identity().fixed() + "x");
            case CN -> new WorkloadIdentity(grant.identity().fixed(), WorkloadIdentity.Source.SUBJECT_CN);
        };
        assertThat(grant.identity().matches(caller)).isTrue();
        String text = grant.secret().text();
        String example = switch (grant.secret().kind()) {
            case EXACT -> text;
            case ONE_LEVEL -> text.substring(0, text.length() - 1) + "x";
            case ANY_DEPTH -> text.substring(0, text.length() - 2) + "x/y";
        };
        SecretName name;
        try {
            name = SecretName.parse(example);
        } catch (InvalidSecretNameException ex) {
            return; // a prefix so long that no name below it fits in 256 characters
        }
        assertThat(grant.secret().matches(name)).isTrue();
        assertThat(policy.decide(caller, name, grant.stage()).allowed()).as("%s", grant).isTrue();
        assertThat(policy.grantedStages(caller, name)).contains(grant.stage());
        assertThat(policy.workload(caller)).isPresent();
    }
}
