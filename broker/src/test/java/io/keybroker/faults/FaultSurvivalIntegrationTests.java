package io.keybroker.faults;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.awaitility.Awaitility.await;

import io.keybroker.policy.PolicyReloadListener;
import io.keybroker.policy.PolicySet;
import io.keybroker.testsupport.BrokerFixture;
import io.keybroker.testsupport.LoadGenerator;
import io.keybroker.testsupport.OpenBaoServer;
import io.keybroker.testsupport.RunningBroker;
import io.keybroker.testsupport.TestPki;
import io.keybroker.testsupport.ToxiproxyServer;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.math.BigInteger;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.security.cert.X509Certificate;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.AtomicReference;
import java.util.stream.Stream;
import javax.net.ssl.SSLContext;
import javax.net.ssl.SSLParameters;
import javax.net.ssl.SSLSocket;
import org.junit.jupiter.api.Test;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.springframework.boot.test.context.TestConfiguration;
import org.springframework.context.annotation.Bean;
import tools.jackson.databind.JsonNode;
import tools.jackson.databind.json.JsonMapper;

/**
 * Fault survival: a whole broker reads from a real OpenBao through a real Toxiproxy while mTLS clients read
 * without pause, and the test injects, one after the other: 2 s of latency on every Vault answer, connection
 * resets, a blackhole, the OpenBao process killed and restarted, a server certificate and trust bundle swapped
 * on disk the way the kubelet updates a cert-manager Secret volume, and a policy reload that takes a grant from
 * one identity and gives it to another.
 *
 * <p>What must hold: no read of a cached, granted secret fails during faults 1 to 5; after each backend fault
 * the broker reads fresh data from the backend again; no request sent after the reload took effect gets the
 * withdrawn grant; an identity that was never granted never gets a 200. The counts per phase are logged.
 */
class FaultSurvivalIntegrationTests {

    private static final Logger log = LoggerFactory.getLogger(FaultSurvivalIntegrationTests.class);
    private static final JsonMapper JSON = JsonMapper.builder().build();

    private static final String NEWCOMER = "spiffe://cluster.local/ns/payments/sa/newcomer";
    private static final String INTRUDER = "spiffe://cluster.local/ns/payments/sa/intruder";
    private static final String SECRET_KEY = "stripe/secret-key";
    private static final String WEBHOOK = "stripe/webhook-secret";
    private static final String PUBLISHABLE = "stripe/publishable-key";
    private static final String RESTRICTED = "stripe/restricted/reporting";
    /** Versions written before the restart; the restarted (empty) dev server gets one more each. */
    private static final Map<String, Integer> VERSIONS = Map.of(SECRET_KEY, 2, WEBHOOK, 1, PUBLISHABLE, 1,
            RESTRICTED, 1);

    /** How long each fault is held once the broker has felt it. */
    private static final Duration WINDOW = Duration.ofSeconds(3);
    private static final Duration PATIENCE = Duration.ofSeconds(30);

    private static final String POLICY_HEADER = """
            apiVersion: keybroker/v1
            kind: Policy
            metadata:
              name: %s
            spec:
              workloads:
            """;
    private static final String CHECKOUT_POLICY = POLICY_HEADER.formatted("checkout") + """
                - identity: %s
                  application: checkout
                  allow:
                    - secrets: [stripe/secret-key]
                      stages: [current, previous]
                    - secrets: [stripe/webhook-secret, stripe/publishable-key]
                      stages: [current]
            """.formatted(BrokerFixture.CHECKOUT);
    private static final String REPORTING_POLICY = POLICY_HEADER.formatted("reporting") + """
                - identity: %s
                  application: reporting
                  allow:
                    - secrets: [%s]
                      stages: [current]
                - identity: %s
                  application: newcomer
                  allow:
                    - secrets: [%s]
                      stages: [current]
            """;

    private static String value(String name, int version) {
        return "sk_test_fault" + name.replaceAll("[^a-z]", "") + "v" + version + "q".repeat(12);
    }

