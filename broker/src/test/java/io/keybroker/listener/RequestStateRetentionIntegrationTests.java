package io.keybroker.listener;

import static org.assertj.core.api.Assertions.assertThat;

import io.keybroker.testsupport.BrokerFixture;
import io.keybroker.testsupport.BrokerProcess;
import io.keybroker.testsupport.HeapDump;
import io.keybroker.testsupport.TestPki;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A finished request leaves nothing behind on the broker's heap. Reactor Netty's request timeout scheduled one
 * task per request on the event loop that kept the request's whole state (headers, operations, pipeline
 * context) alive until it fired, 10 s later: at a few thousand requests per second that was most of the live heap,
 * and the garbage collector's work grew with it. Each request here carries a request id of its own; once they
 * are answered, a live-heap dump of the broker (the jar as it ships, a separate process) must hold at most a
 * handful of them (the last request of the connection may still be referenced), not all of them.
 */
@Tag("jar")
class RequestStateRetentionIntegrationTests {

    private static final int REQUESTS = 300;

    @TempDir
    Path dumps;

    @Test
    void shouldKeepNoStateOfAnsweredRequests() throws Exception {
        BrokerFixture fixture = BrokerFixture.create();
        HttpClient checkout = TestPki.httpClient(fixture.ca(), fixture.checkout());
        try (BrokerProcess broker = BrokerProcess.start(fixture, Map.of())) {
            for (int i = 0; i < REQUESTS; i++) {
                HttpResponse<String> response = checkout.send(HttpRequest.newBuilder(
                        broker.uri("/v1/secrets/stripe/secret-key")).header("X-Request-Id", id(i))
                        .timeout(Duration.ofSeconds(10)).build(), HttpResponse.BodyHandlers.ofString());
                assertThat(response.statusCode()).isEqualTo(200);
            }
            Path file = dumps.resolve("broker.hprof");
            Process jcmd = new ProcessBuilder(Path.of(System.getProperty("java.home"), "bin", "jcmd").toString(),
                    Long.toString(broker.pid()), "GC.heap_dump", file.toString()).redirectErrorStream(true).start();
            assertThat(jcmd.waitFor(120, TimeUnit.SECONDS)).as("jcmd finished").isTrue();
            assertThat(jcmd.exitValue()).as(new String(jcmd.getInputStream().readAllBytes(),
                    StandardCharsets.UTF_8)).isZero();
            HeapDump dump = HeapDump.read(file);
            int live = 0;
            for (int i = 0; i < REQUESTS; i++) {
                if (dump.contains(id(i))) {
                    live++;
                }
            }
            // At most the last few ids, which the connection may still reference.
            assertThat(live).as("request ids of %d answered requests still on the broker's live heap", REQUESTS)
                    .isLessThanOrEqualTo(3);
        }
    }

    private static String id(int i) {
        return "retention-probe-%05d".formatted(i);
    }
}
