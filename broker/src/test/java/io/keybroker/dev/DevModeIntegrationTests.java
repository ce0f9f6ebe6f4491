package io.keybroker.dev;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.keybroker.KeybrokerApplication;
import io.keybroker.testsupport.RunningBroker;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.security.KeyStore;
import java.security.cert.CertificateFactory;
import java.security.cert.X509Certificate;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import javax.net.ssl.KeyManagerFactory;
import javax.net.ssl.SSLContext;
import javax.net.ssl.TrustManagerFactory;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.api.io.TempDir;
import org.springframework.boot.SpringApplication;
import org.springframework.boot.ssl.pem.PemContent;
import org.springframework.boot.test.system.CapturedOutput;
import org.springframework.boot.test.system.OutputCaptureExtension;

@ExtendWith(OutputCaptureExtension.class)
class DevModeIntegrationTests {

    @TempDir
    Path dir;

    @Test
    void shouldCreateEverythingAndPrintACurlLineThatWorks(CapturedOutput output) throws Exception {
        try (RunningBroker broker = RunningBroker.start(Map.of("keybroker.dev", "true",
                "keybroker.dev-dir", dir.toString(), "keybroker.listen.port", "0", "keybroker.management.port", "0"))) {
            Matcher curl = Pattern.compile("curl --cacert (\\S+) --cert (\\S+) --key (\\S+) (https://\\S+)")
                    .matcher(output.getAll());
            assertThat(curl.find()).as("the curl line is printed").isTrue();
            assertThat(curl.group(4)).isEqualTo("https://127.0.0.1:" + broker.port()
                    + "/v1/secrets/stripe/secret-key");
            HttpClient client = HttpClient.newBuilder().sslContext(sslContext(Path.of(curl.group(1)),
                    Path.of(curl.group(2)), Path.of(curl.group(3)))).build();
            HttpResponse<String> response = client.send(HttpRequest.newBuilder(URI.create(curl.group(4))).build(),
                    HttpResponse.BodyHandlers.ofString());
            assertThat(response.statusCode()).isEqualTo(200);
            assertThat(response.body()).contains("\"current\"", "\"previous\"", "sk_test_");
            // A Set's iteration order is not part of its contract: compare sets, not their toString.
            assertThat(Files.getPosixFilePermissions(dir.resolve("client-key.pem")))
                    .isEqualTo(PosixFilePermissions.fromString("rw-------"));
        }
        String secrets = Files.readString(dir.resolve("secrets.yaml"));
        byte[] ca = Files.readAllBytes(dir.resolve("ca.pem"));
        // A second run reuses the files: same CA, same example secrets.
        try (RunningBroker again = RunningBroker.start(Map.of("keybroker.dev", "true",
                "keybroker.dev-dir", dir.toString(), "keybroker.listen.port", "0", "keybroker.management.port", "0"))) {
            assertThat(Files.readAllBytes(dir.resolve("ca.pem"))).isEqualTo(ca);
            assertThat(Files.readString(dir.resolve("secrets.yaml"))).isEqualTo(secrets);
        }
    }

    @Test
    void shouldRefuseANonLoopbackAddressInDevelopmentMode() {
        assertThatThrownBy(() -> RunningBroker.start(Map.of("keybroker.dev", "true", "keybroker.dev-dir",
                dir.toString(), "keybroker.listen.address", "0.0.0.0")))
                .hasStackTraceContaining("keybroker.listen.address");
    }

    @org.junit.jupiter.params.ParameterizedTest
    @org.junit.jupiter.params.provider.ValueSource(strings = {"server.address", "management.server.address",
            "keybroker.management.address"})
    void shouldRefuseANonLoopbackAddressInDevelopmentModeWhicheverPropertySetsIt(String property) {
        assertThatThrownBy(() -> RunningBroker.start(Map.of("keybroker.dev", "true", "keybroker.dev-dir",
                dir.toString(), "keybroker.listen.port", "0", "keybroker.management.port", "0", property,
                "0.0.0.0")))
                .hasStackTraceContaining("keybroker.dev=true refuses " + property);
    }

    @Test
    void shouldRefuseToStartWithoutCertificatesNamingTheProperties(CapturedOutput output) throws Exception {
        Files.createDirectories(dir.resolve("policy"));
        assertThatThrownBy(() -> new SpringApplication(KeybrokerApplication.class).run(
                "--keybroker.environment=prod", "--keybroker.policy.dir=" + dir.resolve("policy"),
                "--keybroker.listen.port=0", "--keybroker.management.port=0",
                "--keybroker.file.path=" + dir.resolve("none.yaml")))
                .isInstanceOf(Exception.class);
        assertThat(output.getAll()).contains("keybroker.tls.certificate is not set",
                "keybroker.tls.private-key is not set", "keybroker.tls.trust-bundle is not set");
        assertThat(dir.resolve("ca.pem")).doesNotExist();
    }

    private static SSLContext sslContext(Path ca, Path cert, Path key) throws Exception {
        KeyStore trust = KeyStore.getInstance("PKCS12");
        trust.load(null, null);
        try (var in = Files.newInputStream(ca)) {
            trust.setCertificateEntry("ca", CertificateFactory.getInstance("X.509").generateCertificate(in));
        }
        TrustManagerFactory tmf = TrustManagerFactory.getInstance("PKIX");
        tmf.init(trust);
        KeyStore keys = KeyStore.getInstance("PKCS12");
        keys.load(null, null);
        keys.setKeyEntry("client", PemContent.load(key).getPrivateKey(), new char[0],
                PemContent.load(cert).getCertificates().toArray(X509Certificate[]::new));
        KeyManagerFactory kmf = KeyManagerFactory.getInstance("PKIX");
        kmf.init(keys, new char[0]);
        SSLContext context = SSLContext.getInstance("TLS");
        context.init(kmf.getKeyManagers(), tmf.getTrustManagers(), null);
        return context;
    }
}