    /** Records when a policy reload took effect: the store is replaced before listeners hear of it. */
    @TestConfiguration(proxyBeanMethods = false)
    static class ReloadClock {
        @Bean
        ReloadRecorder reloadRecorder() {
            return new ReloadRecorder();
        }
    }

    static final class ReloadRecorder implements PolicyReloadListener {
        final AtomicLong reloadedAt = new AtomicLong();
        final List<String> failures = new CopyOnWriteArrayList<>();

        @Override
        public void reloaded(PolicySet set) {
            reloadedAt.compareAndSet(0, System.nanoTime());
        }

        @Override
        public void reloadFailed(List<String> errors) {
            failures.addAll(errors);
        }
    }

    private OpenBaoServer bao;
    private ToxiproxyServer toxiproxy;
    private RunningBroker broker;
    private LoadGenerator load;
    private final HttpClient management = HttpClient.newHttpClient();
    /** The current version each stream saw last, to tell when the restarted backend's data arrived. */
    private final Map<String, String> seenVersion = new ConcurrentHashMap<>();
    private final Map<String, String> figures = new LinkedHashMap<>();

    @Test
    void shouldServeEveryCachedReadThroughBackendFaultsAndTlsRotationAndEnforceAReloadedPolicyAtOnce()
            throws Exception {
        BrokerFixture fixture = BrokerFixture.create();
        try {
            bao = OpenBaoServer.start("faults");
            seed(0);
            toxiproxy = ToxiproxyServer.start();
            int proxyPort = toxiproxy.proxy("vault", "127.0.0.1:" + bao.port());

            Path policyDir = Files.createDirectories(fixture.dir().resolve("fault-policy"));
            Files.writeString(policyDir.resolve("checkout.yaml"), CHECKOUT_POLICY);
            writeAtomically(policyDir.resolve("reporting.yaml"),
                    REPORTING_POLICY.formatted(BrokerFixture.REPORTING, RESTRICTED, NEWCOMER, PUBLISHABLE));
            Path tls = fixture.dir().resolve("tls");
            kubeletWrite(tls, "..v1", fixture.server(), List.of(fixture.ca().certificate()));

            Map<String, String> properties = new LinkedHashMap<>(fixture.properties());
            properties.put("keybroker.environment", "prod");
            properties.put("keybroker.backend", "vault");
            properties.put("spring.cloud.vault.uri", "http://127.0.0.1:" + proxyPort);
            properties.put("spring.cloud.vault.token", OpenBaoServer.ROOT_TOKEN);
            // A 3 s ttl makes the cache re-read every secret every 2.4 s (refresh ahead at 80%), so each fault
            // meets reads in flight and entries that expire while the backend is away; max-stale covers the test.
            properties.put("keybroker.cache.ttl", "3s");
            properties.put("keybroker.cache.max-stale", "5m");
            properties.put("keybroker.rotation.poll-interval", "500ms");
            // 3 s instead of the default 5 s, so that each fault is felt (a call that times out) sooner; with 2 s
            // of latency a read (metadata and two versions) then cannot finish, a marker poll (one call) can.
            properties.put("keybroker.vault.timeout", "3s");
            properties.put("keybroker.policy.dir", policyDir.toString());
            properties.put("keybroker.tls.certificate", tls.resolve("tls.crt").toString());
            properties.put("keybroker.tls.private-key", tls.resolve("tls.key").toString());
            properties.put("keybroker.tls.trust-bundle", tls.resolve("ca.crt").toString());
            broker = RunningBroker.start(properties, ReloadClock.class);
            ReloadRecorder reloads = broker.bean(ReloadRecorder.class);

            TestPki.Cert reporting = TestPki.workload(fixture.ca(), BrokerFixture.REPORTING);
            TestPki.Cert newcomer = TestPki.workload(fixture.ca(), NEWCOMER);
            TestPki.Cert intruder = TestPki.workload(fixture.ca(), INTRUDER);
            for (String name : List.of(SECRET_KEY, WEBHOOK, PUBLISHABLE)) {
                awaitOk(TestPki.httpClient(fixture.ca(), fixture.checkout()), name);
            }
            awaitOk(TestPki.httpClient(fixture.ca(), reporting), RESTRICTED);
            await("four secrets cached").atMost(PATIENCE).until(() -> metric("keybroker_cache_size") >= 4);

            AtomicReference<BigInteger> servedSerial = new AtomicReference<>();
            load = new LoadGenerator()
                    .stream("checkout " + SECRET_KEY, 1, () -> checked("checkout", fixture, fixture.checkout(),
                            SECRET_KEY))
                    .stream("checkout " + WEBHOOK, 1, () -> checked("checkout", fixture, fixture.checkout(), WEBHOOK))
                    .stream("checkout " + PUBLISHABLE, 1, () -> checked("checkout", fixture, fixture.checkout(),
                            PUBLISHABLE))
                    .stream("reporting " + RESTRICTED, 1, () -> checked("reporting", fixture, reporting, RESTRICTED))
                    // A new TLS connection per request, so that handshakes happen while the files are swapped.
                    // A new SSL context each time, as its session cache would otherwise resume the first session.
                    .stream("new-connection " + SECRET_KEY, 1, () -> () -> freshConnectionGet(
                            TestPki.sslContext(fixture.ca(), fixture.checkout()), "/v1/secrets/" + SECRET_KEY,
                            servedSerial))
                    .stream("newcomer " + RESTRICTED, 1, () -> LoadGenerator.get(
                            TestPki.httpClient(fixture.ca(), newcomer), request(RESTRICTED)))
                    .stream("intruder " + SECRET_KEY, 1, () -> LoadGenerator.get(
                            TestPki.httpClient(fixture.ca(), intruder), request(SECRET_KEY)));
            load.phase("steady");
            load.start();
            await("load running").atMost(PATIENCE)
                    .until(() -> grantedStreams().allMatch(s -> load.count(s, "200") > 50));

            backendFault("1 latency 2s", () -> toxiproxy.addLatency("vault", Duration.ofSeconds(2)),
                    () -> toxiproxy.removeLatency("vault"));
            backendFault("2 reset_peer", () -> toxiproxy.addResetPeer("vault", Duration.ZERO),
                    () -> toxiproxy.removeToxic("vault", "reset_peer"));
            backendFault("3 blackhole", () -> toxiproxy.addBlackhole("vault"),
                    () -> toxiproxy.removeToxic("vault", "timeout"));
            backendFault("4 backend killed", bao::stop, () -> {
                // The dev server comes back empty. Seed it before the broker can reach it: a broker that sees the
                // secrets missing rightly drops them (the backend says they were deleted), which is not the fault
                // under test here.
                toxiproxy.setEnabled("vault", false);
                bao.start();
                seed(1);
                toxiproxy.setEnabled("vault", true);
            });
            await("every secret read again from the restarted backend").atMost(PATIENCE).untilAsserted(() ->
                    assertThat(seenVersion).containsAllEntriesOf(Map.of("checkout " + SECRET_KEY, "3",
                            "checkout " + WEBHOOK, "2", "checkout " + PUBLISHABLE, "2",
                            "reporting " + RESTRICTED, "2")));

            // 5: cert-manager renews the server certificate and the trust bundle gains a second CA.
            load.phase("5 tls rotation");
            TestPki.Cert secondCa = TestPki.ca("Second CA");
            SSLContext fromSecondCa = TestPki.sslContext(fixture.ca(),
                    TestPki.workload(secondCa, BrokerFixture.CHECKOUT));
            assertThatThrownBy(() -> freshConnectionGet(fromSecondCa, "/v1/secrets/" + SECRET_KEY,
                    new AtomicReference<>()))
                    .isInstanceOf(IOException.class);
            TestPki.Cert renewed = TestPki.server(fixture.ca());
            long swapped = System.nanoTime();
            kubeletWrite(tls, "..v2", renewed, List.of(fixture.ca().certificate(), secondCa.certificate()));
            await("new handshakes get the renewed certificate").atMost(PATIENCE).until(() ->
                    renewed.certificate().getSerialNumber().equals(servedSerial.get()));
            await("the second CA is trusted").atMost(PATIENCE).ignoreExceptions().until(() ->
                    "200".equals(freshConnectionGet(fromSecondCa, "/v1/secrets/" + SECRET_KEY,
                            new AtomicReference<>())));
            figures.put("5 tls rotation", "in force after " + millisSince(swapped) + " ms");
            holdWindow();

            // 6: the reporting workload loses stripe/restricted/reporting, the newcomer gains it.
            load.phase("6 policy reload");
            long written = System.nanoTime();
            writeAtomically(policyDir.resolve("reporting.yaml"), REPORTING_POLICY.formatted(BrokerFixture.REPORTING,
                    PUBLISHABLE, NEWCOMER, RESTRICTED + ", " + PUBLISHABLE));
            await("policy reloaded").atMost(PATIENCE).until(() -> reloads.reloadedAt.get() != 0);
            long reloadedAt = reloads.reloadedAt.get();
            figures.put("6 policy reload", "in force " + (reloadedAt - written) / 1_000_000 + " ms after the write");
            await("the newcomer is served and the reporting workload refused").atMost(PATIENCE).until(() ->
                    load.count("newcomer " + RESTRICTED, "200") > 50
                            && load.count("reporting " + RESTRICTED, "403") > 50);
            load.stop();

            log.info("Fault survival, requests per phase and stream (outcome = HTTP status):\n{}Faults:\n{}",
                    load.report(), String.join("\n", figures.entrySet().stream()
                            .map(e -> "  " + e.getKey() + ": " + e.getValue()).toList()));

            List<String> beforeReload = load.phases().stream().filter(p -> !p.startsWith("6")).toList();
            for (String stream : grantedStreams().toList()) {
                for (String phase : beforeReload) {
                    assertThat(load.outcomes(phase, stream).keySet()).as("%s during %s", stream, phase)
                            .containsOnly("200");
                }
            }
            for (String stream : grantedStreams().filter(s -> !s.startsWith("reporting")).toList()) {
                assertThat(load.outcomes("6 policy reload", stream).keySet()).as(stream).containsOnly("200");
            }
            assertThat(reloads.failures).isEmpty();
            assertThat(load.outcomes("6 policy reload", "reporting " + RESTRICTED).keySet()).containsOnly("200", "403");
            assertThat(load.lastSent("reporting " + RESTRICTED, "200"))
                    .as("no request sent after the reload took effect is granted the withdrawn secret")
                    .isLessThan(reloadedAt);
            assertThat(load.outcomes("newcomer " + RESTRICTED).keySet()).containsOnly("200", "403");
            assertThat(load.firstAnswered("newcomer " + RESTRICTED, "200"))
                    .as("the newcomer is served only after its grant was written").isGreaterThan(written);
            // Refused every time: 403, or 429 once it passes the rate limit that identities without a policy entry
            // get too (so that one cannot flood the audit volume with denials).
            assertThat(load.outcomes("intruder " + SECRET_KEY).keySet()).as("an identity never granted")
                    .contains("403").isSubsetOf("403", "429");
        } catch (Throwable failure) {
            if (load != null) {
                log.error("Fault survival failed; requests so far:\n{}Faults:\n{}", load.report(), figures);
            }
            throw failure;
        } finally {
            if (load != null) {
                load.stop();
            }
            if (broker != null) {
                broker.close();
            }
            if (toxiproxy != null) {
                toxiproxy.close();
            }
            if (bao != null) {
                bao.close();
            }
            deleteTree(fixture.dir());
        }
    }

