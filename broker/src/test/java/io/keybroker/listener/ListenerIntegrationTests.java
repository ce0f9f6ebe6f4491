package io.keybroker.listener;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.awaitility.Awaitility.await;

import io.keybroker.identity.WorkloadIdentities;
import io.keybroker.testsupport.BrokerFixture;
import io.keybroker.testsupport.RunningBroker;
import io.keybroker.testsupport.TestPki;
import java.io.IOException;
import java.math.BigInteger;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.cert.X509Certificate;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.springframework.boot.test.context.TestConfiguration;
import org.springframework.context.annotation.Bean;
import org.springframework.web.reactive.function.server.RouterFunction;
import org.springframework.web.reactive.function.server.RouterFunctions;
import org.springframework.web.reactive.function.server.ServerResponse;

/** Real TLS handshakes against the running broker, with certificates made for each case. */
class ListenerIntegrationTests {

    private static BrokerFixture fixture;
    private static RunningBroker broker;

    /** A test-only endpoint that echoes the identity the broker extracted. */
    @TestConfiguration(proxyBeanMethods = false)
    static class EchoIdentity {
        @Bean
        RouterFunction<ServerResponse> echoIdentity() {
            return RouterFunctions.route().GET("/test/identity", request -> ServerResponse.ok().bodyValue(
                    WorkloadIdentities.from(request.exchange()).map(id -> id.source() + " " + id.id())
                            .orElse("none"))).build();
        }
    }

    @BeforeAll
    static void start() {
        fixture = BrokerFixture.create();
        broker = RunningBroker.start(fixture.properties(), EchoIdentity.class);
    }

    @AfterAll
    static void stop() {
        if (broker != null) {
            broker.close();
        }
    }

    private static HttpResponse<String> get(HttpClient client, String path) throws IOException, InterruptedException {
        return client.send(HttpRequest.newBuilder(broker.uri(path)).timeout(Duration.ofSeconds(10)).build(),
                HttpResponse.BodyHandlers.ofString());
    }

    private static void assertRefusedAtHandshake(TestPki.Cert client) {
        HttpClient http = TestPki.httpClient(fixture.ca(), client);
        assertThatThrownBy(() -> get(http, "/test/identity")).isInstanceOf(IOException.class);
    }

    @Test
    void shouldAcceptAWorkloadCertificateAndExposeItsSpiffeId() throws Exception {
        HttpResponse<String> response = get(TestPki.httpClient(fixture.ca(), fixture.checkout()), "/test/identity");
        assertThat(response.statusCode()).isEqualTo(200);
        assertThat(response.body()).isEqualTo("SPIFFE_URI " + BrokerFixture.CHECKOUT);
        assertThat(response.sslSession()).hasValueSatisfying(session ->
                assertThat(session.getProtocol()).isIn("TLSv1.3", "TLSv1.2"));
    }

    @Test
    void shouldRefuseAConnectionWithoutClientCertificate() {
        assertRefusedAtHandshake(null);
    }

    @Test
    void shouldRefuseACertificateFromAnotherCa() {
        TestPki.Cert foreign = TestPki.ca("Foreign CA");
        assertRefusedAtHandshake(TestPki.workload(foreign, BrokerFixture.CHECKOUT));
    }

    @Test
    void shouldRefuseAnExpiredCertificate() {
        assertRefusedAtHandshake(TestPki.issue(fixture.ca(), TestPki.leaf().uri(BrokerFixture.CHECKOUT)
                .validity(Instant.now().minus(Duration.ofDays(3)), Instant.now().minus(Duration.ofDays(1)))));
    }

    @Test
    void shouldRefuseACertificateWithoutSpiffeId() {
        assertRefusedAtHandshake(TestPki.issue(fixture.ca(), TestPki.leaf().dns("checkout.payments")));
    }

    @Test
    void shouldRefuseACertificateWithTwoSpiffeIds() {
        assertRefusedAtHandshake(TestPki.issue(fixture.ca(), TestPki.leaf().uri(BrokerFixture.CHECKOUT)
                .uri("spiffe://cluster.local/ns/payments/sa/admin")));
    }

    @Test
    void shouldRefuseACaFlaggedLeaf() {
        assertRefusedAtHandshake(TestPki.issue(fixture.ca(), TestPki.leaf().uri(BrokerFixture.CHECKOUT).ca()));
    }

    @Test
    void shouldRefuseAnInvalidSpiffeId() {
        assertRefusedAtHandshake(TestPki.issue(fixture.ca(), TestPki.leaf().uri("spiffe://Cluster.Local/ns/../sa")));
    }

    @Test
    void shouldRefuseTls11AndCbcCiphersOnTheServerSide() throws Exception {
        // openssl at security level 0 is willing to speak TLS 1.1 and CBC; only the server can refuse.
        String endpoint = "127.0.0.1:" + broker.port();
        Path cert = fixture.dir().resolve("checkout.pem");
        Path key = fixture.dir().resolve("checkout-key.pem");
        fixture.checkout().writeCertificate(cert);
        fixture.checkout().writeKey(key);
        List<String> base = List.of("openssl", "s_client", "-connect", endpoint, "-cert", cert.toString(), "-key",
                key.toString(), "-CAfile", fixture.dir().resolve("ca.pem").toString());
        String ok = openssl(base, "-tls1_2", "-cipher", "ECDHE-ECDSA-AES128-GCM-SHA256");
        assertThat(ok).contains("Cipher is ECDHE-ECDSA-AES128-GCM-SHA256");
        String tls11 = openssl(base, "-tls1_1", "-cipher", "DEFAULT:@SECLEVEL=0");
        assertThat(tls11).doesNotContain("Cipher is ECDHE").containsAnyOf("alert protocol version",
                "unsupported protocol", "wrong version number", "alert handshake failure");
        String cbc = openssl(base, "-tls1_2", "-cipher", "ECDHE-ECDSA-AES128-SHA256:ECDHE-ECDSA-AES128-SHA");
        assertThat(cbc).doesNotContain("Cipher is ECDHE").contains("alert handshake failure");
    }

