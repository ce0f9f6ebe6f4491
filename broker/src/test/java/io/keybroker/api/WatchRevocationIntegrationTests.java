package io.keybroker.api;

import static org.assertj.core.api.Assertions.assertThat;

import io.keybroker.testsupport.BrokerFixture;
import io.keybroker.testsupport.RunningBroker;
import io.keybroker.testsupport.TestPki;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.stream.Collectors;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * Revocation reaches open watch streams, over real mTLS against a whole broker that reloads its policy and trust
 * bundle from files: a withdrawn grant, an expired certificate and a CA that left the bundle each end the stream
 * with a {@code revoked} event.
 */
class WatchRevocationIntegrationTests {

    private BrokerFixture fixture;
    private RunningBroker broker;

    @BeforeEach
    void start() {
        fixture = BrokerFixture.create();
        broker = RunningBroker.start(fixture.properties());
    }

    @AfterEach
    void stop() {
        if (broker != null) {
            broker.close();
        }
    }

    /** Opens a watch and returns its lines once the stream ends; the status must be 200 first. */
    private CompletableFuture<List<String>> watch(TestPki.Cert client, String name) throws Exception {
        HttpResponse<Stream<String>> response = TestPki.httpClient(fixture.ca(), client).send(
                HttpRequest.newBuilder(broker.uri("/v1/watch?name=" + name)).build(),
                HttpResponse.BodyHandlers.ofLines());
        assertThat(response.statusCode()).isEqualTo(200);
        return CompletableFuture.supplyAsync(() -> response.body().collect(Collectors.toList()));
    }

    private static void assertRevoked(CompletableFuture<List<String>> stream, String reason) throws Exception {
        // The stream ends by itself: get() returns only once the broker closed it.
        List<String> lines = stream.get(30, TimeUnit.SECONDS);
        assertThat(lines).contains("event:revoked");
        assertThat(String.join("\n", lines)).contains(reason);
    }

    @Test
    void shouldEndAWatchStreamWhenThePolicyWithdrawsTheGrant() throws Exception {
        CompletableFuture<List<String>> stream = watch(fixture.checkout(), "stripe/webhook-secret");
        Files.writeString(fixture.dir().resolve("policy/payments.yaml"),
                BrokerFixture.POLICY.replace("stripe/webhook-secret, ", ""), StandardCharsets.UTF_8);
        assertRevoked(stream, "no longer grants stripe/webhook-secret");
    }

    @Test
    void shouldEndAWatchStreamWhenTheCertificateExpires() throws Exception {
        TestPki.Cert shortLived = TestPki.issue(fixture.ca(), TestPki.leaf().uri(BrokerFixture.CHECKOUT)
                .validity(Instant.now().minus(Duration.ofMinutes(1)), Instant.now().plus(Duration.ofSeconds(6))));
        CompletableFuture<List<String>> stream = watch(shortLived, "stripe/secret-key");
        assertRevoked(stream, "no longer passes the trust check");
    }

    @Test
    void shouldEndAWatchStreamWhenItsCaLeavesTheTrustBundle() throws Exception {
        CompletableFuture<List<String>> stream = watch(fixture.checkout(), "stripe/secret-key");
        TestPki.ca("Another CA").writeCertificate(fixture.dir().resolve("ca.pem.new"));
        Files.move(fixture.dir().resolve("ca.pem.new"), fixture.dir().resolve("ca.pem"),
                java.nio.file.StandardCopyOption.ATOMIC_MOVE, java.nio.file.StandardCopyOption.REPLACE_EXISTING);
        assertRevoked(stream, "no longer passes the trust check");
    }
}
