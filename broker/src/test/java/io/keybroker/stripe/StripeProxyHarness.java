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
import java.util.Objects;
import java.util.function.Consumer;
import org.awaitility.Awaitility;
import org.jspecify.annotations.Nullable;
import org.junit.jupiter.api.extension.AfterAllCallback;
import org.junit.jupiter.api.extension.BeforeAllCallback;
import org.junit.jupiter.api.extension.BeforeEachCallback;
import org.junit.jupiter.api.extension.ExtensionContext;
import tools.jackson.databind.JsonNode;
import tools.jackson.databind.json.JsonMapper;

/**
 * The whole broker with the Stripe proxy, forwarding over HTTP to a real stripe-mock through a relay that records
 * every byte that reaches it, and the checkout workload's mTLS client: what the Stripe proxy's integration tests
 * share. Register it as a static {@code @RegisterExtension} field: it starts before the class's tests, forgets
 * the relayed bytes before each test, and stops everything after the last one.
 */
final class StripeProxyHarness implements BeforeAllCallback, BeforeEachCallback, AfterAllCallback {

    private static final JsonMapper JSON = JsonMapper.builder().build();

    private final Consumer<BrokerFixture> prepare;
    private final Map<String, String> properties;
    private @Nullable PeerProcess stripeMock;
    private @Nullable RecordingProxy relay;
    private @Nullable BrokerFixture fixture;
    private @Nullable RunningBroker broker;
    private @Nullable HttpClient checkout;

    /**
     * @param prepare changes the fixture (its secrets, say) before the broker starts
     * @param properties broker properties on top of the fixture's and the Stripe API base
     */
    StripeProxyHarness(Consumer<BrokerFixture> prepare, Map<String, String> properties) {
        this.prepare = prepare;
        this.properties = Map.copyOf(properties);
    }

    StripeProxyHarness() {
        this(fixture -> { }, Map.of());
    }

    @Override
    public void beforeAll(ExtensionContext context) {
        stripeMock = PeerProcess.stripeMock();
        relay = RecordingProxy.to(stripeMock.port());
        fixture = BrokerFixture.create().withStripe();
        prepare.accept(fixture);
        Map<String, String> all = fixture.properties();
        all.put("keybroker.stripe.api-base", "http://127.0.0.1:" + relay.port());
        all.putAll(properties);
        broker = RunningBroker.start(all);
        checkout = TestPki.httpClient(fixture.ca(), fixture.checkout());
    }

    @Override
    public void beforeEach(ExtensionContext context) {
        relay().clear();
    }

    @Override
    public void afterAll(ExtensionContext context) {
        // Whatever beforeAll got to start, in reverse order.
        try {
            if (broker != null) {
                broker.close();
            }
        } finally {
            try {
                if (relay != null) {
                    relay.close();
                }
            } finally {
                if (stripeMock != null) {
                    stripeMock.close();
                }
            }
        }
    }

    RecordingProxy relay() {
        return Objects.requireNonNull(relay, "started in beforeAll");
    }

    BrokerFixture fixture() {
        return Objects.requireNonNull(fixture, "started in beforeAll");
    }

    RunningBroker broker() {
        return Objects.requireNonNull(broker, "started in beforeAll");
    }

    PeerProcess stripeMock() {
        return Objects.requireNonNull(stripeMock, "started in beforeAll");
    }

    /** The checkout workload's client: granted the Stripe calls of {@link BrokerFixture#STRIPE_SECTION}. */
    HttpClient checkout() {
        return Objects.requireNonNull(checkout, "started in beforeAll");
    }

    /** A call through the proxy as checkout. */
    HttpResponse<String> call(String method, String path, String body, String... headers) throws Exception {
        return call(checkout(), method, path, body, headers);
    }

    HttpResponse<String> call(HttpClient client, String method, String path, String body, String... headers)
            throws Exception {
        HttpRequest.Builder request = HttpRequest.newBuilder(broker().uri(path)).timeout(Duration.ofSeconds(20))
                .method(method, body == null ? HttpRequest.BodyPublishers.noBody()
                        : HttpRequest.BodyPublishers.ofString(body));
        if (headers.length > 0) {
            request.headers(headers);
        }
        return client.send(request.build(), HttpResponse.BodyHandlers.ofString());
    }

    /** Every audit record of one type, in order. */
    List<JsonNode> auditRecords(String type) throws Exception {
        return Files.readAllLines(fixture().auditFile()).stream().map(JSON::readTree)
                .filter(node -> type.equals(node.path("type").asString())).toList();
    }

    /** The one audit record of a request, waiting for it to be written. */
    JsonNode auditRecordOf(String requestId) {
        return Awaitility.await().atMost(Duration.ofSeconds(5)).until(() -> Files.readAllLines(fixture().auditFile())
                .stream().filter(line -> line.contains("\"" + requestId + "\"")).map(JSON::readTree).toList(),
                records -> records.size() == 1).get(0);
    }
}
