package io.keybroker.backend.aws;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.keybroker.backend.BackendLocation;
import io.keybroker.backend.BackendSecret;
import io.keybroker.backend.BackendUnavailableException;
import io.keybroker.backend.SecretFormatException;
import io.keybroker.testsupport.PeerProcess;
import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import software.amazon.awssdk.core.SdkBytes;
import software.amazon.awssdk.services.secretsmanager.SecretsManagerAsyncClient;

/** The aws backend against real moto servers standing in for Secrets Manager regions. */
class AwsSecretBackendIntegrationTests {

    private static PeerProcess moto;

    @BeforeAll
    static void start() {
        moto = PeerProcess.moto();
        System.setProperty("aws.accessKeyId", "testing");
        System.setProperty("aws.secretAccessKey", "testing");
    }

    @AfterAll
    static void stop() {
        moto.close();
        System.clearProperty("aws.accessKeyId");
        System.clearProperty("aws.secretAccessKey");
    }

    static SecretsManagerAsyncClient admin(PeerProcess server, String region) {
        return server.secretsManager(region);
    }

    static AwsSecretBackend backend(Map<String, PeerProcess> regions) {
        String primary = regions.keySet().iterator().next();
        Map<String, java.net.URI> endpoints = new java.util.LinkedHashMap<>();
        regions.forEach((region, server) -> endpoints.put(region, server.uri()));
        AwsProperties properties = new AwsProperties(primary, null,
                List.copyOf(regions.keySet()).subList(1, regions.size()), endpoints);
        AwsClients shared = new AwsClients(properties);
        List<AwsSecretBackend.RegionClient> clients = new java.util.ArrayList<>();
        for (String region : regions.keySet()) {
            clients.add(new AwsSecretBackend.RegionClient(region, shared.forRegion(region)));
        }
        return new AwsSecretBackend(clients, shared);
    }

    private static String text(BackendSecret secret, boolean previous) {
        return new String((previous ? secret.previous() : secret.current()).value().bytes(), StandardCharsets.UTF_8);
    }

    @Test
    void shouldReadCurrentAndPreviousAndFollowARotation() {
        try (SecretsManagerAsyncClient admin = admin(moto, "us-east-1");
                AwsSecretBackend backend = backend(Map.of("us-east-1", moto))) {
            admin.createSecret(b -> b.name("prod/stripe/secret-key").secretString("sk_test_awsOne0001")).join();
            BackendLocation location = BackendLocation.of("aws", "prod/stripe/secret-key");
            BackendSecret first = backend.read(location).block();
            assertThat(text(first, false)).isEqualTo("sk_test_awsOne0001");
            assertThat(first.previous()).isNull();

            admin.putSecretValue(b -> b.secretId("prod/stripe/secret-key").secretString("sk_test_awsTwo0002")).join();
            assertThat(backend.marker(location).block()).isNotEqualTo(first.marker());
            BackendSecret second = backend.read(location).block();
            assertThat(text(second, false)).isEqualTo("sk_test_awsTwo0002");
            assertThat(text(second, true)).isEqualTo("sk_test_awsOne0001");
            assertThat(backend.marker(location).block()).isEqualTo(second.marker());

            // A rotation by moving the stage back.
            admin.updateSecretVersionStage(b -> b.secretId("prod/stripe/secret-key").versionStage("AWSCURRENT")
                    .moveToVersionId(first.current().version()).removeFromVersionId(second.current().version()))
                    .join();
            assertThat(backend.marker(location).block()).isNotEqualTo(second.marker());
            assertThat(text(backend.read(location).block(), false)).isEqualTo("sk_test_awsOne0001");
        }
    }

    @Test
    void shouldSelectAJsonFieldAndExplainAMissingOneWithoutTheValue() {
        try (SecretsManagerAsyncClient admin = admin(moto, "us-east-1");
                AwsSecretBackend backend = backend(Map.of("us-east-1", moto))) {
            admin.createSecret(b -> b.name("prod/stripe/json").secretString(
                    "{\"api_key\":\"sk_test_fromJson0001\",\"other\":\"x\"}")).join();
            BackendSecret secret = backend.read(new BackendLocation("aws", "prod/stripe/json", "api_key")).block();
            assertThat(text(secret, false)).isEqualTo("sk_test_fromJson0001");
            assertThatThrownBy(() -> backend.read(new BackendLocation("aws", "prod/stripe/json", "missing")).block())
                    .isInstanceOf(SecretFormatException.class).hasMessageContaining("missing")
                    .hasMessageNotContaining("sk_test_fromJson0001");
        }
    }

    @Test
    void shouldAnswerEmptyForAMissingSecretAndRefuseBinary() {
        try (SecretsManagerAsyncClient admin = admin(moto, "us-east-1");
                AwsSecretBackend backend = backend(Map.of("us-east-1", moto))) {
            assertThat(backend.read(BackendLocation.of("aws", "prod/none")).blockOptional()).isEmpty();
            assertThat(backend.marker(BackendLocation.of("aws", "prod/none")).blockOptional()).isEmpty();
            admin.createSecret(b -> b.name("prod/binary").secretBinary(SdkBytes.fromUtf8String("bin"))).join();
            assertThatThrownBy(() -> backend.read(BackendLocation.of("aws", "prod/binary")).block())
                    .isInstanceOf(SecretFormatException.class).hasMessageContaining("SecretBinary");
        }
    }

    @Test
    void shouldFallBackToTheReplicaRegionWhenThePrimaryIsGoneAndRecover() {
        PeerProcess primary = PeerProcess.moto();
        PeerProcess replica = PeerProcess.moto();
        int primaryPort = primary.port();
        try (SecretsManagerAsyncClient a = admin(primary, "eu-west-1");
                SecretsManagerAsyncClient b = admin(replica, "eu-central-1")) {
            a.createSecret(r -> r.name("prod/stripe/secret-key").secretString("sk_test_replicated0001")).join();
            b.createSecret(r -> r.name("prod/stripe/secret-key").secretString("sk_test_replicated0001")).join();
        }
        Map<String, PeerProcess> regions = new java.util.LinkedHashMap<>();
        regions.put("eu-west-1", primary);
        regions.put("eu-central-1", replica);
        BackendLocation location = BackendLocation.of("aws", "prod/stripe/secret-key");
        try (AwsSecretBackend backend = backend(regions)) {
            assertThat(text(backend.read(location).block(), false)).isEqualTo("sk_test_replicated0001");
            primary.close();
            assertThat(text(backend.read(location).block(), false)).isEqualTo("sk_test_replicated0001");
            replica.close();
            assertThatThrownBy(() -> backend.read(location).block()).isInstanceOf(BackendUnavailableException.class)
                    .hasMessageContaining("eu-west-1").hasMessageContaining("eu-central-1")
                    .hasMessageNotContaining("sk_test_replicated0001");
            // The primary comes back (empty, like a restarted moto) and is re-seeded: read again, no new backend.
            try (PeerProcess restarted = PeerProcess.moto(primaryPort);
                    SecretsManagerAsyncClient a = admin(restarted, "eu-west-1")) {
                a.createSecret(r -> r.name("prod/stripe/secret-key").secretString("sk_test_afterOutage0001")).join();
                assertThat(text(backend.read(location).block(), false)).isEqualTo("sk_test_afterOutage0001");
            }
        } finally {
            primary.close();
            replica.close();
        }
    }
}
