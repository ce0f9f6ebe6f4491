package io.keybroker.cli.policy;

import static org.assertj.core.api.Assertions.assertThat;

import io.keybroker.cli.KeybrokerCli;
import io.keybroker.testsupport.OpenBaoServer;
import io.keybroker.testsupport.PeerProcess;
import java.io.IOException;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import software.amazon.awssdk.services.secretsmanager.SecretsManagerAsyncClient;

/**
 * {@code policy diff --backend}: the known names come from a real OpenBao, a real moto and the file backend, each
 * holding the same secrets. Every backend also holds a path of another environment and a path that only an alias
 * would reach: neither may become a name, and no backend path may be printed.
 */
class DiffBackendIntegrationTests {

    private static final String CHECKOUT = "spiffe://cluster.local/ns/payments/sa/checkout";
    /** Backend paths under prod; the last one is owned by the explicit mapping below, as payments/db. */
    private static final List<String> PATHS = List.of("prod/stripe/secret-key", "prod/stripe/webhook-secret",
            "prod/stripe/restricted/refunds", "prod/legacy/db-password");
    private static final String OTHER_ENVIRONMENT = "staging/stripe/other-environment";
    private static final String[] MAPPING = {"--keybroker.environment=prod",
        "--keybroker.mappings[0].name=payments/db", "--keybroker.mappings[0].path={environment}/legacy/db-password"};
    /** Only the list capability on metadata: listing needs no value. */
    private static final String REVIEWER_POLICY = """
            path "secret/metadata/prod/*" {
              capabilities = ["list"]
            }
            """;

    @TempDir
    Path tmp;

    private record Run(int status, String out, String err) {
    }

    @Test
    void shouldTakeTheKnownNamesFromOpenBaoThroughAListOnlyToken() throws IOException {
        try (OpenBaoServer bao = OpenBaoServer.start("diff-backend")) {
            for (String path : PATHS) {
                bao.admin().kvPut(path, Map.of("value", "not-a-real-key"));
            }
            bao.admin().kvPut(OTHER_ENVIRONMENT, Map.of("value", "not-a-real-key"));
            bao.admin().writePolicy("keybroker-reviewer", REVIEWER_POLICY);
            String reviewer = bao.admin().createToken(Map.of("policies", List.of("keybroker-reviewer")));

            assertNamesFromBackend("vault", diff("--keybroker.backend=vault",
                    "--spring.cloud.vault.uri=" + bao.address(), "--spring.cloud.vault.token=" + reviewer));
        }
    }

    @Test
    void shouldTakeTheKnownNamesFromSecretsManager() throws IOException {
        try (PeerProcess moto = PeerProcess.moto();
                SecretsManagerAsyncClient admin = moto.secretsManager("us-east-1")) {
            for (String path : concat(PATHS, OTHER_ENVIRONMENT)) {
                admin.createSecret(b -> b.name(path).secretString("not-a-real-key")).join();
            }
            // The command takes credentials from the SDK's default chain; system properties are part of it.
            System.setProperty("aws.accessKeyId", "testing");
            System.setProperty("aws.secretAccessKey", "testing");
            try {
                assertNamesFromBackend("aws", diff("--keybroker.backend=aws", "--keybroker.aws.region=us-east-1",
                        "--keybroker.aws.endpoint=" + moto.uri()));
            } finally {
                System.clearProperty("aws.accessKeyId");
                System.clearProperty("aws.secretAccessKey");
            }
        }
    }

    @Test
    void shouldTakeTheKnownNamesFromTheSecretsFile() throws IOException {
        StringBuilder yaml = new StringBuilder("secrets:\n");
        for (String path : concat(PATHS, OTHER_ENVIRONMENT)) {
            yaml.append("  ").append(path).append(":\n    - version: \"1\"\n      value: not-a-real-key\n")
                    .append("      createdAt: 2026-11-20T10:00:00Z\n");
        }
        Path file = Files.writeString(tmp.resolve("secrets.yaml"), yaml);

        assertNamesFromBackend("file", diff("--keybroker.backend=file", "--keybroker.file.path=" + file));
    }

    @Test
    void shouldExitTwoNamingWhatToCheckWhenTheBackendCannotBeListed() throws IOException {
        int closedPort = OpenBaoServer.freePort();
        Run run = diff("--keybroker.backend=vault", "--spring.cloud.vault.uri=http://127.0.0.1:" + closedPort,
                "--spring.cloud.vault.token=reviewer-token-never-printed");

        assertThat(run.status()).isEqualTo(2);
        assertThat(run.err()).contains("error: --backend: cannot list the secrets of the vault backend(s)",
                "spring.cloud.vault.uri").doesNotContain("reviewer-token-never-printed");
        assertThat(run.out()).isEmpty();
    }

    @Test
    void shouldRefuseBothSourcesOfNamesAtOnce() throws IOException {
        Run run = diff("--keybroker.backend=file", "--secrets", tmp.resolve("names.txt").toString());

        assertThat(run.status()).isEqualTo(2);
        assertThat(run.err()).contains("--secrets and --backend both give the known secret names; use one of them");
    }

    /**
     * NEW grants checkout everything under stripe/, payments/ and legacy/ (OLD: its two stripe keys); of what the
     * backend holds, checkout therefore gains exactly the other names the mappings give its paths.
     */
    private static void assertNamesFromBackend(String backend, Run run) {
        assertThat(run.status()).as(run.err()).isEqualTo(1);
        String section = run.out().substring(run.out().indexOf("secrets gained and lost"),
                run.out().indexOf("RESULT:"));
        assertThat(section).isEqualTo("secrets gained and lost (of 4 known name(s) in the " + backend
                + " backend):\n"
                + "  " + CHECKOUT + "\n"
                + "    + payments/db  current  payments.yaml#payments/workloads[0]/allow[1]\n"
                + "    + stripe/restricted/refunds  current  payments.yaml#payments/workloads[0]/allow[1]\n");
        // Paths are never printed: not the listed ones, not the one only an alias reaches, not another
        // environment's.
        assertThat(run.out() + run.err()).doesNotContain("prod/", "staging", "db-password", "not-a-real-key");
    }

    private Run diff(String... configuration) throws IOException {
        Path old = policy("old", "[stripe/webhook-secret]");
        Path now = policy("new", "[stripe/**, payments/*, legacy/**]");
        List<String> args = new ArrayList<>(List.of("policy", "diff", old.toString(), now.toString(), "--backend"));
        args.addAll(List.of(MAPPING));
        args.addAll(List.of(configuration));
        StringWriter out = new StringWriter();
        StringWriter err = new StringWriter();
        int status = KeybrokerCli.run(args.toArray(String[]::new), new PrintWriter(out, true),
                new PrintWriter(err, true));
        return new Run(status, out.toString(), err.toString());
    }

    /** Writes the policy of {@link DiffCommandTests} with its second rule's secrets replaced. */
    private Path policy(String name, String secrets) throws IOException {
        Path dir = Files.createDirectories(tmp.resolve(name));
        Files.writeString(dir.resolve("payments.yaml"), DiffCommandTests.POLICY.replace("[stripe/webhook-secret]",
                secrets));
        return dir;
    }

    private static List<String> concat(List<String> list, String more) {
        List<String> all = new ArrayList<>(list);
        all.add(more);
        return all;
    }
}
