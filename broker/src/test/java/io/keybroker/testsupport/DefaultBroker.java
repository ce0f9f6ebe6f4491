package io.keybroker.testsupport;

import java.net.URI;
import java.net.http.HttpClient;
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
 * A class that needs more secrets, policies or settings prepares the fixture before the broker starts:
 * {@code new DefaultBroker(fixture -> fixture.withStripe())}.
 */
public final class DefaultBroker implements BeforeAllCallback, AfterAllCallback {

    /** Prepares the fixture before the broker starts on it. */
    @FunctionalInterface
    public interface SetUp {
        BrokerFixture prepare(BrokerFixture fixture) throws Exception;
    }

    private final SetUp setUp;
    private BrokerFixture fixture;
    private RunningBroker running;
    private HttpClient checkout;

    public DefaultBroker() {
        this(fixture -> fixture);
    }

    public DefaultBroker(SetUp setUp) {
        this.setUp = setUp;
    }

    @Override
    public void beforeAll(ExtensionContext context) throws Exception {
        fixture = setUp.prepare(BrokerFixture.create());
        running = RunningBroker.start(fixture.properties());
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
