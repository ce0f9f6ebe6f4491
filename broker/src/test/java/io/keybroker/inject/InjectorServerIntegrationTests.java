package io.keybroker.inject;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.keybroker.testsupport.TestPki;
import io.keybroker.testsupport.TestPki.Cert;
import java.io.IOException;
import java.io.InputStream;
import java.math.BigInteger;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.security.cert.X509Certificate;
import java.time.Duration;
import java.time.Instant;
import java.util.Base64;
import java.util.function.Predicate;
import java.util.function.Supplier;
import javax.net.ssl.SSLSocket;
import org.awaitility.Awaitility;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import tools.jackson.databind.JsonNode;
import tools.jackson.databind.json.JsonMapper;
import tools.jackson.databind.node.ObjectNode;
import tools.jackson.dataformat.yaml.YAMLMapper;

/**
 * {@code keybroker injector} over real HTTPS: an AdmissionReview posted the way the API server posts it, the
 * serving certificate replaced on disk as cert-manager renews it, and the template replaced as a
 * {@code helm upgrade} changes the ConfigMap. Changes are awaited by polling with a deadline.
 */
class InjectorServerIntegrationTests {

    private static final JsonMapper JSON = JsonMapper.builder().build();
    private static final Duration DEADLINE = Duration.ofSeconds(15);

    @TempDir
    Path dir;

    private Cert ca;
    private Path tls;
    private Path template;
    private InjectorServer server;
    private HttpClient client;

    @BeforeEach
    void start() throws IOException {
        ca = TestPki.ca("injector test CA");
        tls = Files.createDirectories(dir.resolve("tls"));
        writeServing(TestPki.server(ca));
        template = dir.resolve("injection.json");
        try (InputStream in = getClass().getResourceAsStream("/inject/injection.json")) {
            Files.copy(in, template);
        }
        server = new InjectorServer(template, tls, "127.0.0.1", 0, Duration.ofMillis(100));
        client = TestPki.httpClient(ca, null);
    }

    @AfterEach
    void stop() {
        server.close();
    }

    @Test
    void shouldAnswerAnAdmissionReviewPostedOverHttpsWithAPatch() throws Exception {
        HttpResponse<String> response = post(review());

        assertThat(response.statusCode()).isEqualTo(200);
        assertThat(response.headers().firstValue("Content-Type")).hasValue("application/json");
        JsonNode answer = JSON.readTree(response.body()).path("response");
        assertThat(answer.path("allowed").booleanValue()).isTrue();
        assertThat(patch(answer)).contains("\"restartPolicy\":\"Always\"").contains("KEYBROKER_URL");
    }

    @Test
    void shouldRefuseABodyThatIsNotJsonWithA400ThatSaysWhatToSend() throws Exception {
        HttpResponse<String> response = client.send(HttpRequest.newBuilder(mutateUri())
                .POST(HttpRequest.BodyPublishers.ofString("not json")).build(), HttpResponse.BodyHandlers.ofString());

        assertThat(response.statusCode()).isEqualTo(400);
        assertThat(response.body()).contains("AdmissionReview");
    }

    @Test
    void shouldServeARenewedCertificateWithoutRestarting() throws Exception {
        BigInteger before = servedSerial();
        Cert renewed = TestPki.server(ca);

        writeServing(renewed);

        assertThat(await(this::servedSerial, serial -> serial.equals(renewed.certificate().getSerialNumber())))
                .isNotEqualTo(before);
        assertThat(post(review()).statusCode()).isEqualTo(200);
    }

    @Test
    void shouldInjectByTheNewTemplateOnceTheConfigMapChanges() throws Exception {
        assertThat(patch(JSON.readTree(post(review()).body()).path("response"))).contains("\"memory\":\"192Mi\"");
        String changed = Files.readString(template).replace("\"memory\": \"192Mi\"", "\"memory\": \"224Mi\"");
        assertThat(changed).contains("224Mi");

        Path next = dir.resolve("injection.json.new");
        Files.writeString(next, changed);
        Files.move(next, template, StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.ATOMIC_MOVE);

        assertThat(await(this::patchOrEmpty, patch -> patch.contains("\"memory\":\"224Mi\""))).isNotEmpty();
    }