    /**
     * Injects a backend fault, waits until the broker has felt it (a failed backend call), holds it for the
     * window, lifts it, and waits for fresh backend reads again.
     */
    private void backendFault(String name, Runnable inject, Runnable lift) throws Exception {
        load.phase(name);
        double errors = metric("keybroker_backend_calls_total", "outcome=\"error\"");
        double stale = metric("keybroker_cache_requests_total", "result=\"stale\"");
        inject.run();
        long injected = System.nanoTime();
        await(name + " felt by the broker").atMost(PATIENCE)
                .until(() -> metric("keybroker_backend_calls_total", "outcome=\"error\"") > errors);
        long felt = millisSince(injected);
        holdWindow();
        lift.run();
        load.phase(name + " lifted");
        long lifted = System.nanoTime();
        double reads = metric("keybroker_backend_calls_total", "operation=\"read\"", "outcome=\"ok\"");
        // Every cached secret is read at least once more, so "fresh reads resumed" is not one lucky call.
        await("fresh backend reads after " + name).atMost(PATIENCE)
                .until(() -> metric("keybroker_backend_calls_total", "operation=\"read\"", "outcome=\"ok\"")
                        >= reads + VERSIONS.size());
        figures.put(name, String.format("felt after %d ms; %.0f failed backend calls, %.0f answers served stale; "
                        + "%d fresh reads again %d ms after it was lifted", felt,
                metric("keybroker_backend_calls_total", "outcome=\"error\"") - errors,
                metric("keybroker_cache_requests_total", "result=\"stale\"") - stale, VERSIONS.size(),
                millisSince(lifted)));
    }

