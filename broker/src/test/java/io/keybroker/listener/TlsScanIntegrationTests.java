package io.keybroker.listener;

import static org.assertj.core.api.Assertions.assertThat;

import io.keybroker.testsupport.BrokerFixture;
import io.keybroker.testsupport.BrokerProcess;
import io.keybroker.testsupport.OpenBaoServer;
import io.keybroker.testsupport.TestPki;
import java.lang.reflect.Method;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import javax.net.ssl.SSLContext;
import javax.net.ssl.SSLParameters;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import tools.jackson.databind.JsonNode;
import tools.jackson.databind.json.JsonMapper;

/**
 * The listener as a TLS scanner sees it: the real {@code sslyze} against the broker process started from the
 * jar (so the JVM-wide settings of its {@code main} are in force, as in production), presenting a workload
 * certificate. Without one the broker ends every handshake, and sslyze would report each TLS 1.2 suite as
 * refused for that reason rather than for the suite. The scan runs once; each test reads its JSON.
 */
@Tag("jar")
class TlsScanIntegrationTests {

    private static final JsonMapper JSON = JsonMapper.builder().build();
    private static final List<String> SCANS = List.of("--sslv2", "--sslv3", "--tlsv1", "--tlsv1_1", "--tlsv1_2",
            "--tlsv1_3", "--reneg", "--compression", "--heartbleed", "--robot", "--fallback", "--openssl_ccs",
            "--elliptic_curves", "--early_data", "--ems");

    private static BrokerFixture fixture;
    private static BrokerProcess broker;
    private static JsonNode scan;

