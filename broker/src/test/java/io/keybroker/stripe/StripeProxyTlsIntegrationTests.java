package io.keybroker.stripe;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.stripe.StripeClient;
import com.stripe.exception.PermissionException;
import com.stripe.model.PaymentIntent;
import com.stripe.param.PaymentIntentCreateParams;
import com.stripe.param.RefundCreateParams;
import io.keybroker.testsupport.BrokerFixture;
import io.keybroker.testsupport.PeerProcess;
import io.keybroker.testsupport.RunningBroker;
import io.keybroker.testsupport.TestPki;
import io.keybroker.testsupport.ToxiproxyServer;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.cert.X509Certificate;
import java.time.Duration;
import java.util.Map;
import java.util.concurrent.atomic.AtomicReference;
import javax.net.ssl.HttpsURLConnection;
import javax.net.ssl.SSLContext;
import javax.net.ssl.SSLSocket;
import javax.net.ssl.SSLSocketFactory;
import javax.net.ssl.TrustManager;
import javax.net.ssl.X509TrustManager;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * The Stripe proxy over HTTPS to stripe-mock's own TLS listener, trusted through
 * {@code keybroker.stripe.trust-bundle} only; the official stripe-java SDK as the workload; timeouts through a
 * toxiproxy between the broker and stripe-mock.
 */
class StripeProxyTlsIntegrationTests {

    private static PeerProcess stripeMock;
    private static ToxiproxyServer toxiproxy;
    private static BrokerFixture fixture;
    private static RunningBroker broker;
    private static Path stripeMockCertificate;

    @BeforeAll
    static void start() throws Exception {
        stripeMock = PeerProcess.stripeMockWithHttps();
        toxiproxy = ToxiproxyServer.start();
        // TLS passes through toxiproxy untouched: the broker still sees stripe-mock's certificate for localhost.
        int port = toxiproxy.proxy("stripe", "127.0.0.1:" + stripeMock.httpsPort());
        fixture = BrokerFixture.create().withStripe();
        stripeMockCertificate = fixture.dir().resolve("stripe-mock.pem");
        Files.writeString(stripeMockCertificate, TestPki.pem(presentedCertificate(stripeMock.httpsPort())));
        Map<String, String> properties = fixture.properties();
        properties.put("keybroker.stripe.api-base", "https://localhost:" + port);
        properties.put("keybroker.stripe.trust-bundle", stripeMockCertificate.toString());
        properties.put("keybroker.stripe.connect-timeout", "3s");
        properties.put("keybroker.stripe.response-timeout", "3s");
        broker = RunningBroker.start(properties);
    }

    @AfterAll
    static void stop() {
        if (broker != null) {
            broker.close();
        }
        if (toxiproxy != null) {
            toxiproxy.close();
        }
        if (stripeMock != null) {
            stripeMock.close();
        }
    }

    /**
     * The self-signed certificate stripe-mock makes at start, read off its listener so that the broker can be
     * told to trust exactly that. The recording trust manager is test code that only captures; the broker has no
     * such thing.
     */
    private static X509Certificate presentedCertificate(int port) throws Exception {
        AtomicReference<X509Certificate> seen = new AtomicReference<>();
        TrustManager capture = new X509TrustManager() {
            @Override
            public void checkClientTrusted(X509Certificate[] chain, String authType) {
                throw new UnsupportedOperationException();
            }

            @Override
            public void checkServerTrusted(X509Certificate[] chain, String authType) {
                seen.set(chain[0]);
            }

            @Override
            public X509Certificate[] getAcceptedIssuers() {
                return new X509Certificate[0];
            }
        };
        SSLContext context = SSLContext.getInstance("TLS");
        context.init(null, new TrustManager[] {capture}, null);
        try (SSLSocket socket = (SSLSocket) context.getSocketFactory().createSocket("127.0.0.1", port)) {
            socket.startHandshake();
        }
        return seen.get();
    }

    @Test
    void shouldCreateAndReadBackAPaymentIntentWithTheStockStripeSdk() throws Exception {
        // The SDK's only TLS setting is the JDK default socket factory: set it to the workload's client
        // certificate and the broker's CA for this test, and put it back after.
        SSLSocketFactory before = HttpsURLConnection.getDefaultSSLSocketFactory();
        HttpsURLConnection.setDefaultSSLSocketFactory(TestPki.sslContext(fixture.ca(), fixture.checkout())
                .getSocketFactory());
        try {
            StripeClient stripe = StripeClient.builder()
                    .setApiKey("sk_test_placeholderNeverUsed")
                    .setApiBase("https://127.0.0.1:" + broker.port() + "/stripe")
                    .build();
            PaymentIntent created = stripe.v1().paymentIntents().create(PaymentIntentCreateParams.builder()
                    .setAmount(2000L).setCurrency("usd").putMetadata("order_id", "6735").build());
            assertThat(created.getId()).startsWith("pi_");
            assertThat(created.getObject()).isEqualTo("payment_intent");
            PaymentIntent read = stripe.v1().paymentIntents().retrieve(created.getId());
            assertThat(read.getId()).isEqualTo(created.getId());
        } finally {
            HttpsURLConnection.setDefaultSSLSocketFactory(before);
        }
        // The record is written once the body has been streamed back, which may be just after the SDK has it.
        String audit = org.awaitility.Awaitility.await().atMost(Duration.ofSeconds(5))
                .until(() -> Files.readString(fixture.auditFile()), text -> text.contains("\"method\":\"GET\""));
        assertThat(audit).contains("\"method\":\"POST\",\"path\":\"/v1/payment_intents\"")
                .containsPattern("\"method\":\"GET\",\"path\":\"/v1/payment_intents/pi_[A-Za-z0-9]+\"")
                .doesNotContain(BrokerFixture.CURRENT_VALUE, "sk_test_placeholderNeverUsed");
    }

