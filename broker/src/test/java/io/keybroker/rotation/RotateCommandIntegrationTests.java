package io.keybroker.rotation;

import static org.assertj.core.api.Assertions.assertThat;

import io.keybroker.cli.KeybrokerCli;
import io.keybroker.testsupport.OpenBaoServer;
import io.keybroker.testsupport.PeerProcess;
import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import software.amazon.awssdk.services.secretsmanager.SecretsManagerAsyncClient;

/**
 * {@code keybroker rotate} against a real moto (AWS flavour), a real OpenBao (Vault flavour) and a real
 * stripe-mock, which accepts test-mode secret keys and answers 401 to anything else (an sk_live_ key).
 */
class RotateCommandIntegrationTests {

    private static final String GOOD = "sk_test_rotatedKeyStripeMockAccepts001";
    private static final String BAD = "sk_live_rotatedKeyStripeMockRefuses001";

    private static PeerProcess stripe;
    private static PeerProcess moto;

    @BeforeAll
    static void start() {
        stripe = PeerProcess.stripeMock();
        moto = PeerProcess.moto();
        // The command takes credentials from the SDK's default chain; system properties are part of it.
        System.setProperty("aws.accessKeyId", "testing");
        System.setProperty("aws.secretAccessKey", "testing");
    }

    @AfterAll
    static void stop() {
        System.clearProperty("aws.accessKeyId");
        System.clearProperty("aws.secretAccessKey");
        stripe.close();
        moto.close();
    }

    record Run(int exit, String out, String err) {
    }

    private static Run rotate(String newKey, String... args) {
        StringWriter out = new StringWriter();
        StringWriter err = new StringWriter();
        List<String> all = new ArrayList<>(List.of("rotate", "--secret", "stripe/secret-key",
                "--stripe-api-base", stripe.uri().toString()));
        all.addAll(List.of(args));
        int exit = KeybrokerCli.run(all.toArray(String[]::new), new PrintWriter(out, true), new PrintWriter(err, true),
                new ByteArrayInputStream((newKey + "\n").getBytes(StandardCharsets.UTF_8)));
        Run run = new Run(exit, out.toString(), err.toString());
        assertThat(run.out() + run.err()).doesNotContain(GOOD, BAD);
        return run;
    }

    private static SecretsManagerAsyncClient aws() {
        return moto.secretsManager("us-east-1");
    }

    private static String[] awsArgs(String environment) {
        return new String[] {"--keybroker.environment=" + environment, "--keybroker.backend=aws",
                "--keybroker.aws.region=us-east-1", "--keybroker.aws.endpoint=" + moto.uri()};
    }

    private static Map<String, List<String>> stages(SecretsManagerAsyncClient client, String id) {
        return client.describeSecret(b -> b.secretId(id)).join().versionIdsToStages();
    }

    @Test
    void shouldPromoteAKeyStripeAcceptsInAwsAndKeepTheOldOneAsPrevious() {
        try (SecretsManagerAsyncClient client = aws()) {
            String id = "awsgood/stripe/secret-key";
            String old = client.createSecret(b -> b.name(id).secretString("sk_test_oldKey0000000000000000001")).join()
                    .versionId();
            Run run = rotate(GOOD, concat(awsArgs("awsgood"), "--client-request-token",
                    "11111111-2222-3333-4444-555555555555"));
            assertThat(run.exit()).as(run.out() + run.err()).isZero();
            assertThat(run.out()).contains("createSecret", "test: GET", "answered 200", "finishSecret");
            Map<String, List<String>> stages = stages(client, id);
            assertThat(stages.get("11111111-2222-3333-4444-555555555555")).contains("AWSCURRENT")
                    .doesNotContain("AWSPENDING");
            assertThat(stages.get(old)).contains("AWSPREVIOUS");
            assertThat(client.getSecretValue(b -> b.secretId(id).versionStage("AWSCURRENT")).join().secretString())
                    .isEqualTo(GOOD);
            assertThat(client.getSecretValue(b -> b.secretId(id).versionStage("AWSPREVIOUS")).join().secretString())
                    .isEqualTo("sk_test_oldKey0000000000000000001");
            // The same token again: idempotent, nothing new.
            Run again = rotate(GOOD, concat(awsArgs("awsgood"), "--client-request-token",
                    "11111111-2222-3333-4444-555555555555"));
            assertThat(again.exit()).isZero();
            assertThat(stages(client, id)).hasSize(2);
        }
    }

    @Test
    void shouldRefuseAKeyStripeRejectsAndLeaveAwsCurrentUnchanged() {
        try (SecretsManagerAsyncClient client = aws()) {
            String id = "awsbad/stripe/secret-key";
            String old = client.createSecret(b -> b.name(id).secretString("sk_test_oldKey0000000000000000002")).join()
                    .versionId();
            Run run = rotate(BAD, awsArgs("awsbad"));
            assertThat(run.exit()).isEqualTo(1);
            assertThat(run.out()).contains("answered 401", "Stripe refused the new key", "removed AWSPENDING");
            Map<String, List<String>> stages = stages(client, id);
            assertThat(stages.get(old)).contains("AWSCURRENT");
            assertThat(stages.values()).noneSatisfy(labels -> assertThat(labels).contains("AWSPENDING"));
            assertThat(client.getSecretValue(b -> b.secretId(id)).join().secretString())
                    .isEqualTo("sk_test_oldKey0000000000000000002");
        }
    }

