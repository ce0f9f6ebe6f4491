package io.keybroker.listener;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import io.keybroker.testsupport.DefaultBroker;
import io.keybroker.testsupport.TestPki;
import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.MeterRegistry;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import javax.net.ssl.SSLSocket;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

/**
 * The listener's limits ({@code keybroker.listen.*}) over real TLS sockets: a half-sent request, an idle
 * keep-alive connection and one connection over the cap are each closed by the broker.
 */
class ListenerLimitsIntegrationTests {

    @RegisterExtension
    static final DefaultBroker BROKER = new DefaultBroker((fixture, properties) -> {
            properties.put("keybroker.listen.read-timeout", "1s");
            properties.put("keybroker.listen.idle-timeout", "2s");
            properties.put("keybroker.listen.max-connections", "3");
    });

    private static SSLSocket connect() throws IOException {
        SSLSocket socket = (SSLSocket) TestPki.sslContext(BROKER.fixture().ca(), BROKER.fixture().checkout())
                .getSocketFactory()
                .createSocket("127.0.0.1", BROKER.running().port());
        // Far above the limits under test: a read that reaches it means the broker kept the connection open.
        socket.setSoTimeout(20_000);
        socket.startHandshake();
        return socket;
    }

    /** Reads until the broker closes the connection; returns what arrived and how long it took. */
    private static long millisUntilClosed(InputStream in) throws IOException {
        long start = System.nanoTime();
        try {
            while (in.read() >= 0) {
                // drain the response, if any
            }
        } catch (javax.net.ssl.SSLException | java.net.SocketException closed) {
            // a reset is a close too
        }
        return (System.nanoTime() - start) / 1_000_000;
    }

    @Test
    void shouldCloseAConnectionWhoseRequestHeadNeverCompletes() throws Exception {
        try (SSLSocket socket = connect()) {
            OutputStream out = socket.getOutputStream();
            out.write("GET /v1/secrets/stripe/secret-key HTTP/1.1\r\nHost: 127.0.0.1\r\n".getBytes(
                    StandardCharsets.US_ASCII));
            out.flush();
            assertThat(millisUntilClosed(socket.getInputStream())).isLessThan(10_000);
        }
    }

    @Test
    void shouldCloseAConnectionWhoseBodyNeverCompletes() throws Exception {
        try (SSLSocket socket = connect()) {
            OutputStream out = socket.getOutputStream();
            out.write(("POST /v1/secrets/stripe/secret-key/refresh HTTP/1.1\r\nHost: 127.0.0.1\r\n"
                    + "Content-Length: 100\r\n\r\nabc").getBytes(StandardCharsets.US_ASCII));
            out.flush();
            assertThat(millisUntilClosed(socket.getInputStream())).isLessThan(10_000);
        }
    }

    @Test
    void shouldCloseAnIdleKeepAliveConnection() throws Exception {
        try (SSLSocket socket = connect()) {
            OutputStream out = socket.getOutputStream();
            out.write("GET /v1/secrets/stripe/secret-key HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n".getBytes(
                    StandardCharsets.US_ASCII));
            out.flush();
            InputStream in = socket.getInputStream();
            byte[] status = in.readNBytes(12);
            assertThat(new String(status, StandardCharsets.US_ASCII)).isEqualTo("HTTP/1.1 200");
            assertThat(millisUntilClosed(in)).isLessThan(10_000);
        }
    }

    @Test
    void shouldRefuseConnectionsOverTheCapAndCountThem() throws Exception {
        await().atMost(Duration.ofSeconds(15)).until(() -> BROKER.running().bean(ConnectionLimits.class).open() == 0);
        List<SSLSocket> held = new ArrayList<>();
        try {
            for (int i = 0; i < 3; i++) {
                // An open watch stream: a request in progress, which no deadline closes.
                SSLSocket socket = connect();
                socket.getOutputStream().write("GET /v1/watch?name=stripe/secret-key HTTP/1.1\r\nHost: x\r\n\r\n"
                        .getBytes(StandardCharsets.US_ASCII));
                socket.getOutputStream().flush();
                assertThat(new String(socket.getInputStream().readNBytes(12), StandardCharsets.US_ASCII))
                        .isEqualTo("HTTP/1.1 200");
                held.add(socket);
            }
            double refusedBefore = refusedCounter().count();
            boolean refused;
            try (SSLSocket extra = connect()) {
                refused = millisUntilClosed(extra.getInputStream()) < 10_000;
            } catch (IOException handshakeRefused) {
                refused = true;
            }
            assertThat(refused).isTrue();
            assertThat(refusedCounter().count()).isGreaterThan(refusedBefore);
        } finally {
            for (SSLSocket socket : held) {
                socket.close();
            }
        }
    }

    private static Counter refusedCounter() {
        return BROKER.running().bean(MeterRegistry.class).get("keybroker.connections.refused").counter();
    }
}
