package io.keybroker.stripe;

import io.keybroker.testsupport.BrokerFixture;
import io.keybroker.testsupport.PeerProcess;
import io.keybroker.testsupport.RecordingProxy;
import io.keybroker.testsupport.RunningBroker;
import io.keybroker.testsupport.TestPki;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.function.Consumer;
import org.awaitility.Awaitility;
import tools.jackson.databind.JsonNode;
import tools.jackson.databind.json.JsonMapper;

/**
 * The whole broker with the Stripe proxy, forwarding over HTTP to a real stripe-mock through a relay that records
 * every byte that reaches it, and the checkout workload's mTLS client: what the Stripe proxy's integration tests
 * share. Close it after the class ({@code @AfterAll}); clear the relay before each test.
 */
final class StripeProxyHarness implements AutoCloseable {

    private static final JsonMapper JSON = JsonMapper.builder().build();

    private final PeerProcess stripeMock;
    private final RecordingProxy relay;
    private final BrokerFixture fixture;
    private final RunningBroker broker;
    private final HttpClient checkout;

    private StripeProxyHarness(PeerProcess stripeMock, RecordingProxy relay, BrokerFixture fixture,
            RunningBroker broker) {
        this.stripeMock = stripeMock;
        this.relay = relay;
        this.fixture = fixture;
        this.broker = broker;
        this.checkout = TestPki.httpClient(fixture.ca(), fixture.checkout());
    }

    /**
     * Starts stripe-mock, the relay and the broker.
     * @param prepare changes the fixture (its secrets, say) before the broker starts
     * @param properties broker properties on top of the fixture's and the Stripe API base
     */
    static StripeProxyHarness start(Consumer<BrokerFixture> prepare, Map<String, String> properties) {
        PeerProcess stripeMock = PeerProcess.stripeMock();
        RecordingProxy relay = null;
        try {
            relay = RecordingProxy.to(stripeMock.port());
            BrokerFixture fixture = BrokerFixture.create().withStripe();
            prepare.accept(fixture);
            Map<String, String> all = fixture.properties();
            all.put("keybroker.stripe.api-base", "http://127.0.0.1:" + relay.port());
            all.putAll(properties);
            return new StripeProxyHarness(stripeMock, relay, fixture, RunningBroker.start(all));
        } catch (RuntimeException ex) {
            if (relay != null) {
                relay.close();
            }
            stripeMock.close();
            throw ex;
        }
    }

    static StripeProxyHarness start() {
        return start(fixture -> { }, Map.of());
    }

    RecordingProxy relay() {
        return relay;
    }

    BrokerFixture fixture() {
        return fixture;
    }

    RunningBroker broker() {
        return broker;
    }

    PeerProcess stripeMock() {
        return stripeMock;
    }

    /** The checkout workload's client: granted the Stripe calls of {@link BrokerFixture#STRIPE_SECTION}. */
    HttpClient checkout() {
        return checkout;
    }

    /** A call through the proxy as checkout. */
    HttpResponse<String> call(String method, String path, String body, String... headers) throws Exception {
        return call(checkout, method, path, body, headers);
    }

    HttpResponse<String> call(HttpClient client, String method, String path, String body, String... headers)
            throws Exception {
        HttpRequest.Builder request = HttpRequest.newBuilder(broker.uri(path)).timeout(Duration.ofSeconds(20))
                .method(method, body == null ? HttpRequest.BodyPublishers.noBody()
                        : HttpRequest.BodyPublishers.ofString(body));
        if (headers.length > 0) {
            request.headers(headers);
        }
        return client.send(request.build(), HttpResponse.BodyHandlers.ofString());
    }

    /** Every audit record of one type, in order. */
    List<JsonNode> auditRecords(String type) throws Exception {
        return Files.readAllLines(fixture.auditFile()).stream().map(JSON::readTree)
                .filter(node -> type.equals(node.path("type").asString())).toList();
    }

    /** The one audit record of a request, waiting for it to be written. */
    JsonNode auditRecordOf(String requestId) {
        return Awaitility.await().atMost(Duration.ofSeconds(5)).until(() -> Files.readAllLines(fixture.auditFile())
                .stream().filter(line -> line.contains("\"" + requestId + "\"")).map(JSON::readTree).toList(),
                records -> records.size() == 1).get(0);
    }

    @Override
    public void close() {
        try {
            broker.close();
        } finally {
            try {
                relay.close();
            } finally {
                stripeMock.close();
            }
        }
    }
}