    @Test
    void shouldRotateInOpenBaoWithCheckAndSetSoOnlyOneOfTwoRacingRotationsWins() {
        try (OpenBaoServer bao = OpenBaoServer.start("rotate")) {
            bao.admin().kvPut("prod/stripe/secret-key", Map.of("value", "sk_test_vaultOld000000000000000001"));
            bao.admin().kvPut("prod/stripe/secret-key", Map.of("value", "sk_test_vaultOld000000000000000002"));
            String[] vault = {"--keybroker.environment=prod", "--keybroker.backend=vault",
                    "--spring.cloud.vault.uri=" + bao.address(), "--spring.cloud.vault.token=" + OpenBaoServer.ROOT_TOKEN};

            Run refused = rotate(BAD, vault);
            assertThat(refused.exit()).isEqualTo(1);
            assertThat(refused.out()).contains("nothing was written");

            // Two rotations that both read version 2: the first wins, the second loses the check-and-set.
            Run first = rotate(GOOD, concat(vault, "--expected-version", "2"));
            Run second = rotate("sk_test_secondRacingRotation00000001", concat(vault, "--expected-version", "2"));
            assertThat(first.exit()).as(first.out() + first.err()).isZero();
            assertThat(first.out()).contains("wrote version 3");
            assertThat(second.exit()).isEqualTo(3);
            assertThat(second.out()).contains("another rotation won");
            String current = bao.admin().call("GET", "secret/data/prod/stripe/secret-key", null)
                    .path("data").path("data").path("value").asString();
            assertThat(current).isEqualTo(GOOD);
        }
    }

    @Test
    void shouldReadTheBackendFromAConfigTreeImportAsTheServerDoes(@TempDir Path tree) throws IOException {
        // As Kubernetes mounts a ConfigMap: one file per property, given to the CLI only through the import.
        Files.writeString(tree.resolve("keybroker.environment"), "awstree");
        Files.writeString(tree.resolve("keybroker.aws.endpoint"), moto.uri().toString());
        try (SecretsManagerAsyncClient client = aws()) {
            client.createSecret(b -> b.name("awstree/stripe/secret-key")
                    .secretString("sk_test_oldKey0000000000000000003")).join();
            Run run = rotate(GOOD, "--spring.config.import=configtree:" + tree + "/", "--keybroker.backend=aws",
                    "--keybroker.aws.region=us-east-1");
            assertThat(run.exit()).as(run.out() + run.err()).isZero();
            assertThat(run.out()).contains("rotating stripe/secret-key in aws at awstree/stripe/secret-key");
            assertThat(client.getSecretValue(b -> b.secretId("awstree/stripe/secret-key").versionStage("AWSCURRENT"))
                    .join().secretString()).isEqualTo(GOOD);
        }
    }

    @Test
    void shouldReadTheBackendFromAnAdditionalLocationAsTheServerDoes(@TempDir Path dir) throws IOException {
        Path extra = dir.resolve("extra.yaml");
        Files.writeString(extra, "keybroker:\n  environment: awsextra\n  backend: aws\n  aws:\n    region: us-east-1\n"
                + "    endpoint: " + moto.uri() + "\n");
        try (SecretsManagerAsyncClient client = aws()) {
            client.createSecret(b -> b.name("awsextra/stripe/secret-key")
                    .secretString("sk_test_oldKey0000000000000000004")).join();
            Run run = rotate(GOOD, "--spring.config.additional-location=file:" + extra);
            assertThat(run.exit()).as(run.out() + run.err()).isZero();
            assertThat(run.out()).contains("rotating stripe/secret-key in aws at awsextra/stripe/secret-key");
            assertThat(client.getSecretValue(b -> b.secretId("awsextra/stripe/secret-key").versionStage("AWSCURRENT"))
                    .join().secretString()).isEqualTo(GOOD);
        }
    }

    @Test
    void shouldRefuseBadInputWithoutTouchingTheBackend() {
        assertThat(rotate("", awsArgs("x")).err()).contains("empty");
        assertThat(rotate("pk_test_publishable0000000000000001", awsArgs("x")).err()).contains("publishable");
        assertThat(rotate("whsec_notAnApiKey0000000000000000001", awsArgs("x")).exit()).isEqualTo(2);
        // The file need not exist: the file backend refuses every write before looking at it.
        assertThat(rotate(GOOD, "--keybroker.environment=dev", "--keybroker.backend=file",
                "--keybroker.file.path=target/rotate-never-writes-this.yaml").err()).contains("append a version");
    }

    private static String[] concat(String[] a, String... b) {
        List<String> all = new ArrayList<>(List.of(a));
        all.addAll(List.of(b));
        return all.toArray(String[]::new);
    }
}
