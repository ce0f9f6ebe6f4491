package io.keybroker.backend.aws;

import static org.assertj.core.api.Assertions.assertThat;

import io.keybroker.testsupport.BrokerFixture;
import io.keybroker.testsupport.PeerProcess;
import io.keybroker.testsupport.RunningBroker;
import io.keybroker.testsupport.TestPki;
import java.net.URLEncoder;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import software.amazon.awssdk.services.secretsmanager.SecretsManagerAsyncClient;
import tools.jackson.databind.JsonNode;
import tools.jackson.databind.json.JsonMapper;

/**
 * The AWS Secrets Manager Agent's documented request forms against a whole broker on Secrets Manager (moto):
 * {@code GET /secretsmanager/get?secretId=...} with the agent's token header, where {@code secretId} is the name
 * Secrets Manager knows, its full or partial ARN, or the Keybroker name, and {@code refreshNow=true}. Each form
 * reaches the same logical secret under the same policy, and the audit names that logical secret.
 */
class AgentOnAwsIntegrationTests {

    private static final JsonMapper JSON = JsonMapper.builder().build();
    private static final String KEY_ONE = "sk_test_agentAwsOne0001";
    private static final String KEY_TWO = "sk_test_agentAwsTwo0002";
    private static final String LIVE = "sk_test_agentAwsLive0003";
    /** A Secrets Manager name with characters a Keybroker name cannot have, mapped explicitly. */
    private static final String ODD_NAME = "prod/Stripe+Live@key=1";

    private static PeerProcess moto;
    private static SecretsManagerAsyncClient admin;
    private static BrokerFixture fixture;
    private static RunningBroker broker;
    private static HttpClient checkout;
    private static String keyArn;
    private static String oddArn;

    @BeforeAll
    static void start() {
        System.setProperty("aws.accessKeyId", "testing");
        System.setProperty("aws.secretAccessKey", "testing");
        moto = PeerProcess.moto();
        admin = AwsSecretBackendIntegrationTests.admin(moto, "us-east-1");
        keyArn = admin.createSecret(b -> b.name("prod/stripe/secret-key").secretString(KEY_ONE)).join().arn();
        oddArn = admin.createSecret(b -> b.name(ODD_NAME).secretString(LIVE)).join().arn();
        fixture = BrokerFixture.create();
        Map<String, String> properties = new LinkedHashMap<>(fixture.properties());
        properties.put("keybroker.environment", "prod");
        properties.put("keybroker.backend", "aws");
        properties.put("keybroker.aws.region", "us-east-1");
        properties.put("keybroker.aws.endpoint", moto.uri().toString());
        // No background change detection during the test: only refreshNow brings a new value in.
        properties.put("keybroker.rotation.poll-interval", "1h");
        properties.put("keybroker.rotation.refresh-min-interval", "1h");
        properties.put("keybroker.mappings[0].name", "stripe/restricted/live");
        properties.put("keybroker.mappings[0].path", "{environment}/Stripe+Live@key=1");
        broker = RunningBroker.start(properties);
        checkout = TestPki.httpClient(fixture.ca(), fixture.checkout());
    }

    @AfterAll
    static void stop() {
        if (broker != null) {
            broker.close();
        }
        if (admin != null) {
            admin.close();
        }
        if (moto != null) {
            moto.close();
        }
        System.clearProperty("aws.accessKeyId");
        System.clearProperty("aws.secretAccessKey");
    }

    /** The agent's documented request: its URL, its query, its SSRF token header. */
    private static HttpResponse<String> agent(HttpClient client, String query, String requestId) throws Exception {
        return client.send(HttpRequest.newBuilder(broker.uri("/secretsmanager/get?" + query))
                .header("X-Aws-Parameters-Secrets-Token", "agent-token").header("X-Request-Id", requestId).build(),
                HttpResponse.BodyHandlers.ofString());
    }

    private static JsonNode ok(String query) throws Exception {
        HttpResponse<String> response = agent(checkout, query, id());
        assertThat(response.statusCode()).as(response.body()).isEqualTo(200);
        return JSON.readTree(response.body());
    }

    private static String encoded(String secretId) {
        return "secretId=" + URLEncoder.encode(secretId, StandardCharsets.UTF_8);
    }

    private static String id() {
        return "agent-" + UUID.randomUUID();
    }

    private static List<JsonNode> records(String requestId) throws Exception {
        List<JsonNode> found = new ArrayList<>();
        for (String line : Files.readAllLines(fixture.auditFile())) {
            JsonNode node = JSON.readTree(line);
            if ("access".equals(node.path("type").asString()) && requestId.equals(node.path("requestId").asString())) {
                found.add(node);
            }
        }
        return found;
    }

