package io.keybroker.api;

import static org.assertj.core.api.Assertions.assertThat;

import io.keybroker.testsupport.BrokerFixture;
import io.keybroker.testsupport.DefaultBroker;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;
import tools.jackson.databind.JsonNode;
import tools.jackson.databind.json.JsonMapper;

/**
 * The AWS Secrets Manager Agent's request shapes (GET /secretsmanager/get?secretId=...&versionStage=...|versionId=...,
 * with its token header) against Keybroker, under the same policy as /v1.
 */
class AgentProtocolIntegrationTests {

    private static final JsonMapper JSON = JsonMapper.builder().build();
    @RegisterExtension
    static final DefaultBroker BROKER = new DefaultBroker();

    private static HttpResponse<String> agent(String query) throws Exception {
        // Code written for the agent sends its SSRF token header; Keybroker accepts and ignores it.
        return BROKER.checkout().send(HttpRequest.newBuilder(BROKER.uri("/secretsmanager/get?" + query))
                .header("X-Aws-Parameters-Secrets-Token", "agent-token").build(), HttpResponse.BodyHandlers.ofString());
    }

    @Test
    void shouldAnswerGetSecretValueShapeForTheCurrentVersion() throws Exception {
        HttpResponse<String> response = agent("secretId=stripe/secret-key");
        assertThat(response.statusCode()).isEqualTo(200);
        JsonNode body = JSON.readTree(response.body());
        assertThat(body.path("Name").asString()).isEqualTo("stripe/secret-key");
        assertThat(body.path("SecretString").asString()).isEqualTo(BrokerFixture.CURRENT_VALUE);
        assertThat(body.path("VersionId").asString()).isEqualTo("7");
        assertThat(body.path("VersionStages").get(0).asString()).isEqualTo("AWSCURRENT");
        assertThat(body.path("ARN").asString()).startsWith("arn:");
        assertThat(body.path("CreatedDate").isNumber()).isTrue();
        assertThat(response.headers().firstValue("Cache-Control")).hasValue("no-store");
    }

    @Test
    void shouldServeAwsPreviousAndAVersionIdUnderThePolicy() throws Exception {
        JsonNode previous = JSON.readTree(agent("secretId=stripe/secret-key&versionStage=AWSPREVIOUS").body());
        assertThat(previous.path("SecretString").asString()).isEqualTo(BrokerFixture.PREVIOUS_VALUE);
        assertThat(previous.path("VersionStages").get(0).asString()).isEqualTo("AWSPREVIOUS");
        JsonNode byId = JSON.readTree(agent("secretId=stripe/secret-key&versionId=6").body());
        assertThat(byId.path("SecretString").asString()).isEqualTo(BrokerFixture.PREVIOUS_VALUE);
        // The webhook secret is granted for the current stage only.
        assertThat(agent("secretId=stripe/webhook-secret&versionStage=AWSPREVIOUS").statusCode()).isEqualTo(403);
        assertThat(agent("secretId=stripe/secret-key&versionId=99").statusCode()).isEqualTo(404);
    }

    @Test
    void shouldRefuseUnknownParametersBadStagesAndUngrantedNames() throws Exception {
        assertThat(agent("secretId=stripe/secret-key&refreshNow=yes").statusCode()).isEqualTo(400);
        assertThat(agent("secretId=stripe/secret-key&refreshNow=true&refreshNow=false").statusCode()).isEqualTo(400);
        assertThat(agent("secretId=stripe/secret-key&versionStage=AWSPENDING").statusCode()).isEqualTo(400);
        assertThat(agent("versionStage=AWSCURRENT").statusCode()).isEqualTo(400);
        assertThat(agent("secretId=Stripe/Secret").statusCode()).isEqualTo(400);
        HttpResponse<String> denied = agent("secretId=stripe/other");
        assertThat(denied.statusCode()).isEqualTo(403);
        assertThat(denied.body()).doesNotContain(BrokerFixture.CURRENT_VALUE);
    }
}
