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
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.awaitility.Awaitility;
import tools.jackson.databind.json.JsonMapper;

/**
 * A real Toxiproxy server ({@code toxiproxy-server}, Shopify's fault-injection proxy) on loopback, driven over
 * its HTTP API: proxies in front of a test peer, toxics on them (latency, resets, a blackhole) and proxies
 * switched off and on.
 */
public final class ToxiproxyServer implements AutoCloseable {

    private static final JsonMapper JSON = JsonMapper.builder().build();

    private final int apiPort;
    private final Process process;
    private final HttpClient client = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(5)).build();

    private ToxiproxyServer(int apiPort, Process process) {
        this.apiPort = apiPort;
        this.process = process;
    }

    /** Starts {@code toxiproxy-server} on a free port; its output goes to {@code target/toxiproxy/}. */
    public static ToxiproxyServer start() {
        int port = OpenBaoServer.freePort();
        try {
            Path dir = Path.of("target", "toxiproxy").toAbsolutePath();
            Files.createDirectories(dir);
            Process process = new ProcessBuilder(OpenBaoServer.tool("toxiproxy-server").toString(),
                    "-host", "127.0.0.1", "-port", Integer.toString(port))
                    .redirectErrorStream(true)
                    .redirectOutput(dir.resolve("toxiproxy-" + port + ".log").toFile())
                    .start();
            ToxiproxyServer server = new ToxiproxyServer(port, process);
            Awaitility.await("toxiproxy API on port " + port).atMost(Duration.ofSeconds(30))
                    .pollInterval(Duration.ofMillis(100))
                    .until(() -> {
                        if (!process.isAlive()) {
                            throw new IllegalStateException("toxiproxy-server exited with " + process.exitValue());
                        }
                        try {
                            return server.send("GET", "/version", null).statusCode() == 200;
                        } catch (UncheckedIOException ex) {
                            return false;
                        }
                    });
            return server;
        } catch (IOException ex) {
            throw new UncheckedIOException(ex);
        }
    }

    /** Creates a proxy listening on a free loopback port in front of {@code upstream}; returns that port. */
    public int proxy(String name, String upstream) {
        int listen = OpenBaoServer.freePort();
        expect(200, 201, send("POST", "/proxies", Map.of("name", name, "listen", "127.0.0.1:" + listen,
                "upstream", upstream, "enabled", true)));
        return listen;
    }

    /** Delays every answer from upstream by {@code latency}. */
    public void addLatency(String proxy, Duration latency) {
        expect(200, 201, send("POST", "/proxies/" + proxy + "/toxics", Map.of("name", "latency", "type", "latency",
                "stream", "downstream", "toxicity", 1.0, "attributes", Map.of("latency", latency.toMillis()))));
    }

    public void removeLatency(String proxy) {
        removeToxic(proxy, "latency");
    }

    /**
     * Resets every connection through the proxy (TCP RST, "connection reset by peer") {@code after} it sent data;
     * new connections are reset too, until {@link #removeToxic} with name {@code reset_peer}.
     */
    public void addResetPeer(String proxy, Duration after) {
        addToxic(proxy, "reset_peer", "reset_peer", "upstream", Map.of("timeout", after.toMillis()));
    }

    /**
     * A blackhole: connections are accepted but no data gets through and nothing is closed, until
     * {@link #removeToxic} with name {@code timeout} (toxiproxy's timeout toxic with timeout 0).
     */
    public void addBlackhole(String proxy) {
        addToxic(proxy, "timeout", "timeout", "upstream", Map.of("timeout", 0));
    }

    /** Adds a toxic of any type (toxiproxy's README lists them) to every connection through the proxy. */
    public void addToxic(String proxy, String name, String type, String stream, Map<String, ?> attributes) {
        expect(200, 201, send("POST", "/proxies/" + proxy + "/toxics", Map.of("name", name, "type", type,
                "stream", stream, "toxicity", 1.0, "attributes", attributes)));
    }

    public void removeToxic(String proxy, String name) {
        expect(204, 200, send("DELETE", "/proxies/" + proxy + "/toxics/" + name, null));
    }

    /**
     * Disabling closes the proxy's listening port and its connections (the client sees "connection refused");
     * enabling listens on the same port again.
     */
    public void setEnabled(String proxy, boolean enabled) {
        expect(200, 201, send("POST", "/proxies/" + proxy, Map.of("enabled", enabled)));
    }

    @Override
    public void close() {
        process.descendants().forEach(ProcessHandle::destroyForcibly);
        process.destroyForcibly();
        try {
            process.waitFor(20, TimeUnit.SECONDS);
        } catch (InterruptedException ex) {
            Thread.currentThread().interrupt();
        }
    }

    private HttpResponse<String> send(String method, String path, Object body) {
        try {
            HttpRequest request = HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + apiPort + path))
                    .timeout(Duration.ofSeconds(10))
                    .method(method, body == null ? HttpRequest.BodyPublishers.noBody()
                            : HttpRequest.BodyPublishers.ofString(JSON.writeValueAsString(body)))
                    .build();
            return client.send(request, HttpResponse.BodyHandlers.ofString());
        } catch (IOException ex) {
            throw new UncheckedIOException(ex);
        } catch (InterruptedException ex) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException(ex);
        }
    }

    private static void expect(int one, int other, HttpResponse<String> response) {
        if (!List.of(one, other).contains(response.statusCode())) {
            throw new IllegalStateException("toxiproxy answered " + response.statusCode() + ": " + response.body());
        }
    }
}
