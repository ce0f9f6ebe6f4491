package io.keybroker.listener;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.keybroker.testsupport.DefaultBroker;
import io.keybroker.testsupport.TestPki;
import io.micrometer.core.instrument.MeterRegistry;
import java.io.IOException;
import java.net.Socket;
import java.security.KeyStore;
import java.security.Principal;
import java.security.PrivateKey;
import java.security.cert.X509Certificate;
import javax.net.ssl.KeyManager;
import javax.net.ssl.SSLContext;
import javax.net.ssl.SSLEngine;
import javax.net.ssl.SSLException;
import javax.net.ssl.SSLSocket;
import javax.net.ssl.TrustManager;
import javax.net.ssl.TrustManagerFactory;
import javax.net.ssl.X509ExtendedKeyManager;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;
import tools.jackson.databind.JsonNode;
import tools.jackson.databind.json.JsonMapper;

/**
 * Refused TLS handshakes and untrusted-certificate denials leave a record under the identity the certificate
 * claims, a metric, and reach the denial-burst alert, over real handshakes against a whole broker.
 */
class HandshakeRefusalIntegrationTests {

    private static final JsonMapper JSON = JsonMapper.builder().build();
    private static final String INTRUDER = "spiffe://cluster.local/ns/payments/sa/intruder";
    private static final String EXPIRED = "spiffe://cluster.local/ns/payments/sa/expired";

    @RegisterExtension
    static final DefaultBroker BROKER = new DefaultBroker((fixture, properties) -> {
            properties.put("keybroker.alerts.denial-burst", "3");
    });

    private static List<JsonNode> audit(String type, String identity) throws IOException {
        List<JsonNode> found = new ArrayList<>();
        for (String line : Files.readAllLines(BROKER.fixture().auditFile())) {
            JsonNode node = JSON.readTree(line);
            if (type.equals(node.path("type").asString()) && identity.equals(node.path("identity").asString())) {
                found.add(node);
            }
        }
        return found;
    }

    private static double handshakeDenials() {
        var counter = BROKER.running().bean(MeterRegistry.class).find("keybroker.requests").tag("endpoint", "handshake")
                .tag("decision", "deny").counter();
        return counter == null ? 0 : counter.count();
    }

    private static void handshake(TestPki.Cert client) {
        assertThatThrownBy(() -> TestPki.httpClient(BROKER.fixture().ca(), client).send(
                HttpRequest.newBuilder(BROKER.uri("/v1/secrets/stripe/secret-key")).timeout(Duration.ofSeconds(10))
                        .build(), HttpResponse.BodyHandlers.ofString())).isInstanceOf(IOException.class);
    }

    /**
     * A handshake that presents {@code client} whatever CAs the server names, as openssl or curl would: a JDK
     * client holds back a certificate whose issuer the server does not list.
     */
    private static void handshakePresentingAnyway(TestPki.Cert client) throws Exception {
        X509Certificate[] chain = {client.certificate(), client.issuer()};
        X509ExtendedKeyManager always = new X509ExtendedKeyManager() {
            @Override
            public String[] getClientAliases(String keyType, Principal[] issuers) {
                return new String[] {"c"};
            }

            @Override
            public String chooseClientAlias(String[] keyType, Principal[] issuers, Socket socket) {
                return "c";
            }

            @Override
            public String chooseEngineClientAlias(String[] keyType, Principal[] issuers, SSLEngine engine) {
                return "c";
            }

            @Override
            public String[] getServerAliases(String keyType, Principal[] issuers) {
                return null;
            }

            @Override
            public String chooseServerAlias(String keyType, Principal[] issuers, Socket socket) {
                return null;
            }

            @Override
            public X509Certificate[] getCertificateChain(String alias) {
                return chain;
            }

            @Override
            public PrivateKey getPrivateKey(String alias) {
                return client.key();
            }
        };
        SSLContext context = SSLContext.getInstance("TLS");
        context.init(new KeyManager[] {always}, trustingServer(), null);
        int port = BROKER.running().port();
        try (SSLSocket socket = (SSLSocket) context.getSocketFactory().createSocket("127.0.0.1", port)) {
            socket.setSoTimeout(10_000);
            socket.startHandshake();
            // TLS 1.3: the server judges the client certificate after the client's Finished; a read sees it.
            assertThatThrownBy(() -> socket.getInputStream().read()).isInstanceOf(IOException.class);
        } catch (IOException refused) {
            // refused during the handshake itself: what this test wants
        }
    }

    private static TrustManager[] trustingServer() throws Exception {
        KeyStore trust = KeyStore.getInstance("PKCS12");
        trust.load(null, null);
        trust.setCertificateEntry("ca", BROKER.fixture().ca().certificate());
        TrustManagerFactory tmf = TrustManagerFactory.getInstance("PKIX");
        tmf.init(trust);
        return tmf.getTrustManagers();
    }

    @Test
    void shouldRecordCountAndAlertOnHandshakesRefusedForAnUntrustedCa() throws Exception {
        TestPki.Cert intruder = TestPki.workload(TestPki.ca("Intruder CA"), INTRUDER);
        double before = handshakeDenials();
        for (int i = 0; i < 3; i++) {
            handshakePresentingAnyway(intruder);
        }
        assertThat(audit("access", INTRUDER)).hasSizeGreaterThanOrEqualTo(3).allSatisfy(record -> {
            assertThat(record.path("endpoint").asString()).isEqualTo("handshake");
            assertThat(record.path("decision").asString()).isEqualTo("deny");
            assertThat(record.path("rule").asString()).isEqualTo("handshake-refused");
        });
        assertThat(handshakeDenials()).isGreaterThanOrEqualTo(before + 3);
        assertThat(audit("alert", INTRUDER)).anySatisfy(alert ->
                assertThat(alert.path("kind").asString()).isEqualTo("denial-burst"));
    }

    @Test
    void shouldRecordARefusedExpiredCertificateUnderTheIdentityItClaims() throws Exception {
        TestPki.Cert expired = TestPki.issue(BROKER.fixture().ca(), TestPki.leaf().uri(EXPIRED)
                .validity(Instant.now().minus(Duration.ofDays(2)), Instant.now().minus(Duration.ofDays(1))));
        handshake(expired);
        assertThat(audit("access", EXPIRED)).isNotEmpty().allSatisfy(record ->
                assertThat(record.path("reason").asString()).contains("TLS handshake refused"));
    }
}