    /**
     * Keeps the fault for {@link #WINDOW} while the load runs, failing at once if a granted read has failed (all
     * windows come before the policy reload, so every granted stream must have had only 200s).
     */
    private void holdWindow() {
        await().during(WINDOW).atMost(WINDOW.plusSeconds(5))
                .failFast("a read of a granted, cached secret failed", () -> grantedStreams()
                        .anyMatch(stream -> load.outcomes(stream).keySet().stream().anyMatch(o -> !o.equals("200"))))
                .until(() -> true);
    }

    private static Stream<String> grantedStreams() {
        return Stream.of("checkout " + SECRET_KEY, "checkout " + WEBHOOK, "checkout " + PUBLISHABLE,
                "reporting " + RESTRICTED, "new-connection " + SECRET_KEY);
    }

    /** A keep-alive client reading {@code name}; a 200 counts only if its versions and values are right. */
    private LoadGenerator.Call checked(String workload, BrokerFixture fixture, TestPki.Cert client, String name) {
        HttpClient http = TestPki.httpClient(fixture.ca(), client);
        String stream = workload + " " + name;
        HttpRequest request = request(name);
        return () -> {
            HttpResponse<String> response = http.send(request, HttpResponse.BodyHandlers.ofString());
            if (response.statusCode() != 200) {
                return Integer.toString(response.statusCode());
            }
            JsonNode body = JSON.readTree(response.body());
            int current = Integer.parseInt(body.path("current").path("version").asString());
            boolean right = body.path("current").path("value").asString().equals(value(name, current));
            if (body.has("previous")) {
                int previous = Integer.parseInt(body.path("previous").path("version").asString());
                right &= previous == current - 1
                        && body.path("previous").path("value").asString().equals(value(name, previous));
            }
            seenVersion.put(stream, Integer.toString(current));
            return right ? "200" : "200 with wrong versions or values";
        };
    }

