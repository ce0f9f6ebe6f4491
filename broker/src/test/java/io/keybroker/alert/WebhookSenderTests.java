package io.keybroker.alert;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.awaitility.Awaitility.await;

import com.sun.net.httpserver.HttpServer;
import io.keybroker.config.ConfigurationProblemException;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import java.net.InetSocketAddress;
import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.springframework.scheduling.concurrent.ThreadPoolTaskScheduler;

/** The webhook against a real HTTP receiver that checks the signature as a receiver must. */
class WebhookSenderTests {

    private static final byte[] SECRET = "whsec_test_signing_secret".getBytes(StandardCharsets.UTF_8);

    private HttpServer server;
    private final List<String> accepted = new CopyOnWriteArrayList<>();
    private final AtomicInteger failuresToGive = new AtomicInteger();
    private final AtomicInteger attempts = new AtomicInteger();

    private URI startReceiver() throws Exception {
        server = HttpServer.create(new InetSocketAddress("127.0.0.1", 0), 0);
        server.createContext("/alerts", exchange -> {
            attempts.incrementAndGet();
            String body = new String(exchange.getRequestBody().readAllBytes(), StandardCharsets.UTF_8);
            String header = exchange.getRequestHeaders().getFirst("Keybroker-Signature");
            long t = Long.parseLong(header.substring(2, header.indexOf(',')));
            boolean fresh = Math.abs(Instant.now().getEpochSecond() - t) <= 300;
            boolean valid = WebhookSender.signature(SECRET, t, body).equals(header);
            int status;
            if (!valid || !fresh) {
                status = 400;
            } else if (failuresToGive.getAndDecrement() > 0) {
                status = 500;
            } else {
                accepted.add(body);
                status = 204;
            }
            exchange.sendResponseHeaders(status, -1);
            exchange.close();
        });
        server.start();
        return URI.create("http://127.0.0.1:" + server.getAddress().getPort() + "/alerts");
    }

    /** Stands in for the broker's scheduler, which the server passes. */
    private final ScheduledExecutorService scheduler = Executors.newScheduledThreadPool(2);

    @AfterEach
    void stop() {
        if (server != null) {
            server.stop(0);
        }
        scheduler.shutdownNow();
    }

    @Test
    void shouldDeliverASignedAlertAndRetryA500() throws Exception {
        failuresToGive.set(2);
        try (WebhookSender sender = new WebhookSender(startReceiver(), SECRET, 10, 5, Duration.ofSeconds(5),
                Clock.systemUTC(), new SimpleMeterRegistry(), scheduler)) {
            sender.enqueue(Alert.of("denial-burst", Instant.now(), "spiffe://x/ns/a/sa/b", "stripe/k", "20 denied"));
            await().atMost(Duration.ofSeconds(20)).until(() -> accepted.size() == 1);
        }
        assertThat(attempts.get()).isEqualTo(3);
        assertThat(accepted.get(0)).contains("\"kind\":\"denial-burst\"", "\"secret\":\"stripe/k\"");
    }

    @Test
    void shouldNotRetryWhenTheReceiverRefusesTheSignature() throws Exception {
        URI url = startReceiver();
        try (WebhookSender sender = new WebhookSender(url, "wrong".getBytes(StandardCharsets.UTF_8), 10, 5,
                Duration.ofSeconds(5), Clock.systemUTC(), new SimpleMeterRegistry(), scheduler)) {
            assertThat(sender.deliver(Alert.of("first-read", Instant.now(), "id", "s", "d")).get(20, TimeUnit.SECONDS))
                    .isFalse();
        }
        assertThat(attempts.get()).isEqualTo(1);
        assertThat(accepted).isEmpty();
    }

    @Test
    void shouldDropNoiseWhenTheQueueIsFull() {
        SimpleMeterRegistry registry = new SimpleMeterRegistry();
        // A receiver that never answers in time keeps the sender busy on the first alert.
        try (WebhookSender sender = new WebhookSender(URI.create("http://10.255.255.1:9/alerts"), SECRET, 3, 1,
                Duration.ofSeconds(30), Clock.systemUTC(), registry, scheduler)) {
            for (int i = 0; i < 10; i++) {
                sender.enqueue(Alert.of("first-read", Instant.now(), "id", "s" + i, "d"));
            }
            // Nine queued behind the first (or all ten, if the sender had not taken one yet): capacity 3.
            assertThat(registry.get("keybroker.alerts.webhook.dropped").tag("class", "noise").counter().count()).isBetween(6.0, 7.0);
        }
    }

