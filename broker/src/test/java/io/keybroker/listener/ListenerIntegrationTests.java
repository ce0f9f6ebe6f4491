package io.keybroker.listener;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.awaitility.Awaitility.await;

import io.keybroker.identity.WorkloadIdentities;
import io.keybroker.testsupport.BrokerFixture;
import io.keybroker.testsupport.RunningBroker;
import io.keybroker.testsupport.TestPki;
import java.io.IOException;
import java.io.OutputStream;
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
import javax.net.ssl.SSLContext;
import javax.net.ssl.SSLParameters;
import javax.net.ssl.SSLSocket;
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

    /**
     * A test-only endpoint that echoes the identity the broker extracted. Like every endpoint it passes the
     * access check first (the edge lets nothing else answer), so a connection without a trusted identity gets 403.
     */
    @TestConfiguration(proxyBeanMethods = false)
    static class EchoIdentity {
        @Bean
        RouterFunction<ServerResponse> echoIdentity(io.keybroker.api.AccessControl access) {
            return RouterFunctions.route().GET("/test/identity", request -> reactor.core.publisher.Mono.fromCallable(
                    () -> access.begin(request.exchange(), "test")).flatMap(attempt -> ServerResponse.ok().bodyValue(
                    WorkloadIdentities.from(request.exchange()).map(id -> id.source() + " " + id.id())
                            .orElse("none")))).build();
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

    @Test
    void shouldStopServingOpenAndResumedConnectionsOnceTheirCaLeavesTheTrustBundle() throws Exception {
        TestPki.Cert leaving = TestPki.ca("Leaving CA");
        String spiffeId = "spiffe://cluster.local/ns/payments/sa/leaving";
        TestPki.Cert client = TestPki.workload(leaving, spiffeId);
        Path bundle = fixture.dir().resolve("ca.pem");
        String before = Files.readString(bundle);
        replace(bundle, before + TestPki.pem(leaving.certificate()));
        try {
            // One SSL context: its session cache lets a new connection resume the session of the first.
            SSLContext resuming = TestPki.sslContext(fixture.ca(), client);
            HttpClient kept = keepAlive(resuming);
            await().atMost(Duration.ofSeconds(10)).ignoreExceptions().untilAsserted(() ->
                    assertThat(get(kept, "/test/identity").body()).isEqualTo("SPIFFE_URI " + spiffeId));
            assertThat(newConnectionGet(resuming, "/test/identity")).endsWith("SPIFFE_URI " + spiffeId);

            replace(bundle, before);
            await().atMost(Duration.ofSeconds(10)).untilAsserted(() -> assertRefusedAtHandshake(client));
            // The keep-alive connection made before the removal is open still, and now carries no identity.
            HttpResponse<String> open = get(kept, "/test/identity");
            assertThat(open.statusCode()).isEqualTo(403);
            assertThat(open.body()).contains("no longer trusted");
            // A secret read over it is refused, and the audit record says why.
            HttpResponse<String> read = get(kept, "/v1/secrets/stripe/secret-key");
            assertThat(read.statusCode()).isEqualTo(403);
            assertThat(read.body()).contains("no longer trusted");
            String requestId = read.headers().firstValue("X-Request-Id").orElseThrow();
            assertThat(Files.readAllLines(fixture.auditFile())).filteredOn(line -> line.contains(requestId))
                    .singleElement().asString().contains("\"rule\":\"untrusted-certificate\"")
                    .contains("its CA left the trust bundle");
            // A new connection resuming the old session is either refused at the handshake or carries no identity.
            String resumed;
            try {
                resumed = newConnectionGet(resuming, "/test/identity");
            } catch (IOException refusedAtHandshake) {
                resumed = "refused at handshake";
            }
            // (With the JDK provider it resumes: a full handshake is refused above, this one completes.)
            assertThat(resumed).satisfiesAnyOf(
                    outcome -> assertThat(outcome).isEqualTo("refused at handshake"),
                    outcome -> assertThat(outcome).startsWith("HTTP/1.1 403"));
        } finally {
            replace(bundle, before);
        }
    }

    @Test
    void shouldRefuseAnOpenConnectionOnceItsCertificateExpires() throws Exception {
        TestPki.Cert shortLived = TestPki.issue(fixture.ca(), TestPki.leaf().uri(
                "spiffe://cluster.local/ns/payments/sa/short-lived").validity(Instant.now().minusSeconds(60),
                Instant.now().plusSeconds(3)));
        HttpClient kept = keepAlive(TestPki.sslContext(fixture.ca(), shortLived));
        assertThat(get(kept, "/test/identity").body()).isEqualTo(
                "SPIFFE_URI spiffe://cluster.local/ns/payments/sa/short-lived");
        // Until notAfter passes the connection is served; after it, the same open connection is not.
        await().atMost(Duration.ofSeconds(15)).pollInterval(Duration.ofMillis(200)).until(() ->
                get(kept, "/test/identity").statusCode() == 403);
        assertThat(Instant.now()).isAfter(shortLived.certificate().getNotAfter().toInstant());
    }

    private static void replace(Path file, String content) throws IOException {
        Path next = file.resolveSibling(file.getFileName() + ".new");
        Files.writeString(next, content);
        Files.move(next, file, java.nio.file.StandardCopyOption.REPLACE_EXISTING);
    }

    private static HttpClient keepAlive(SSLContext context) {
        SSLParameters parameters = new SSLParameters();
        parameters.setProtocols(new String[] {"TLSv1.3"});
        return HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1).sslContext(context)
                .sslParameters(parameters).connectTimeout(Duration.ofSeconds(5)).build();
    }

    /** One request over a new TLS 1.3 connection of {@code context}; returns the whole HTTP answer. */
    private static String newConnectionGet(SSLContext context, String path) throws IOException {
        try (SSLSocket socket = (SSLSocket) context.getSocketFactory().createSocket("127.0.0.1", broker.port())) {
            socket.setSoTimeout(10_000);
            SSLParameters parameters = socket.getSSLParameters();
            parameters.setEndpointIdentificationAlgorithm("HTTPS");
            parameters.setProtocols(new String[] {"TLSv1.3"});
            socket.setSSLParameters(parameters);
            socket.startHandshake();
            OutputStream out = socket.getOutputStream();
            out.write(("GET " + path + " HTTP/1.1\r\nHost: 127.0.0.1:" + broker.port()
                    + "\r\nConnection: close\r\n\r\n").getBytes(StandardCharsets.US_ASCII));
            out.flush();
            String answer = new String(socket.getInputStream().readAllBytes(), StandardCharsets.US_ASCII);
            if (!answer.startsWith("HTTP/1.1 ")) {
                throw new IOException("no HTTP answer: the handshake was refused after it seemed to complete");
            }
            return answer;
        }
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