    private HttpRequest request(String name) {
        return HttpRequest.newBuilder(broker.uri("/v1/secrets/" + name)).timeout(Duration.ofSeconds(20)).build();
    }

    private void awaitOk(HttpClient client, String name) {
        await(name + " served").atMost(PATIENCE).ignoreExceptions().until(() ->
                client.send(request(name), HttpResponse.BodyHandlers.discarding()).statusCode() == 200);
    }

    /**
     * One GET over a new TLS connection (and {@code Connection: close}); with a context that holds no session,
     * that is a full handshake against the listener's current certificate and trust bundle. Notes the server
     * certificate's serial.
     */
    private String freshConnectionGet(SSLContext ssl, String path, AtomicReference<BigInteger> serial)
            throws IOException {
        try (SSLSocket socket = (SSLSocket) ssl.getSocketFactory().createSocket("127.0.0.1", broker.port())) {
            socket.setSoTimeout(20_000);
            SSLParameters parameters = socket.getSSLParameters();
            parameters.setEndpointIdentificationAlgorithm("HTTPS");
            parameters.setProtocols(new String[] {"TLSv1.3", "TLSv1.2"});
            socket.setSSLParameters(parameters);
            socket.startHandshake();
            serial.set(((X509Certificate) socket.getSession().getPeerCertificates()[0]).getSerialNumber());
            OutputStream out = socket.getOutputStream();
            out.write(("GET " + path + " HTTP/1.1\r\nHost: 127.0.0.1:" + broker.port()
                    + "\r\nConnection: close\r\n\r\n").getBytes(StandardCharsets.US_ASCII));
            out.flush();
            InputStream in = socket.getInputStream();
            ByteArrayOutputStream answer = new ByteArrayOutputStream();
            in.transferTo(answer);
            String text = answer.toString(StandardCharsets.US_ASCII);
            if (!text.startsWith("HTTP/1.1 ")) {
                throw new IOException("no HTTP answer (" + answer.size() + " bytes)");
            }
            return text.substring(9, 12);
        }
    }