    @BeforeAll
    static void scan() throws Exception {
        fixture = BrokerFixture.create();
        broker = BrokerProcess.start(fixture, Map.of());
        Path cert = fixture.dir().resolve("checkout.pem");
        Path key = fixture.dir().resolve("checkout-key.pem");
        fixture.checkout().writeCertificate(cert);
        fixture.checkout().writeKey(key);
        Path json = fixture.dir().resolve("sslyze.json");
        List<String> command = new ArrayList<>(List.of(OpenBaoServer.tool("sslyze").toString(), "--quiet",
                "--json_out=" + json, "--cert", cert.toString(), "--key", key.toString(),
                "--mozilla_config=disable"));
        command.addAll(SCANS);
        command.add("127.0.0.1:" + broker.port());
        Path output = fixture.dir().resolve("sslyze.log");
        long started = System.nanoTime();
        Process sslyze = new ProcessBuilder(command).redirectErrorStream(true).redirectOutput(output.toFile())
                .start();
        assertThat(sslyze.waitFor(180, TimeUnit.SECONDS)).as("sslyze finished within 180 s").isTrue();
        assertThat(sslyze.exitValue()).as("sslyze exit status; output:\n" + Files.readString(output)).isZero();
        JsonNode report = JSON.readTree(Files.readString(json));
        scan = report.path("server_scan_results").path(0);
        assertThat(scan.path("connectivity_status").asString()).as(scan.path("connectivity_error_trace").toString())
                .isEqualTo("COMPLETED");
        System.out.printf("sslyze %s scanned the broker (Java %s) in %d ms%n",
                report.path("sslyze_version").asString(), System.getProperty("java.version"),
                TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - started));
    }

    @AfterAll
    static void stop() {
        if (broker != null) {
            broker.close();
        }
    }

    /** The result of one scan command, which must have run to completion (an error is not a pass). */
    private static JsonNode result(String command) {
        JsonNode attempt = scan.path("scan_result").path(command);
        assertThat(attempt.path("status").asString()).as(command + ": " + attempt.path("error_trace"))
                .isEqualTo("COMPLETED");
        return attempt.path("result");
    }

    private static List<String> accepted(String command) {
        List<String> names = new ArrayList<>();
        result(command).path("accepted_cipher_suites").forEach(suite ->
                names.add(suite.path("cipher_suite").path("name").asString()));
        return names;
    }

    @Test
    void shouldRefuseSsl2Ssl3Tls10AndTls11() {
        for (String command : List.of("ssl_2_0_cipher_suites", "ssl_3_0_cipher_suites", "tls_1_0_cipher_suites",
                "tls_1_1_cipher_suites")) {
            assertThat(result(command).path("is_tls_version_supported").asBoolean()).as(command).isFalse();
            assertThat(accepted(command)).as(command).isEmpty();
            assertThat(result(command).path("rejected_cipher_suites").size()).as(command).isPositive();
        }
    }

    @Test
    void shouldAcceptOnlyEcdheSuitesWithAeadCiphersOnTls12() {
        List<String> suites = accepted("tls_1_2_cipher_suites");
        System.out.println("TLS 1.2 suites accepted: " + suites);
        // A handshake with the workload certificate works, so every refusal above is about the protocol.
        assertThat(suites).isNotEmpty().allSatisfy(suite -> assertThat(suite).startsWith("TLS_ECDHE_")
                .containsAnyOf("_GCM_", "_CHACHA20_POLY1305_"));
        result("tls_1_2_cipher_suites").path("accepted_cipher_suites").forEach(suite ->
                assertThat(suite.path("ephemeral_key").path("type_name").asString()).isEqualTo("ECDH"));
    }

    @Test
    void shouldAcceptTls13WithItsAeadSuites() {
        assertThat(result("tls_1_3_cipher_suites").path("is_tls_version_supported").asBoolean()).isTrue();
        assertThat(accepted("tls_1_3_cipher_suites")).isNotEmpty().isSubsetOf("TLS_AES_128_GCM_SHA256",
                "TLS_AES_256_GCM_SHA384", "TLS_CHACHA20_POLY1305_SHA256");
        assertThat(result("tls_1_3_early_data").path("supports_early_data").asBoolean()).isFalse();
    }

    @Test
    void shouldRefuseInsecureAndClientInitiatedRenegotiation() {
        JsonNode renegotiation = result("session_renegotiation");
        assertThat(renegotiation.path("supports_secure_renegotiation").asBoolean()).isTrue();
        assertThat(renegotiation.path("is_vulnerable_to_client_renegotiation_dos").asBoolean()).isFalse();
        assertThat(renegotiation.path("client_renegotiations_success_count").asInt()).isZero();
    }

    @Test
    void shouldNeverCompress() {
        assertThat(result("tls_compression").path("supports_compression").asBoolean()).isFalse();
    }

    @Test
    void shouldResistHeartbleedRobotCcsInjectionAndDowngrade() {
        assertThat(result("heartbleed").path("is_vulnerable_to_heartbleed").asBoolean()).isFalse();
        assertThat(result("robot").path("robot_result").asString()).startsWith("NOT_VULNERABLE");
        assertThat(result("openssl_ccs_injection").path("is_vulnerable_to_ccs_injection").asBoolean()).isFalse();
        assertThat(result("tls_fallback_scsv").path("supports_fallback_scsv").asBoolean()).isTrue();
        assertThat(result("tls_extended_master_secret").path("supports_ems_extension").asBoolean()).isTrue();
    }

    @Test
    void shouldOfferOnlyX25519P256AndP384AmongEllipticCurves() {
        List<String> curves = new ArrayList<>();
        result("elliptic_curves").path("supported_curves").forEach(curve -> curves.add(curve.path("name")
                .asString()));
        System.out.println("Elliptic-curve groups accepted (Java " + System.getProperty("java.version") + "): "
                + curves);
        // sslyze's OpenSSL 1.1.1 knows no hybrid group, so X25519MLKEM768 cannot show here whatever the JDK.
        assertThat(curves).containsExactlyInAnyOrder("X25519", "secp256r1", "secp384r1");
    }

    @Test
    void shouldOfferTheHybridPostQuantumGroupFirstOnBoringSslOrExactlyWhenTheJdkHasIt() throws Exception {
        String line = broker.log().lines().filter(l -> l.contains("TLS key-exchange groups of the listener"))
                .findFirst().orElseThrow();
        System.out.println(line.substring(line.indexOf("TLS key-exchange")));
        if (line.contains("BoringSSL")) {
            // The default provider where netty-tcnative loads: the hybrid group on every JDK (a BoringSSL client
            // offering only that group is ListenerTlsProviderIntegrationTests' handshake).
            assertThat(line).contains("X25519MLKEM768,X25519,P-256,P-384");
            return;
        }
        // The broker runs on the JDK of this test JVM, so this JVM can tell what that JDK's TLS stack has.
        boolean hybrid = jdkGroups().stream().anyMatch("X25519MLKEM768"::equalsIgnoreCase);
        if (!hybrid) {
            assertThat(line).contains("x25519,secp256r1,secp384r1").doesNotContain("X25519MLKEM768,");
            return;
        }
        assertThat(line).contains("X25519MLKEM768,x25519,secp256r1,secp384r1");
        // A client that offers nothing but the hybrid group still gets a session.
        SSLParameters parameters = new SSLParameters();
        parameters.setProtocols(new String[] {"TLSv1.3"});
        SSLParameters.class.getMethod("setNamedGroups", String[].class).invoke(parameters,
                (Object) new String[] {"X25519MLKEM768"});
        HttpClient client = HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1)
                .sslContext(TestPki.sslContext(fixture.ca(), fixture.checkout())).sslParameters(parameters)
                .connectTimeout(Duration.ofSeconds(5)).build();
        HttpResponse<String> response = client.send(HttpRequest.newBuilder(broker.uri("/v1/secrets/stripe/missing"))
                .timeout(Duration.ofSeconds(10)).build(), HttpResponse.BodyHandlers.ofString(StandardCharsets.UTF_8));
        assertThat(response.statusCode()).isEqualTo(404);
    }

    /** The named groups this JDK's TLS stack supports; none listed before Java 20, which has no such API. */
    private static List<String> jdkGroups() throws Exception {
        Method get;
        try {
            get = SSLParameters.class.getMethod("getNamedGroups");
        } catch (NoSuchMethodException ex) {
            return List.of();
        }
        return Arrays.asList((String[]) get.invoke(SSLContext.getDefault().getSupportedSSLParameters()));
    }
}