    @Test
    void shouldResolveTheSecretsManagerNameAndArnsToTheOneLogicalSecret() throws Exception {
        assertThat(keyArn).matches("arn:aws:secretsmanager:us-east-1:[0-9]{12}:secret:prod/stripe/secret-key-.{6}");
        String partialArn = keyArn.substring(0, keyArn.length() - 7);
        for (String query : List.of("secretId=stripe/secret-key", "secretId=prod/stripe/secret-key",
                encoded("prod/stripe/secret-key"), encoded(keyArn), encoded(partialArn),
                encoded("arn:keybroker:secretsmanager:prod:keybroker:secret:stripe/secret-key"))) {
            JsonNode body = ok(query);
            assertThat(body.path("Name").asString()).as(query).isEqualTo("stripe/secret-key");
            assertThat(body.path("SecretString").asString()).as(query).isEqualTo(KEY_ONE);
            assertThat(body.path("VersionStages").get(0).asString()).isEqualTo("AWSCURRENT");
        }
        String requestId = id();
        assertThat(agent(checkout, encoded(keyArn), requestId).statusCode()).isEqualTo(200);
        assertThat(records(requestId)).singleElement()
                .satisfies(record -> assertThat(record.path("secret").asString()).isEqualTo("stripe/secret-key"));
    }

    @Test
    void shouldResolveANameWithTheAgentsOtherCharactersThroughItsMapping() throws Exception {
        for (String query : List.of(encoded(ODD_NAME), encoded(oddArn), "secretId=stripe/restricted/live")) {
            JsonNode body = ok(query);
            assertThat(body.path("Name").asString()).as(query).isEqualTo("stripe/restricted/live");
            assertThat(body.path("SecretString").asString()).as(query).isEqualTo(LIVE);
        }
    }

    @Test
    void shouldDecideOnTheLogicalNameWhicheverFormTheCallerUsed() throws Exception {
        // Reporting is granted only stripe/restricted/* (previous): the AWS forms of stripe/secret-key are denied
        // as the logical name is, and the denial names the logical secret.
        HttpClient reporting = TestPki.httpClient(fixture.ca(), TestPki.workload(fixture.ca(),
                BrokerFixture.REPORTING));
        String requestId = id();
        HttpResponse<String> denied = agent(reporting, encoded(keyArn), requestId);
        assertThat(denied.statusCode()).isEqualTo(403);
        assertThat(denied.body()).doesNotContain(KEY_ONE).doesNotContain("prod/stripe");
        assertThat(records(requestId)).singleElement().satisfies(record -> {
            assertThat(record.path("decision").asString()).isEqualTo("deny");
            assertThat(record.path("secret").asString()).isEqualTo("stripe/secret-key");
        });
    }

    @Test
    void shouldRefuseArnsOfOtherRegionsAndSecretsNoNameReaches() throws Exception {
        assertThat(agent(checkout, encoded(keyArn.replace("us-east-1", "eu-west-1")), id()).statusCode())
                .isEqualTo(400);
        HttpResponse<String> unmapped = agent(checkout,
                encoded("arn:aws:secretsmanager:us-east-1:123456789012:secret:other/Thing-AbCdEf"), id());
        assertThat(unmapped.statusCode()).isEqualTo(400);
        assertThat(unmapped.body()).contains("keybroker.mappings").doesNotContain("other/Thing");
        assertThat(agent(checkout, "secretId=stripe/secret-key&refreshNow=maybe", id()).statusCode())
                .isEqualTo(400);
    }

    @Test
    void shouldReadTheBackendNowForRefreshNowOncePerRefreshInterval() throws Exception {
        // Not granted by exact name, so not warmed at start (a warmed absent name would be remembered as absent).
        String stripeName = "stripe/restricted/rotating";
        admin.createSecret(b -> b.name("prod/" + stripeName).secretString(KEY_ONE)).join();
        assertThat(ok("secretId=" + stripeName).path("SecretString").asString()).isEqualTo(KEY_ONE);
        admin.putSecretValue(b -> b.secretId("prod/" + stripeName).secretString(KEY_TWO)).join();
        // Cached until its ttl, as with the agent.
        assertThat(ok("secretId=prod/" + stripeName).path("SecretString").asString()).isEqualTo(KEY_ONE);

        String requestId = id();
        HttpResponse<String> refreshed = agent(checkout, "secretId=prod/" + stripeName + "&refreshNow=true",
                requestId);
        assertThat(refreshed.statusCode()).as(refreshed.body()).isEqualTo(200);
        assertThat(JSON.readTree(refreshed.body()).path("SecretString").asString()).isEqualTo(KEY_TWO);
        assertThat(records(requestId)).singleElement()
                .satisfies(record -> assertThat(record.path("source").asString()).isEqualTo("backend"));
        // The refresh put the new value in the cache for every form and caller.
        assertThat(ok("secretId=" + stripeName + "&refreshNow=0").path("SecretString").asString())
                .isEqualTo(KEY_TWO);

        HttpResponse<String> again = agent(checkout, "secretId=" + stripeName + "&refreshNow=TRUE", id());
        assertThat(again.statusCode()).isEqualTo(429);
        assertThat(again.headers().firstValue("Retry-After")).isPresent();
        assertThat(again.body()).contains("refresh-min-interval").doesNotContain(KEY_TWO);
    }
}
