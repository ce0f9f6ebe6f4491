package io.keybroker.testsupport;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.awaitility.Awaitility;

/**
 * The broker as it ships: {@code java -jar keybroker.jar} in its own process, with a {@link BrokerFixture}'s
 * files, on free loopback ports, started with the same JDK as the tests.
 *
 * <p>For tests whose claim is about the process: what its {@code main} sets JVM-wide before any TLS class loads
 * (a scan of an in-JVM broker would see the test JVM's TLS settings instead), or what its heap holds (a dump
 * of the test JVM would also hold the test's own copies of every value). The jar exists only after
 * {@code package}, so such tests carry {@code @Tag("jar")} and run under maven-failsafe in
 * {@code integration-test}; surefire leaves them out. The jar is the system property {@code keybroker.jar}
 * (set by the failsafe configuration), else {@code target/keybroker.jar}.
 */
public final class BrokerProcess implements AutoCloseable {

    private final Process process;
    private final int port;
    private final int managementPort;
    private final Path log;

    private BrokerProcess(Process process, int port, int managementPort, Path log) {
        this.process = process;
        this.port = port;
        this.managementPort = managementPort;
        this.log = log;
    }

    /**
     * Starts the jar with {@code fixture.properties()}, then {@code overrides}, and waits until it is ready.
     *
     * @param overrides {@code keybroker.*} settings that replace or add to the fixture's
     */
    public static BrokerProcess start(BrokerFixture fixture, Map<String, String> overrides) {
        return start(fixture, overrides, Map.of());
    }

    /**
     * As {@link #start(BrokerFixture, Map)}, with {@code environment} added to the process's environment variables
     * (what a pod's kubelet injects, for example).
     */
    public static BrokerProcess start(BrokerFixture fixture, Map<String, String> overrides,
            Map<String, String> environment) {
        Path jar = Path.of(System.getProperty("keybroker.jar", "target/keybroker.jar")).toAbsolutePath();
        if (!Files.isRegularFile(jar)) {
            throw new IllegalStateException(jar + " does not exist: this test needs the packaged broker; run it in "
                    + "the integration-test phase (./mvnw -pl broker verify -Dit.test=...), which comes after "
                    + "package");
        }
        int port = OpenBaoServer.freePort();
        int managementPort = OpenBaoServer.freePort();
        Map<String, String> properties = new LinkedHashMap<>(fixture.properties());
        properties.put("keybroker.listen.port", Integer.toString(port));
        properties.put("keybroker.management.port", Integer.toString(managementPort));
        properties.putAll(overrides);
        List<String> command = new ArrayList<>(List.of(
                Path.of(System.getProperty("java.home"), "bin", "java").toString(),
                // As the sidecar image runs it; a bounded heap keeps the process (and any dump of it) small.
                "-XX:+UseSerialGC", "-Xmx256m", "-jar", jar.toString()));
        properties.forEach((key, value) -> command.add("--" + key + "=" + value));
        Path log = fixture.dir().resolve("broker-process.log");
        ProcessBuilder builder = new ProcessBuilder(command).redirectErrorStream(true).redirectOutput(log.toFile());
        // The tests' own variable would reach the broker as the unknown property keybroker.tools.bin.
        builder.environment().remove("KEYBROKER_TOOLS_BIN");
        builder.environment().putAll(environment);
        Process process;
        try {
            process = builder.start();
        } catch (IOException ex) {
            throw new UncheckedIOException("cannot start " + command.get(0), ex);
        }
        BrokerProcess broker = new BrokerProcess(process, port, managementPort, log);
        try {
            broker.awaitReady();
        } catch (RuntimeException ex) {
            broker.close();
            throw ex;
        }
        return broker;
    }

    private void awaitReady() {
        HttpClient http = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(2)).build();
        HttpRequest readiness = HttpRequest.newBuilder(management("/actuator/health/readiness"))
                .timeout(Duration.ofSeconds(2)).build();
        Awaitility.await("broker process ready (log in " + log + ")")
                .atMost(Duration.ofSeconds(120))
                .pollInterval(Duration.ofMillis(200))
                .until(() -> {
                    if (!process.isAlive()) {
                        throw new IllegalStateException("the broker exited with " + process.exitValue() + ":\n"
                                + log());
                    }
                    try {
                        return http.send(readiness, HttpResponse.BodyHandlers.discarding()).statusCode() == 200;
                    } catch (IOException ex) {
                        return false;
                    }
                });
    }

    public long pid() {
        return process.pid();
    }

    public int port() {
        return port;
    }

    public URI uri(String path) {
        return URI.create("https://127.0.0.1:" + port + path);
    }

    public URI management(String path) {
        return URI.create("http://127.0.0.1:" + managementPort + path);
    }

    /** Everything the process printed so far. */
    public String log() {
        try {
            return Files.readString(log, StandardCharsets.UTF_8);
        } catch (IOException ex) {
            throw new UncheckedIOException(ex);
        }
    }

    @Override
    public void close() {
        process.destroy();
        try {
            if (!process.waitFor(20, TimeUnit.SECONDS)) {
                process.destroyForcibly();
                process.waitFor(10, TimeUnit.SECONDS);
            }
        } catch (InterruptedException ex) {
            Thread.currentThread().interrupt();
            process.destroyForcibly();
        }
    }
}
