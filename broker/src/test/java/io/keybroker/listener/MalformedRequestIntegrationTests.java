package io.keybroker.listener;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import io.keybroker.testsupport.BrokerFixture;
import io.keybroker.testsupport.RunningBroker;
import io.keybroker.testsupport.TestPki;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.time.Duration;
import java.util.List;
import javax.net.ssl.SSLSocket;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import org.springframework.boot.test.system.CapturedOutput;
import org.springframework.boot.test.system.OutputCaptureExtension;

/**
 * A request Reactor Netty cannot decode (a request line carrying terminal escape and carriage-return bytes) over
 * a real mTLS connection: it is refused, its bytes reach the log only escaped, and it is audited once, under the
 * identity the handshake established.
 */
@ExtendWith(OutputCaptureExtension.class)
class MalformedRequestIntegrationTests {

    @Test
    void shouldEscapeControlBytesInTheLogAndAuditOneInvalidRecord(CapturedOutput output) throws Exception {
        BrokerFixture fixture = BrokerFixture.create();
        try (RunningBroker broker = RunningBroker.start(fixture.properties());
                SSLSocket socket = (SSLSocket) TestPki.sslContext(fixture.ca(), fixture.checkout())
                        .getSocketFactory().createSocket("127.0.0.1", broker.port())) {
            socket.setSoTimeout(20_000);
            socket.startHandshake();
            socket.getOutputStream().write("GET /v1/secrets/\u001b[2J\u001b]0;owned\u0007x\rFAKE LOG LINE HTTP/1.1\r\nHost: a\r\n\r\n"
                    .getBytes(StandardCharsets.ISO_8859_1));
            socket.getOutputStream().flush();
            InputStream in = socket.getInputStream();
            String status = new String(in.readNBytes(12), StandardCharsets.ISO_8859_1);
            assertThat(status).startsWith("HTTP/1.1 4");
            await().atMost(Duration.ofSeconds(10)).until(() -> Files.readString(fixture.auditFile())
                    .contains("\"decision\":\"invalid\""));
        }
        List<String> invalid = Files.readAllLines(fixture.auditFile()).stream()
                .filter(line -> line.contains("\"decision\":\"invalid\"")).toList();
        // The handshake established who sent it: the record names that identity, so it counts toward alerts.
        assertThat(invalid).singleElement().satisfies(line -> assertThat(line)
                .contains("\"identity\":\"" + BrokerFixture.CHECKOUT + "\"")
                .contains("\"rule\":\"malformed-request\""));
        assertThat(output.getAll()).doesNotContain("\u001b").doesNotContain("\r").doesNotContain("\u0007");
    }
}
