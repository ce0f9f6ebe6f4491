package io.keybroker.client;

import static org.assertj.core.api.Assertions.assertThat;

import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The fallback against real peers: the broker serves a current key that stripe-mock refuses (it accepts only
 * test-mode secret keys, so an sk_live_ key gets 401) and a previous sk_test_ key it accepts.
 */
class StripeFallbackIntegrationTests {

    private static final String REFUSED = "sk_live_currentKeyStripeMockRefuses0001";
    private static final String ACCEPTED = "sk_test_previousKeyStripeMockAccepts01";

    @TempDir
    Path dir;

    @Test
    void shouldSucceedThroughThePreviousKeyExactlyOnceAndAskForARefresh() throws Exception {
        Peers.pki(dir);
        try (Peers.Broker broker = new Peers.Broker(dir, Peers.POLICY, Peers.secrets(REFUSED, ACCEPTED));
                Peers.StripeMock stripe = new Peers.StripeMock(dir);
                KeybrokerClient client = KeybrokerClient.builder().baseUri(broker.uri())
                        .tls(dir.resolve("client.pem"), dir.resolve("client-key.pem"), dir.resolve("ca.pem"))
                        .build()) {
            HttpClient http = HttpClient.newHttpClient();
            List<Integer> statuses = new ArrayList<>();
            StripeFallback fallback = new StripeFallback(client, "stripe/secret-key");
            StripeFallback.Result<String> result = fallback.call(key -> {
                HttpResponse<String> response = http.send(HttpRequest.newBuilder(stripe.balance())
                        .header("Authorization", "Bearer " + new String(key, StandardCharsets.UTF_8)).build(),
                        HttpResponse.BodyHandlers.ofString());
                statuses.add(response.statusCode());
                return new StripeFallback.Response<>(response.statusCode(), response.body());
            });
            assertThat(statuses).containsExactly(401, 200);
            assertThat(result.attempts()).isEqualTo(2);
            assertThat(result.keyVersion()).isEqualTo("1");
            assertThat(result.response().body()).contains("\"object\"");
            assertThat(broker.audit()).contains("\"endpoint\":\"refresh\"");
            assertThat(result.toString()).doesNotContain(REFUSED, ACCEPTED);
        }
    }

    @Test
    void shouldMakeOneCallWhenTheCurrentKeyWorks() throws Exception {
        Peers.pki(dir);
        try (Peers.Broker broker = new Peers.Broker(dir, Peers.POLICY, Peers.secrets(ACCEPTED, REFUSED));
                Peers.StripeMock stripe = new Peers.StripeMock(dir);
                KeybrokerClient client = KeybrokerClient.builder().baseUri(broker.uri())
                        .tls(dir.resolve("client.pem"), dir.resolve("client-key.pem"), dir.resolve("ca.pem"))
                        .build()) {
            HttpClient http = HttpClient.newHttpClient();
            StripeFallback.Result<String> result = new StripeFallback(client, "stripe/secret-key").call(key -> {
                HttpResponse<String> response = http.send(HttpRequest.newBuilder(stripe.balance())
                        .header("Authorization", "Bearer " + new String(key, StandardCharsets.UTF_8)).build(),
                        HttpResponse.BodyHandlers.ofString());
                return new StripeFallback.Response<>(response.statusCode(), response.body());
            });
            assertThat(result.attempts()).isEqualTo(1);
            assertThat(result.response().status()).isEqualTo(200);
            assertThat(broker.audit()).doesNotContain("\"endpoint\":\"refresh\"");
            assertThat(client.get("stripe/secret-key").toString()).doesNotContain(ACCEPTED, REFUSED);
        }
    }
}
