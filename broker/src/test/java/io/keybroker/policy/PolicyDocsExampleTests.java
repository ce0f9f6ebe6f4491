package io.keybroker.policy;

import static org.assertj.core.api.Assertions.assertThat;

import io.keybroker.identity.WorkloadIdentity;
import io.keybroker.secret.SecretName;
import io.keybroker.secret.Stage;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/** Keeps docs/policy.md honest: its example files load, and its decision table is what the engine decides. */
class PolicyDocsExampleTests {

    @TempDir
    static Path dir;

    private static PolicySet policy;

    private static synchronized PolicySet policy() throws IOException {
        if (policy == null) {
            // Maven runs tests in the broker module; the docs are beside it.
            String doc = Files.readString(Path.of("..", "docs", "policy.md"));
            Matcher blocks = Pattern.compile("```yaml\\n(.*?)```", Pattern.DOTALL).matcher(doc);
            List<String> policies = new ArrayList<>();
            while (blocks.find()) {
                if (blocks.group(1).contains("kind: Policy")) {
                    policies.add(blocks.group(1));
                }
            }
            Files.writeString(dir.resolve("payments.yaml"), policies.get(0));
            Files.writeString(dir.resolve("reporting.yaml"), policies.get(1));
            policy = new PolicyLoader().load(dir);
        }
        return policy;
    }

    @Test
    void shouldLoadTheExampleFilesOfTheDocs() throws IOException {
        assertThat(policy().files()).containsExactly("payments.yaml", "reporting.yaml");
        assertThat(policy().grants()).hasSize(5);
        assertThat(policy().warnings()).isEmpty();
    }

    @ParameterizedTest
    @CsvSource(delimiter = '|', value = {
        "spiffe://cluster.local/ns/payments/sa/checkout | stripe/secret-key           | PREVIOUS | payments.yaml#payments/workloads[0]/allow[0]",
        "spiffe://cluster.local/ns/payments/sa/checkout | stripe/webhook-secret       | PREVIOUS | default-deny",
        "spiffe://cluster.local/ns/payments/sa/checkout | shared/db-url               | CURRENT  | payments.yaml#payments/workloads[1]/allow[0]",
        "spiffe://cluster.local/ns/payments/sa/refunds  | stripe/secret-key           | CURRENT  | default-deny",
        "spiffe://cluster.local/ns/payments/sa/refunds  | shared/db/url               | CURRENT  | default-deny",
        "spiffe://cluster.local/ns/reporting/sa/daily   | stripe/restricted/eu/payouts | CURRENT | reporting.yaml#reporting/workloads[0]/allow[0]",
        "spiffe://cluster.local/ns/other/sa/x           | stripe/secret-key           | CURRENT  | default-deny",
    })
    void shouldDecideAsTheDocsTableSays(String identity, String secret, Stage stage, String rule) throws IOException {
        PolicyDecision decision = policy().decide(WorkloadIdentity.spiffe(identity), SecretName.parse(secret), stage);
        assertThat(decision.rule()).isEqualTo(rule);
        assertThat(decision.allowed()).isEqualTo(!rule.equals(PolicyDecision.DEFAULT_DENY));
    }
}