    private static String openssl(List<String> base, String... more) throws Exception {
        List<String> command = new ArrayList<>(base);
        command.addAll(List.of(more));
        Process process = new ProcessBuilder(command).redirectErrorStream(true).start();
        process.getOutputStream().close();
        assertThat(process.waitFor(20, TimeUnit.SECONDS)).isTrue();
        return new String(process.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
    }

    @Test
    void shouldKeepTheManagementPortPlainHttpWithoutClientCertificates() throws Exception {
        HttpResponse<String> health = HttpClient.newHttpClient().send(
                HttpRequest.newBuilder(broker.management("/actuator/health/liveness")).build(),
                HttpResponse.BodyHandlers.ofString());
        assertThat(health.statusCode()).isEqualTo(200);
        assertThat(health.body()).contains("UP");
    }

    @Test
    void shouldServeANewServerCertificateToNewHandshakesAndKeepOpenConnections() throws Exception {
        HttpClient kept = TestPki.httpClient(fixture.ca(), fixture.checkout());
        HttpResponse<String> before = get(kept, "/test/identity");
        BigInteger oldSerial = serial(before);
        assertThat(oldSerial).isEqualTo(fixture.server().certificate().getSerialNumber());

        TestPki.Cert renewed = TestPki.server(fixture.ca());
        Path dir = fixture.dir();
        renewed.writeKey(dir.resolve("server-key.pem.new"));
        renewed.writeCertificate(dir.resolve("server.pem.new"));
        Files.move(dir.resolve("server-key.pem.new"), dir.resolve("server-key.pem"),
                java.nio.file.StandardCopyOption.REPLACE_EXISTING);
        Files.move(dir.resolve("server.pem.new"), dir.resolve("server.pem"),
                java.nio.file.StandardCopyOption.REPLACE_EXISTING);

        await().atMost(Duration.ofSeconds(10)).ignoreExceptions().untilAsserted(() -> assertThat(serial(
                get(TestPki.httpClient(fixture.ca(), fixture.checkout()), "/test/identity")))
                .isEqualTo(renewed.certificate().getSerialNumber()));
        // The keep-alive connection made before the swap still answers, on its old session.
        HttpResponse<String> after = get(kept, "/test/identity");
        assertThat(after.statusCode()).isEqualTo(200);
        assertThat(serial(after)).isEqualTo(oldSerial);
    }

    @Test
    void shouldTrustANewCaOnceTheTrustBundleChanges() throws Exception {
        TestPki.Cert second = TestPki.ca("Second CA");
        TestPki.Cert client = TestPki.workload(second, "spiffe://cluster.local/ns/payments/sa/newcomer");
        assertRefusedAtHandshake(client);
        Path bundle = fixture.dir().resolve("ca.pem");
        String both = Files.readString(bundle) + TestPki.pem(second.certificate());
        Files.writeString(fixture.dir().resolve("ca.pem.new"), both);
        Files.move(fixture.dir().resolve("ca.pem.new"), bundle, java.nio.file.StandardCopyOption.REPLACE_EXISTING);
        await().atMost(Duration.ofSeconds(10)).ignoreExceptions().untilAsserted(() -> assertThat(
                get(TestPki.httpClient(fixture.ca(), client), "/test/identity").body())
                .isEqualTo("SPIFFE_URI spiffe://cluster.local/ns/payments/sa/newcomer"));
    }

    private static BigInteger serial(HttpResponse<?> response) throws Exception {
        return ((X509Certificate) response.sslSession().orElseThrow().getPeerCertificates()[0]).getSerialNumber();
    }

    @Test
    void shouldKeepTheOldMaterialWhenTheNewKeyDoesNotMatch() throws Exception {
        ReloadingTlsMaterial material = broker.bean(ReloadingTlsMaterial.class);
        BigInteger inForce = material.serverChain()[0].getSerialNumber();
        Path mismatched = Files.createTempDirectory("mismatch");
        TestPki.Cert a = TestPki.server(fixture.ca());
        TestPki.Cert b = TestPki.server(fixture.ca());
        a.writeCertificate(mismatched.resolve("cert.pem"));
        b.writeKey(mismatched.resolve("key.pem"));
        fixture.ca().writeCertificate(mismatched.resolve("ca.pem"));
        assertThatThrownBy(() -> new ReloadingTlsMaterial(mismatched.resolve("cert.pem"),
                mismatched.resolve("key.pem"), mismatched.resolve("ca.pem"), false))
                .hasMessageContaining("does not belong to the certificate");
        assertThat(material.serverChain()[0].getSerialNumber()).isEqualTo(inForce);
    }
}
