package io.keybroker.client;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStream;
import java.io.InputStreamReader;
import java.net.URI;
import java.net.URLEncoder;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.Arrays;
import java.util.Collection;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.ConcurrentHashMap;
import java.util.function.BiConsumer;
import java.util.function.Consumer;
import javax.net.ssl.SSLContext;
import javax.net.ssl.SSLParameters;
import tools.jackson.core.JsonParser;
import tools.jackson.core.JsonToken;
import tools.jackson.core.ObjectReadContext;
import tools.jackson.core.json.JsonFactory;

/**
 * A client for a Keybroker sidecar: mutual TLS, HTTP/1.1 keep-alive, a short local cache that the watch stream
 * invalidates, and refresh.
 *
 * <pre>{@code
 * KeybrokerClient broker = KeybrokerClient.builder()
 *         .tls(Path.of("/var/run/keybroker/tls.crt"), Path.of("/var/run/keybroker/tls.key"),
 *              Path.of("/var/run/keybroker/ca.crt"))
 *         .build();
 * Secret key = broker.get("stripe/secret-key");
 * }</pre>
 *
 * <p><b>Values.</b> Values are kept as bytes and never printed. The local cache holds them for
 * {@link Builder#cacheTtl(Duration)} (30 s by default; {@code Duration.ZERO} turns it off) in this process's
 * memory; the broker itself keeps them encrypted.
 */
public final class KeybrokerClient implements AutoCloseable {

    private static final JsonFactory JSON = new JsonFactory();
    private static final System.Logger log = System.getLogger("io.keybroker.client");

    private final URI base;
    private final HttpClient http;
    private final Duration timeout;
    private final Duration cacheTtl;
    private final Clock clock;
    private final Map<String, Cached> cache = new ConcurrentHashMap<>();

    private record Cached(Secret secret, Instant fetchedAt) {
    }

