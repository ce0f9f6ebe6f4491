package io.keybroker.inject;

import io.keybroker.listener.ReloadingTlsMaterial;
import io.netty.handler.codec.http.HttpResponseStatus;
import io.netty.handler.ssl.ApplicationProtocolConfig;
import io.netty.handler.ssl.ClientAuth;
import io.netty.handler.ssl.IdentityCipherSuiteFilter;
import io.netty.handler.ssl.JdkSslContext;
import io.netty.handler.ssl.SslContext;
import java.io.IOException;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.security.GeneralSecurityException;
import java.time.Duration;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import javax.net.ssl.KeyManager;
import javax.net.ssl.SSLContext;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import reactor.core.publisher.Mono;
import reactor.netty.DisposableServer;
import reactor.netty.http.server.HttpServer;
import reactor.netty.http.server.HttpServerRequest;
import reactor.netty.http.server.HttpServerResponse;
import tools.jackson.core.JacksonException;
import tools.jackson.databind.JsonNode;
import tools.jackson.databind.json.JsonMapper;

/**
 * Serves the webhook: {@code POST /mutate} (AdmissionReview in and out) and {@code GET /healthz}, over HTTPS
 * with the serving certificate that cert-manager keeps in a Secret. The certificate, key and template are polled
 * and re-read when they change, so a renewal reaches the next handshake without a restart (the same
 * {@link ReloadingTlsMaterial} as the broker's own listener). The API server does not present a client
 * certificate to webhooks by default, so none is asked for; the port only answers admission questions.
 */
public final class InjectorServer implements AutoCloseable {

    private static final Logger log = LoggerFactory.getLogger(InjectorServer.class);

    /** The API server sends at most one object of at most about 1.5 MiB; anything bigger is not a review. */
    private static final int MAX_BODY = 4 * 1024 * 1024;

    private final JsonMapper json = JsonMapper.builder().build();
    private final TemplateFile template;
    private final ReloadingTlsMaterial tls;
    private final DisposableServer server;
    private final ScheduledExecutorService reloader;

    /**
     * Starts serving.
     * @throws IOException naming the file when the template or the TLS material cannot be read
     */
    public InjectorServer(Path templateFile, Path tlsDir, String address, int port, Duration reloadInterval)
            throws IOException {
        this.template = new TemplateFile(templateFile, json);
        try {
            this.tls = new ReloadingTlsMaterial(tlsDir.resolve("tls.crt"), tlsDir.resolve("tls.key"),
                    tlsDir.resolve("ca.crt"), false);
        } catch (IOException ex) {
            throw new IOException("cannot load the serving certificate from --tls-dir " + tlsDir + " (tls.crt, "
                    + "tls.key and ca.crt, as in a cert-manager Secret): " + ex.getMessage(), ex);
        }
        SslContext ssl;
        try {
            SSLContext context = SSLContext.getInstance("TLS");
            context.init(new KeyManager[] {tls.keyManager()}, null, null);
            ssl = new JdkSslContext(context, false, null, IdentityCipherSuiteFilter.INSTANCE,
                    ApplicationProtocolConfig.DISABLED, ClientAuth.NONE, new String[] {"TLSv1.3", "TLSv1.2"},
                    false);
        } catch (GeneralSecurityException ex) {
            throw new IOException("cannot set up TLS: " + ex.getMessage(), ex);
        }
        this.server = HttpServer.create()
                .host(address)
                .port(port)
                .secure(spec -> spec.sslContext(ssl).handshakeTimeout(Duration.ofSeconds(10)))
                .route(routes -> routes
                        .post("/mutate", this::mutate)
                        .get("/healthz", (request, response) -> response.sendString(Mono.just("ok\n"))))
                .bindNow(Duration.ofSeconds(20));
        this.reloader = Executors.newSingleThreadScheduledExecutor(runnable -> {
            Thread thread = new Thread(runnable, "keybroker-injector-reload");
            thread.setDaemon(true);
            return thread;
        });
        long millis = Math.max(100, reloadInterval.toMillis());
        reloader.scheduleWithFixedDelay(() -> {
            tls.reloadIfChanged();
            template.reloadIfChanged();
        }, millis, millis, TimeUnit.MILLISECONDS);
    }

    /** The bound port (useful with port 0). */
    public int port() {
        return ((InetSocketAddress) server.address()).getPort();
    }

    private Mono<Void> mutate(HttpServerRequest request, HttpServerResponse response) {
        return request.receive().aggregate().asByteArray().defaultIfEmpty(new byte[0]).flatMap(body -> {
            if (body.length > MAX_BODY) {
                return plain(response, HttpResponseStatus.REQUEST_ENTITY_TOO_LARGE, "request body too large");
            }
            JsonNode review;
            try {
                review = json.readTree(body);
            } catch (JacksonException ex) {
                return plain(response, HttpResponseStatus.BAD_REQUEST, "the body is not JSON: send an "
                        + "admission.k8s.io/v1 AdmissionReview");
            }
            String answer;
            try {
                var out = template.mutator().review(review);
                JsonNode result = out.path("response");
                log.info("admission {} {}/{}{}: allowed={} patched={}", result.path("uid").stringValue(""),
                        review.path("request").path("namespace").stringValue(""),
                        review.path("request").path("object").path("metadata").path("name").stringValue(""),
                        review.path("request").path("object").path("metadata").path("generateName")
                                .stringValue(""),
                        result.path("allowed").booleanValue(), result.has("patch"));
                answer = out.toString();
            } catch (IllegalArgumentException ex) {
                return plain(response, HttpResponseStatus.BAD_REQUEST, ex.getMessage());
            }
            return response.status(HttpResponseStatus.OK)
                    .header("Content-Type", "application/json")
                    .sendString(Mono.just(answer), StandardCharsets.UTF_8).then();
        });
    }

    private static Mono<Void> plain(HttpServerResponse response, HttpResponseStatus status, String message) {
        return response.status(status).header("Content-Type", "text/plain; charset=utf-8")
                .sendString(Mono.just(message + "\n")).then();
    }

    /** Waits until the server stops. */
    public void awaitShutdown() {
        server.onDispose().block();
    }

    @Override
    public void close() {
        reloader.shutdownNow();
        server.disposeNow(Duration.ofSeconds(5));
    }
}