    @Test
    void shouldKeepASecurityAlertAheadOfTheNoiseThatFollowsIt() throws Exception {
        SimpleMeterRegistry registry = new SimpleMeterRegistry();
        URI url = startReceiver();
        // The receiver holds the first delivery until the queue has been flooded, so nothing leaves meanwhile.
        CountDownLatch flooded = new CountDownLatch(1);
        CountDownLatch busy = new CountDownLatch(1);
        server.removeContext("/alerts");
        server.createContext("/alerts", exchange -> {
            String body = new String(exchange.getRequestBody().readAllBytes(), StandardCharsets.UTF_8);
            busy.countDown();
            try {
                flooded.await();
            } catch (InterruptedException ex) {
                Thread.currentThread().interrupt();
            }
            accepted.add(body);
            exchange.sendResponseHeaders(204, -1);
            exchange.close();
        });
        try (WebhookSender sender = new WebhookSender(url, SECRET, 3, 1, Duration.ofSeconds(30), Clock.systemUTC(),
                registry, scheduler)) {
            sender.enqueue(Alert.of("first-read", Instant.now(), "id", "in-flight", "d"));
            busy.await();
            sender.enqueue(Alert.of("first-read", Instant.now(), "id", "s0", "d"));
            sender.enqueue(Alert.of("denial-burst", Instant.now(), "attacker", "stripe/k", "20 denied"));
            // The workload's own noise, meant to push its denial-burst out of the queue before delivery.
            for (int i = 1; i <= 20; i++) {
                sender.enqueue(Alert.of("first-read", Instant.now(), "attacker", "s" + i, "d"));
            }
            sender.enqueue(Alert.of("certificate-expiry", Instant.now(), "id", null, "renewal overdue"));
            flooded.countDown();
            await().atMost(Duration.ofSeconds(20)).until(() -> accepted.size() == 4);
        }
        assertThat(accepted.get(1)).contains("\"kind\":\"denial-burst\"");
        assertThat(accepted.get(2)).contains("\"kind\":\"certificate-expiry\"");
        assertThat(accepted.get(3)).contains("\"secret\":\"s0\"");
        assertThat(registry.get("keybroker.alerts.webhook.dropped").tag("class", "security").counter().count())
                .isZero();
        assertThat(registry.get("keybroker.alerts.webhook.dropped").tag("class", "noise").counter().count())
                .isEqualTo(20.0);
    }

    @Test
    void shouldGiveUpOnAnAlertThatCannotBeSentAndGoOnWithTheNext() {
        SimpleMeterRegistry registry = new SimpleMeterRegistry();
        // The JDK client refuses this scheme while building the request: before, the exception reached the caller
        // (an access listener, inside a request) and the queue waited for an answer that never came.
        try (WebhookSender sender = new WebhookSender(URI.create("ftp://127.0.0.1/alerts"), SECRET, 10, 3,
                Duration.ofSeconds(5), Clock.systemUTC(), registry, scheduler)) {
            sender.enqueue(Alert.of("denial-burst", Instant.now(), "id", "s1", "d"));
            sender.enqueue(Alert.of("denial-burst", Instant.now(), "id", "s2", "d"));
            assertThat(registry.get("keybroker.alerts.webhook.deliveries").tag("outcome", "failed").counter()
                    .count()).isEqualTo(2.0);
        }
    }

    @Test
    void shouldRefuseAWebhookUrlThatIsNotHttp() {
        AlertProperties properties = new org.springframework.boot.context.properties.bind.Binder(
                new org.springframework.boot.context.properties.source.MapConfigurationPropertySource(Map.of(
                        "keybroker.alerts.webhook.url", "ftp://alerts.example.com/x",
                        "keybroker.alerts.webhook.secret-file", "/nonexistent")))
                .bindOrCreate("keybroker.alerts", AlertProperties.class);
        ThreadPoolTaskScheduler pool = new ThreadPoolTaskScheduler();
        assertThatThrownBy(() -> new AlertConfiguration().alertWebhook(properties, Clock.systemUTC(),
                new SimpleMeterRegistry(), pool))
                .isInstanceOf(ConfigurationProblemException.class)
                .hasMessageContaining("keybroker.alerts.webhook.url must be an http or https URL");
    }
}