    private KeybrokerClient(Builder builder) {
        this.base = builder.base;
        this.timeout = builder.timeout;
        this.cacheTtl = builder.cacheTtl;
        this.clock = builder.clock;
        SSLParameters parameters = new SSLParameters();
        parameters.setProtocols(new String[] {"TLSv1.3", "TLSv1.2"});
        this.http = HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1).sslContext(builder.ssl)
                .sslParameters(parameters).connectTimeout(timeout).build();
    }

    public static Builder builder() {
        return new Builder();
    }

    /** Reads a secret, from the local cache when it is fresh. */
    public Secret get(String name) {
        Cached cached = cache.get(name);
        Instant now = clock.instant();
        if (cached != null && now.isBefore(cached.fetchedAt().plus(cacheTtl))) {
            return cached.secret();
        }
        HttpResponse<InputStream> response = send(HttpRequest.newBuilder(uri("/v1/secrets/" + name)).GET());
        Secret secret = parseSecret(response);
        if (!cacheTtl.isZero()) {
            cache.put(name, new Cached(secret, now));
        }
        return secret;
    }

    /**
     * Asks the broker to re-read the secret from its backend now (after Stripe refused the current key), and
     * drops the local copy. A 429 (refreshed moments ago by someone else) is not an error: the broker already
     * has what the backend has.
     */
    public void refresh(String name) {
        cache.remove(name);
        HttpResponse<InputStream> response = sendRaw(HttpRequest.newBuilder(uri("/v1/secrets/" + name + "/refresh"))
                .POST(HttpRequest.BodyPublishers.noBody()));
        try (InputStream body = response.body()) {
            if (response.statusCode() != 200 && response.statusCode() != 429) {
                throw problem(response.statusCode(), body, response);
            }
        } catch (IOException ex) {
            throw new KeybrokerException(0, "I/O error", ex.getMessage(), null);
        }
    }

    /** Drops the local copy of a secret. */
    public void invalidate(String name) {
        cache.remove(name);
    }

    /**
     * Follows {@code /v1/watch} for the names on a background thread: each {@code rotated} event drops the
     * local copy and is handed to {@code listener}. Reconnects with backoff until the returned handle is closed.
     * An exception thrown by {@code listener} is logged (WARNING, logger {@code io.keybroker.client}) and the
     * stream goes on with the next event.
     */
    public AutoCloseable watch(Collection<String> names, Consumer<RotationEvent> listener) {
        return watch(names, listener, (event, ex) -> log.log(System.Logger.Level.WARNING, "the watch listener "
                + "failed on the rotation of " + event.name() + " to version " + event.currentVersion()
                + "; the stream goes on", ex));
    }

    /**
     * {@link #watch(Collection, Consumer)}, with the exceptions thrown by {@code listener} handed to
     * {@code listenerFailures} with the event it failed on (the local copy is dropped either way, and the
     * stream goes on with the next event).
     */
    public AutoCloseable watch(Collection<String> names, Consumer<RotationEvent> listener,
            BiConsumer<RotationEvent, RuntimeException> listenerFailures) {
        StringBuilder query = new StringBuilder();
        for (String name : names) {
            query.append(query.length() == 0 ? "?" : "&").append("name=")
                    .append(URLEncoder.encode(name, StandardCharsets.UTF_8));
        }
        WatchStream stream = new WatchStream(uri("/v1/watch" + query), listener, listenerFailures);
        stream.start();
        return stream;
    }

    /** One watch: its loop on a thread of its own, and the handle that ends it. */
    private final class WatchStream implements AutoCloseable {

        private final URI uri;
        private final Consumer<RotationEvent> listener;
        private final BiConsumer<RotationEvent, RuntimeException> listenerFailures;
        private final Thread thread;
        private volatile boolean closed;
        private volatile InputStream body;

        WatchStream(URI uri, Consumer<RotationEvent> listener,
                BiConsumer<RotationEvent, RuntimeException> listenerFailures) {
            this.uri = uri;
            this.listener = listener;
            this.listenerFailures = listenerFailures;
            this.thread = new Thread(this::follow, "keybroker-watch");
            thread.setDaemon(true);
        }

        void start() {
            thread.start();
        }

        @Override
        public void close() {
            closed = true;
            thread.interrupt();
            // A thread blocked reading the stream does not see the interrupt; closing the body ends the read.
            // Without this the loop outlived its handle and went on reconnecting after the application closed it.
            InputStream open = body;
            if (open != null) {
                try {
                    open.close();
                } catch (IOException ignored) {
                    // Closing is all that was wanted.
                }
            }
        }

        private void follow() {
            long backoff = 500;
            while (!closed) {
                try {
                    HttpResponse<InputStream> response = http.send(HttpRequest.newBuilder(uri)
                            .header("Accept", "text/event-stream").GET().build(),
                            HttpResponse.BodyHandlers.ofInputStream());
                    body = response.body();
                    if (closed) {
                        response.body().close();
                        return;
                    }
                    if (response.statusCode() != 200) {
                        throw problem(response.statusCode(), response.body(), response);
                    }
                    backoff = 500;
                    read(response.body());
                } catch (InterruptedException ex) {
                    return;
                } catch (IOException | RuntimeException ex) {
                    if (closed) {
                        return; // the failure is the close itself
                    }
                    // Connection lost or refused: retry with backoff. Said out loud, because a refusal (a 403
                    // after a policy change, a 401 with an expired certificate) is not fixed by reconnecting, and a
                    // silent loop would leave the application believing it still hears of rotations.
                    log.log(System.Logger.Level.WARNING, "the watch stream " + uri + " failed (" + describe(ex)
                            + "); reconnecting in " + backoff + " ms");
                }
                try {
                    Thread.sleep(backoff);
                } catch (InterruptedException ex) {
                    return;
                }
                backoff = Math.min(backoff * 2, 30_000);
            }
        }

        private void read(InputStream stream) throws IOException {
            try (BufferedReader lines = new BufferedReader(new InputStreamReader(stream, StandardCharsets.UTF_8))) {
                String event = null;
                String line;
                while ((line = lines.readLine()) != null) {
                    if (line.startsWith("event:")) {
                        event = line.substring(6).trim();
                    } else if (line.startsWith("data:") && "rotated".equals(event)) {
                        RotationEvent rotation = parseRotation(line.substring(5).trim());
                        cache.remove(rotation.name());
                        try {
                            listener.accept(rotation);
                        } catch (RuntimeException ex) {
                            // The application's own failure: report it, and neither drop the connection nor
                            // mistake it for a network error that a reconnect would fix.
                            listenerFailures.accept(rotation, ex);
                        }
                    } else if (line.isEmpty()) {
                        event = null;
                    }
                }
            }
        }
    }

    /** The failure in one line: its message, or its type when it has none (a reset connection often has none). */
    private static String describe(Exception ex) {
        String message = ex.getMessage();
        return message == null || message.isBlank() ? ex.getClass().getSimpleName() : message;
    }

    private URI uri(String path) {
        return base.resolve(path);
    }

    private HttpResponse<InputStream> send(HttpRequest.Builder request) {
        HttpResponse<InputStream> response = sendRaw(request);
        if (response.statusCode() != 200) {
            try (InputStream body = response.body()) {
                throw problem(response.statusCode(), body, response);
            } catch (IOException ex) {
                throw new KeybrokerException(response.statusCode(), "I/O error", ex.getMessage(), null);
            }
        }
        return response;
    }

    private HttpResponse<InputStream> sendRaw(HttpRequest.Builder request) {
        try {
            return http.send(request.timeout(timeout).build(), HttpResponse.BodyHandlers.ofInputStream());
        } catch (IOException ex) {
            throw new KeybrokerException(0, "Broker unreachable", ex.getMessage() + " (is the Keybroker sidecar "
                    + "running at " + base + ", and is the client certificate valid?)", null);
        } catch (InterruptedException ex) {
            Thread.currentThread().interrupt();
            throw new KeybrokerException(0, "Interrupted", null, null);
        }
    }

    private static KeybrokerException problem(int status, InputStream body, HttpResponse<?> response) {
        String title = "HTTP " + status;
        String detail = null;
        try (JsonParser parser = JSON.createParser(ObjectReadContext.empty(), body)) {
            if (parser.nextToken() == JsonToken.START_OBJECT) {
                while (parser.nextToken() == JsonToken.PROPERTY_NAME) {
                    String field = parser.currentName();
                    parser.nextToken();
                    if ("title".equals(field)) {
                        title = parser.getString();
                    } else if ("detail".equals(field)) {
                        detail = parser.getString();
                    } else {
                        parser.skipChildren();
                    }
                }
            }
        } catch (RuntimeException ex) {
            // Not a problem document; the status says enough.
        }
        return new KeybrokerException(status, title, detail, response.headers().firstValue("X-Request-Id")
                .orElse(null));
    }

    private static Secret parseSecret(HttpResponse<InputStream> response) {
        String name = null;
        Secret.Version current = null;
        Secret.Version previous = null;
        Instant rotatedAt = null;
        try (InputStream body = response.body();
                JsonParser parser = JSON.createParser(ObjectReadContext.empty(), body)) {
            expect(parser.nextToken(), JsonToken.START_OBJECT);
            while (parser.nextToken() == JsonToken.PROPERTY_NAME) {
                String field = parser.currentName();
                JsonToken token = parser.nextToken();
                switch (field) {
                    case "name" -> name = parser.getString();
                    case "rotatedAt" -> rotatedAt = Instant.parse(parser.getString());
                    case "current" -> current = parseVersion(parser, token);
                    case "previous" -> previous = parseVersion(parser, token);
                    default -> parser.skipChildren();
                }
            }
        } catch (IOException ex) {
            throw new KeybrokerException(200, "Unreadable answer", ex.getMessage(), null);
        }
        return new Secret(name, Optional.ofNullable(current), Optional.ofNullable(previous), rotatedAt);
    }

    private static Secret.Version parseVersion(JsonParser parser, JsonToken token) {
        expect(token, JsonToken.START_OBJECT);
        String version = null;
        byte[] value = null;
        Instant createdAt = null;
        while (parser.nextToken() == JsonToken.PROPERTY_NAME) {
            String field = parser.currentName();
            parser.nextToken();
            switch (field) {
                case "version" -> version = parser.getString();
                case "createdAt" -> createdAt = Instant.parse(parser.getString());
                case "value" -> value = utf8(parser);
                default -> parser.skipChildren();
            }
        }
        return new Secret.Version(version, value, createdAt);
    }

    /** The current string token as UTF-8 bytes, without making a String of it. */
    private static byte[] utf8(JsonParser parser) {
        char[] chars = parser.getStringCharacters();
        int offset = parser.getStringOffset();
        int length = parser.getStringLength();
        java.nio.ByteBuffer bytes = StandardCharsets.UTF_8.encode(java.nio.CharBuffer.wrap(chars, offset, length));
        byte[] out = new byte[bytes.remaining()];
        bytes.get(out);
        Arrays.fill(bytes.array(), (byte) 0);
        return out;
    }

    private static RotationEvent parseRotation(String json) {
        String name = null;
        String current = null;
        String previous = null;
        Instant rotatedAt = null;
        try (JsonParser parser = JSON.createParser(ObjectReadContext.empty(), json)) {
            expect(parser.nextToken(), JsonToken.START_OBJECT);
            while (parser.nextToken() == JsonToken.PROPERTY_NAME) {
                String field = parser.currentName();
                parser.nextToken();
                switch (field) {
                    case "name" -> name = parser.getString();
                    case "currentVersion" -> current = parser.getString();
                    case "previousVersion" -> previous = parser.getString();
                    case "rotatedAt" -> rotatedAt = Instant.parse(parser.getString());
                    default -> parser.skipChildren();
                }
            }
        }
        return new RotationEvent(name, current, previous, rotatedAt);
    }

    private static void expect(JsonToken actual, JsonToken expected) {
        if (actual != expected) {
            throw new KeybrokerException(200, "Unexpected answer", "expected " + expected + " but found " + actual,
                    null);
        }
    }

    @Override
    public void close() {
        cache.clear();
    }

    /** Builds a {@link KeybrokerClient}. */
    public static final class Builder {
        private URI base = URI.create("https://127.0.0.1:8443");
        private SSLContext ssl;
        private Duration timeout = Duration.ofSeconds(5);
        private Duration cacheTtl = Duration.ofSeconds(30);
        private Clock clock = Clock.systemUTC();

        public Builder baseUri(URI base) {
            this.base = base;
            return this;
        }

        /**
         * The workload's certificate and key, and the CA bundle of the broker's certificate (PEM files). The key
         * may be PKCS#8, PKCS#1 RSA or SEC1 EC, unencrypted. The files are re-read when they change (a
         * cert-manager renewal): the next connection uses the new ones.
         */
        public Builder tls(Path certificate, Path privateKey, Path caBundle) {
            this.ssl = PemSsl.context(certificate, privateKey, caBundle);
            return this;
        }

        public Builder sslContext(SSLContext context) {
            this.ssl = context;
            return this;
        }

        public Builder timeout(Duration timeout) {
            this.timeout = timeout;
            return this;
        }

        public Builder cacheTtl(Duration ttl) {
            this.cacheTtl = ttl;
            return this;
        }

        public Builder clock(Clock clock) {
            this.clock = clock;
            return this;
        }

        public KeybrokerClient build() {
            if (ssl == null) {
                throw new IllegalStateException("call tls(certificate, key, caBundle) or sslContext(...): the broker "
                        + "only accepts mutual TLS");
            }
            return new KeybrokerClient(this);
        }
    }
}