    @Test
    void shouldRefuseAnUnlistedCallAsAStripeErrorTheSdkRecognises() throws Exception {
        // Without Stripe's error object in the problem body the SDKs do not see a refusal for what it is:
        // stripe-java throws a generic "Invalid response object", stripe-node even resolves the call.
        SSLSocketFactory before = HttpsURLConnection.getDefaultSSLSocketFactory();
        HttpsURLConnection.setDefaultSSLSocketFactory(TestPki.sslContext(fixture.ca(), fixture.checkout())
                .getSocketFactory());
        try {
            StripeClient stripe = StripeClient.builder()
                    .setApiKey("sk_test_placeholderNeverUsed")
                    .setApiBase("https://127.0.0.1:" + broker.port() + "/stripe")
                    .setMaxNetworkRetries(0)
                    .build();
            assertThatThrownBy(() -> stripe.v1().refunds().create(RefundCreateParams.builder()
                    .setPaymentIntent("pi_1").build()))
                    .isInstanceOfSatisfying(PermissionException.class, refused -> {
                        assertThat(refused.getStatusCode()).isEqualTo(403);
                        assertThat(refused.getCode()).isEqualTo("keybroker_refused");
                        assertThat(refused.getStripeError().getType()).isEqualTo("invalid_request_error");
                        assertThat(refused.getStripeError().getMessage()).contains("POST /v1/refunds", "stripe.calls");
                    });
        } finally {
            HttpsURLConnection.setDefaultSSLSocketFactory(before);
        }
    }

    @Test
    void shouldAnswer504WithAProblemWhenStripeIsTooSlow() throws Exception {
        toxiproxy.addLatency("stripe", Duration.ofSeconds(9));
        try {
            HttpClient checkout = TestPki.httpClient(fixture.ca(), fixture.checkout());
            long start = System.nanoTime();
            HttpResponse<String> response = checkout.send(HttpRequest.newBuilder(broker.uri("/stripe/v1/balance"))
                    .timeout(Duration.ofSeconds(20)).build(), HttpResponse.BodyHandlers.ofString());
            assertThat(response.statusCode()).isEqualTo(504);
            assertThat(response.headers().firstValue("Content-Type")).hasValue("application/problem+json");
            assertThat(response.body()).contains("Stripe did not answer within", "Idempotency-Key");
            // Whether the call needed a new connection (handshake timeout) or had a pooled one (response timeout).
            assertThat(Duration.ofNanos(System.nanoTime() - start)).isLessThan(Duration.ofSeconds(8));
        } finally {
            toxiproxy.removeLatency("stripe");
        }
    }

    @Test
    void shouldTrustOnlyTheConfiguredBundleNeverAnyCertificate() {
        // Without the bundle, the JDK's trust store: stripe-mock's self-signed certificate is refused.
        StripeProperties jdkTrust = new StripeProperties(URI.create("https://localhost:" + stripeMock.httpsPort()),
                null, Duration.ofSeconds(5), Duration.ofSeconds(5), 2, Duration.ofSeconds(5), Duration.ofSeconds(5),
                Duration.ofMinutes(5), 100);
        StripeHttp untrusting = new StripeHttp(jdkTrust);
        try {
            assertThatThrownBy(() -> untrusting.client().get().uri(untrusting.base() + "/v1/balance").response()
                    .block(Duration.ofSeconds(10))).rootCause()
                    .isInstanceOf(java.security.GeneralSecurityException.class).hasMessageContaining("valid certification path");
        } finally {
            untrusting.destroy();
        }
        // With the bundle, but under a name the certificate does not carry: host names are verified.
        StripeProperties wrongName = new StripeProperties(URI.create("https://127.0.0.1:"
                + stripeMock.httpsPort()), stripeMockCertificate, Duration.ofSeconds(5), Duration.ofSeconds(5), 2,
                Duration.ofSeconds(5), Duration.ofSeconds(5), Duration.ofMinutes(5), 100);
        StripeHttp verifying = new StripeHttp(wrongName);
        try {
            assertThatThrownBy(() -> verifying.client().get().uri(verifying.base() + "/v1/balance").response()
                    .block(Duration.ofSeconds(10))).rootCause()
                    .isInstanceOf(java.security.cert.CertificateException.class)
                    .hasMessageContaining("subject alternative names");
        } finally {
            verifying.destroy();
        }
    }
}
