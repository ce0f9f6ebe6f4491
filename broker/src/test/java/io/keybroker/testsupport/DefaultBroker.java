package io.keybroker.testsupport;

import java.net.URI;
import java.net.http.HttpClient;
import java.util.Map;
import org.junit.jupiter.api.extension.AfterAllCallback;
import org.junit.jupiter.api.extension.BeforeAllCallback;
import org.junit.jupiter.api.extension.ExtensionContext;

/**
 * A whole broker on {@link BrokerFixture}'s defaults (file backend, example policy, test PKI) for one test class,
 * started before its first test and closed after its last, with an mTLS client holding the checkout workload's
 * certificate:
 *
 * <pre>{@code
 * @RegisterExtension
 * static final DefaultBroker broker = new DefaultBroker();
 * }</pre>
 *
 * A class that needs other secrets, policies or settings prepares the fixture and the broker's properties before
 * the broker starts: {@code new DefaultBroker((fixture, properties) -> properties.put("keybroker.x", "1"))}.
 */
public final class DefaultBroker implements BeforeAllCallback, AfterAllCallback {

    /** Prepares the fixture (its files) and the broker's properties before the broker starts. */
    @FunctionalInterface
    public interface SetUp {
        void prepare(BrokerFixture fixture, Map<String, String> properties) throws Exception;
    }

    private final SetUp setUp;
    private BrokerFixture fixture;
    private RunningBroker running;
    private HttpClient checkout;

    public DefaultBroker() {
        this((fixture, properties) -> { });
    }

    public DefaultBroker(SetUp setUp) {
        this.setUp = setUp;
    }

    @Override
    public void beforeAll(ExtensionContext context) throws Exception {
        fixture = BrokerFixture.create();
        Map<String, String> properties = fixture.properties();
        setUp.prepare(fixture, properties);
        running = RunningBroker.start(properties);
        checkout = TestPki.httpClient(fixture.ca(), fixture.checkout());
    }

    @Override
    public void afterAll(ExtensionContext context) {
        if (running != null) {
            running.close();
        }
    }

    /** The fixture the broker runs on: its directory, PKI, audit file. */
    public BrokerFixture fixture() {
        return fixture;
    }

    /** The running broker. */
    public RunningBroker running() {
        return running;
    }

    /** An mTLS client with the checkout workload's certificate. */
    public HttpClient checkout() {
        return checkout;
    }

    /** An mTLS client with a workload certificate for {@code spiffeId}, issued by the fixture's CA. */
    public HttpClient client(String spiffeId) {
        return TestPki.httpClient(fixture.ca(), TestPki.workload(fixture.ca(), spiffeId));
    }

    /** A URI on the broker's mTLS listener. */
    public URI uri(String path) {
        return running.uri(path);
    }

    /** A URI on the broker's plain management port. */
    public URI management(String path) {
        return running.management(path);
    }
}
