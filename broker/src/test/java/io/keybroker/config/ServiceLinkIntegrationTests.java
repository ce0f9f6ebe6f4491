package io.keybroker.config;

import static org.assertj.core.api.Assertions.assertThat;

import io.keybroker.testsupport.BrokerFixture;
import io.keybroker.testsupport.BrokerProcess;
import io.keybroker.testsupport.TestPki;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.util.Map;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;

/**
 * The broker process in a pod whose namespace has Services named {@code server}, {@code management},
 * {@code keybroker} and {@code spring}: the kubelet injects their Docker-link variables, which relaxed binding
 * would read as {@code server.port}, {@code keybroker.port} and so on.
 */
@Tag("jar")
class ServiceLinkIntegrationTests {

    @Test
    void shouldStartAndServeWithServiceLinkVariablesInItsEnvironment() throws Exception {
        BrokerFixture fixture = BrokerFixture.create();
        Map<String, String> serviceLinks = Map.ofEntries(
                Map.entry("SERVER_PORT", "tcp://10.0.0.1:8080"),
                Map.entry("SERVER_PORT_8080_TCP", "tcp://10.0.0.1:8080"),
                Map.entry("SERVER_PORT_8080_TCP_ADDR", "10.0.0.1"),
                Map.entry("SERVER_PORT_8080_TCP_PORT", "8080"),
                Map.entry("SERVER_PORT_8080_TCP_PROTO", "tcp"),
                Map.entry("SERVER_SERVICE_HOST", "10.0.0.1"),
                Map.entry("SERVER_SERVICE_PORT", "8080"),
                Map.entry("MANAGEMENT_PORT", "tcp://10.0.0.2:9090"),
                Map.entry("MANAGEMENT_SERVICE_PORT", "9090"),
                Map.entry("KEYBROKER_PORT", "tcp://10.0.0.3:8443"),
                Map.entry("KEYBROKER_PORT_8443_TCP", "tcp://10.0.0.3:8443"),
                Map.entry("KEYBROKER_SERVICE_HOST", "10.0.0.3"),
                Map.entry("KEYBROKER_SERVICE_PORT_HTTPS", "8443"),
                Map.entry("SPRING_PORT", "udp://10.0.0.4:53"));
        try (BrokerProcess broker = BrokerProcess.start(fixture, Map.of(), serviceLinks)) {
            HttpClient checkout = TestPki.httpClient(fixture.ca(), fixture.checkout());
            HttpResponse<String> response = checkout.send(HttpRequest.newBuilder(
                    broker.uri("/v1/secrets/stripe/secret-key")).GET().build(), HttpResponse.BodyHandlers.ofString());

            assertThat(response.statusCode()).isEqualTo(200);
            assertThat(broker.log()).contains("Ignoring service-link environment variables")
                    .contains("SERVER_PORT").contains("KEYBROKER_PORT").doesNotContain("10.0.0.1");
        }
    }
}