    @Test
    void shouldRefuseToStartWithoutItsFilesSayingWhichOptionToFix() {
        assertThatThrownBy(() -> new InjectorServer(dir.resolve("missing.json"), tls, "127.0.0.1", 0,
                Duration.ofSeconds(1)))
                .isInstanceOf(IOException.class).hasMessageContaining("point --template at the chart's injection.json");
        assertThatThrownBy(() -> new InjectorServer(template, dir.resolve("no-tls"), "127.0.0.1", 0,
                Duration.ofSeconds(1)))
                .isInstanceOf(IOException.class).hasMessageContaining("cannot load the serving certificate from "
                        + "--tls-dir");
    }

    // ---- helpers -------------------------------------------------------------------------------------------

    private void writeServing(Cert cert) throws IOException {
        // Written beside and moved into place, as the kubelet's atomic writer swaps a Secret's files.
        Path staging = Files.createTempDirectory(dir, "tls");
        cert.writeCertificate(staging.resolve("tls.crt"));
        cert.writeKey(staging.resolve("tls.key"));
        Files.writeString(staging.resolve("ca.crt"), TestPki.pem(ca.certificate()));
        for (String name : new String[] {"ca.crt", "tls.key", "tls.crt"}) {
            Files.move(staging.resolve(name), tls.resolve(name), StandardCopyOption.REPLACE_EXISTING,
                    StandardCopyOption.ATOMIC_MOVE);
        }
    }

    private BigInteger servedSerial() {
        try (SSLSocket socket = (SSLSocket) TestPki.sslContext(ca, null).getSocketFactory()
                .createSocket("127.0.0.1", server.port())) {
            socket.startHandshake();
            return ((X509Certificate) socket.getSession().getPeerCertificates()[0]).getSerialNumber();
        } catch (IOException ex) {
            throw new IllegalStateException(ex);
        }
    }

    private String patchOrEmpty() {
        try {
            return patch(JSON.readTree(post(review()).body()).path("response"));
        } catch (Exception ex) {
            return "";
        }
    }

    private static <T> T await(Supplier<T> probe, Predicate<T> done) {
        return Awaitility.await().atMost(DEADLINE).pollInterval(Duration.ofMillis(50))
                .until(probe::get, done::test);
    }

    private HttpResponse<String> post(String body) throws IOException, InterruptedException {
        return client.send(HttpRequest.newBuilder(mutateUri()).header("Content-Type", "application/json")
                .POST(HttpRequest.BodyPublishers.ofString(body)).build(), HttpResponse.BodyHandlers.ofString());
    }

    private URI mutateUri() {
        return URI.create("https://127.0.0.1:" + server.port() + "/mutate");
    }

    private static String patch(JsonNode response) {
        return new String(Base64.getDecoder().decode(response.path("patch").stringValue("")),
                StandardCharsets.UTF_8);
    }

    private String review() throws IOException {
        JsonNode pod;
        try (InputStream in = getClass().getResourceAsStream("/inject/deployment-pod.yaml")) {
            pod = YAMLMapper.builder().build().readTree(in);
        }
        ObjectNode review = JSON.createObjectNode();
        review.put("apiVersion", "admission.k8s.io/v1").put("kind", "AdmissionReview");
        ObjectNode request = review.putObject("request");
        request.put("uid", "0d1b7c7e-0001-4000-8000-000000000001");
        request.putObject("kind").put("group", "").put("version", "v1").put("kind", "Pod");
        request.put("namespace", "payments").put("operation", "CREATE");
        request.set("object", pod);
        return review.toString();
    }
}
