package io.keybroker.testsupport;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.function.IntPredicate;
import org.awaitility.Awaitility;
import software.amazon.awssdk.auth.credentials.AwsBasicCredentials;
import software.amazon.awssdk.auth.credentials.StaticCredentialsProvider;
import software.amazon.awssdk.regions.Region;
import software.amazon.awssdk.services.secretsmanager.SecretsManagerAsyncClient;

/**
 * A real peer (moto, stripe-mock) run as a process on a free loopback port, ready once an HTTP probe answers
 * as expected.
 */
public final class PeerProcess implements AutoCloseable {

    private final Process process;
    private final int port;
    private final int httpsPort;

    private PeerProcess(Process process, int port, int httpsPort) {
        this.process = process;
        this.port = port;
        this.httpsPort = httpsPort;
    }

    /** {@code moto_server}, standing in for AWS Secrets Manager. */
    public static PeerProcess moto() {
        return moto(OpenBaoServer.freePort());
    }

    /** {@code moto_server} on a given port, e.g. to restart it where the broker expects it. */
    public static PeerProcess moto(int port) {
        return start(List.of(OpenBaoServer.tool("moto_server").toString(), "-H", "127.0.0.1", "-p",
                Integer.toString(port)), port, "/moto-api/", status -> status == 200);
    }

    /** Stripe's own stripe-mock. */
    public static PeerProcess stripeMock() {
        int port = OpenBaoServer.freePort();
        return start(List.of(OpenBaoServer.tool("stripe-mock").toString(), "-http-port", Integer.toString(port)),
                port, "/v1/balance", status -> status == 401 || status == 200);
    }

    /**
     * Stripe's own stripe-mock listening for HTTP on {@link #port()} and for HTTPS on {@link #httpsPort()}, with
     * the self-signed certificate it makes for {@code localhost}.
     */
    public static PeerProcess stripeMockWithHttps() {
        int port = OpenBaoServer.freePort();
        int httpsPort = OpenBaoServer.freePort();
        return start(List.of(OpenBaoServer.tool("stripe-mock").toString(), "-http-addr", "127.0.0.1:" + port,
                "-https-addr", "127.0.0.1:" + httpsPort), port, httpsPort, "/v1/balance",
                status -> status == 401 || status == 200);
    }

    private static PeerProcess start(List<String> command, int port, String probe, IntPredicate ready) {
        return start(command, port, 0, probe, ready);
    }

    private static PeerProcess start(List<String> command, int port, int httpsPort, String probe,
            IntPredicate ready) {
        try {
            Path log = Files.createTempFile("peer-" + Path.of(command.get(0)).getFileName(), ".log");
            Process process = new ProcessBuilder(command).redirectErrorStream(true).redirectOutput(log.toFile())
                    .start();
            HttpClient http = HttpClient.newHttpClient();
            URI uri = URI.create("http://127.0.0.1:" + port + probe);
            Awaitility.await().atMost(Duration.ofSeconds(60)).pollInterval(Duration.ofMillis(100)).ignoreExceptions()
                    .until(() -> {
                        if (!process.isAlive()) {
                            throw new IllegalStateException(command.get(0) + " exited; see " + log);
                        }
                        return ready.test(http.send(HttpRequest.newBuilder(uri).build(),
                                HttpResponse.BodyHandlers.discarding()).statusCode());
                    });
            return new PeerProcess(process, port, httpsPort);
        } catch (IOException ex) {
            throw new UncheckedIOException(ex);
        }
    }

    public int port() {
        return port;
    }

    /** The HTTPS port of {@link #stripeMockWithHttps()}, else 0. */
    public int httpsPort() {
        return httpsPort;
    }

    public URI uri() {
        return URI.create("http://127.0.0.1:" + port);
    }

    /** A Secrets Manager client on this moto, with the fixed credentials moto accepts, for seeding and checks. */
    public SecretsManagerAsyncClient secretsManager(String region) {
        return SecretsManagerAsyncClient.builder().region(Region.of(region)).endpointOverride(uri())
                .credentialsProvider(StaticCredentialsProvider.create(AwsBasicCredentials.create("testing", "testing")))
                .build();
    }

    @Override
    public void close() {
        process.destroy();
        try {
            if (!process.waitFor(10, TimeUnit.SECONDS)) {
                process.destroyForcibly();
            }
        } catch (InterruptedException ex) {
            Thread.currentThread().interrupt();
        }
    }
}
