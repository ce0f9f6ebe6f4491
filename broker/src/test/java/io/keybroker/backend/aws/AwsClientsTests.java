package io.keybroker.backend.aws;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.catchThrowable;

import java.net.InetAddress;
import java.net.ServerSocket;
import java.net.URI;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import software.amazon.awssdk.core.exception.SdkClientException;
import software.amazon.awssdk.services.secretsmanager.SecretsManagerAsyncClient;

/**
 * The clients as the backend builds them, against a real loopback port where nothing listens. On the SDK's NIO
 * transport under Netty 4.2, one call in a few dozen lost the refusal and hung until the 10 s attempt timeout
 * (a request to a broker whose backend was down then timed out instead of getting its 503).
 */
class AwsClientsTests {

    @BeforeEach
    void credentials() {
        // The SDK's default chain needs credentials to sign; nothing ever checks them here.
        System.setProperty("aws.accessKeyId", "testing");
        System.setProperty("aws.secretAccessKey", "testing");
    }

    @AfterEach
    void clearCredentials() {
        System.clearProperty("aws.accessKeyId");
        System.clearProperty("aws.secretAccessKey");
    }

    @Test
    void shouldFailEveryCallAtOnceWhenNothingListensAtTheEndpoint() throws Exception {
        int port;
        try (ServerSocket socket = new ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
            port = socket.getLocalPort();
        }
        AwsProperties properties = new AwsProperties("us-east-1", URI.create("http://127.0.0.1:" + port), List.of(),
                Map.of());
        try (AwsClients clients = new AwsClients(properties); SecretsManagerAsyncClient client = clients.primary()) {
            for (int i = 0; i < 60; i++) {
                long started = System.nanoTime();
                Throwable thrown = catchThrowable(() -> client.getSecretValue(b -> b.secretId("x"))
                        .get(30, TimeUnit.SECONDS));
                Duration took = Duration.ofNanos(System.nanoTime() - started);
                assertThat(thrown).as("call %d", i).hasCauseInstanceOf(SdkClientException.class);
                // Three refused attempts with the SDK's backoff take well under a second; a lost refusal takes 10 s.
                assertThat(took).as("call %d failed with %s", i, thrown.getCause()).isLessThan(Duration.ofSeconds(5));
            }
        }
    }

    @Test
    void shouldStopTheSharedIoThreadOnClose() {
        AwsClients clients = new AwsClients(new AwsProperties("us-east-1", null, List.of(), Map.of()));
        clients.primary().close();
        clients.close();
        assertThat(Thread.getAllStackTraces().keySet()).noneMatch(
                thread -> thread.getName().startsWith("keybroker-aws-io") && thread.isAlive());
    }
}