    /** Writes each secret's versions 1..n (n+more); values follow {@link #value} so a reader can check them. */
    private void seed(int more) {
        OpenBaoServer.Admin admin = bao.admin();
        VERSIONS.forEach((name, versions) -> {
            for (int v = 1; v <= versions + more; v++) {
                admin.kvPut("prod/" + name, Map.of("value", value(name, v)));
            }
        });
    }

    /** Sums the samples of a Prometheus metric from the management port whose labels contain every filter. */
    private double metric(String name, String... labels) throws Exception {
        String body = management.send(HttpRequest.newBuilder(broker.management("/actuator/prometheus")).build(),
                HttpResponse.BodyHandlers.ofString()).body();
        double sum = 0;
        for (String line : body.split("\n")) {
            if ((line.startsWith(name + "{") || line.startsWith(name + " "))
                    && Stream.of(labels).allMatch(line::contains)) {
                sum += Double.parseDouble(line.substring(line.lastIndexOf(' ') + 1));
            }
        }
        return sum;
    }

    /**
     * Writes TLS files the way the kubelet updates a Secret volume (cert-manager's Secret, here): the files go into
     * a new hidden directory, {@code ..data} is re-pointed at it in one rename, and the visible names are links
     * through {@code ..data}. Readers never see a mix of old and new files.
     */
    private static void kubeletWrite(Path dir, String version, TestPki.Cert server, List<X509Certificate> trust)
            throws IOException {
        Path data = Files.createDirectories(dir.resolve(version));
        server.writeCertificate(data.resolve("tls.crt"));
        server.writeKey(data.resolve("tls.key"));
        StringBuilder bundle = new StringBuilder();
        for (X509Certificate certificate : trust) {
            bundle.append(TestPki.pem(certificate));
        }
        Files.writeString(data.resolve("ca.crt"), bundle);
        Path link = dir.resolve("..data_tmp");
        Files.deleteIfExists(link);
        Files.createSymbolicLink(link, Path.of(version));
        Files.move(link, dir.resolve("..data"), StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
        for (String file : List.of("tls.crt", "tls.key", "ca.crt")) {
            if (!Files.exists(dir.resolve(file), LinkOption.NOFOLLOW_LINKS)) {
                Files.createSymbolicLink(dir.resolve(file), Path.of("..data", file));
            }
        }
    }

    /** Replaces a policy file in one rename, as a ConfigMap update does; the temporary file is outside the dir. */
    private static void writeAtomically(Path file, String content) throws IOException {
        Path tmp = file.getParent().resolveSibling(file.getFileName() + ".tmp");
        Files.writeString(tmp, content, StandardCharsets.UTF_8);
        Files.move(tmp, file, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
    }

    private static long millisSince(long nanos) {
        return (System.nanoTime() - nanos) / 1_000_000;
    }

    private static void deleteTree(Path dir) throws IOException {
        try (Stream<Path> paths = Files.walk(dir)) {
            List<Path> all = new ArrayList<>(paths.sorted(Comparator.reverseOrder()).toList());
            for (Path path : all) {
                Files.deleteIfExists(path);
            }
        }
    }
}
