package io.keybroker.alert;

import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.MeterRegistry;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.security.InvalidKeyException;
import java.security.NoSuchAlgorithmException;
import java.time.Clock;
import java.time.Duration;
import java.util.ArrayDeque;
import java.util.Arrays;
import java.util.HexFormat;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.TimeUnit;
import javax.crypto.Mac;
import javax.crypto.spec.SecretKeySpec;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import tools.jackson.databind.json.JsonMapper;

/**
 * Delivers alerts to a webhook, signed the way Stripe signs its own webhooks:
 * {@code Keybroker-Signature: t=<unix seconds>,v1=<hex HMAC-SHA256(secret, "<t>.<body>")>}, so a receiver checks
 * the signature and rejects old timestamps. Alerts wait in two queues that share one bound: security alerts are
 * delivered before noise ({@link #NOISE}), and a full queue drops the newest noise, never a security alert while
 * noise waits, so a workload cannot push its own denial-burst out with first-read alerts. Only a queue full of
 * security alerts drops one, the newest (the first evidence of an attack is kept). Drops are counted in
 * {@code keybroker_alerts_webhook_dropped_total{class=security|noise}}. One alert is in delivery at a time; 5xx
 * answers and network errors are retried with exponential backoff and jitter, never 4xx.
 *
 * <p>Delivery holds no thread of its own: requests are sent asynchronously, and their answers and the retries'
 * waits run on the broker's one scheduler, so a receiver that is slow or down costs a pending request, never a
 * blocked thread that other periodic work would wait behind.
 */
public final class WebhookSender implements AutoCloseable {

    private static final Logger log = LoggerFactory.getLogger(WebhookSender.class);
    private static final JsonMapper JSON = JsonMapper.builder().build();
    /**
     * Kinds that report ordinary use. Every other kind (denial-burst, unusual-rate, certificate-expiry,
     * rotation-failed, and any kind added later) counts as a security alert: unknown kinds fail closed.
     */
    static final Set<String> NOISE = Set.of("first-read", "stale-served", "rotation");

    private final URI url;
    private final byte[] secret;
    private final int capacity;
    private final int maxAttempts;
    private final Duration timeout;
    private final Clock clock;
    /** Runs the answers' handling and the retries' waits; the caller owns it. */
    private final ScheduledExecutorService scheduler;
    private final HttpClient http;
    private final Counter droppedSecurity;
    private final Counter droppedNoise;
    private final Counter delivered;
    private final Counter failed;
    /** The monitor for both queues and {@link #sending}. */
    private final Object queue = new Object();
    private final ArrayDeque<Alert> security = new ArrayDeque<>();
    private final ArrayDeque<Alert> noise = new ArrayDeque<>();
    /** Whether an alert is in delivery; the next one starts when it ends. */
    private boolean sending;
    private volatile boolean running = true;

    /**
     * @param scheduler runs the handling of answers and the waits between attempts (the server passes its
     *     {@code keybrokerScheduler}); the caller shuts it down
     */
    public WebhookSender(URI url, byte[] secret, int capacity, int maxAttempts, Duration timeout, Clock clock,
            MeterRegistry registry, ScheduledExecutorService scheduler) {
        this.url = url;
        this.secret = secret.clone();
        this.capacity = capacity;
        this.maxAttempts = maxAttempts;
        this.timeout = timeout;
        this.clock = clock;
        this.scheduler = scheduler;
        this.http = HttpClient.newBuilder().connectTimeout(timeout).executor(scheduler).build();
        this.droppedSecurity = Counter.builder("keybroker.alerts.webhook.dropped").tag("class", "security")
                .description("Alerts dropped because the webhook queue was full").register(registry);
        this.droppedNoise = Counter.builder("keybroker.alerts.webhook.dropped").tag("class", "noise")
                .description("Alerts dropped because the webhook queue was full").register(registry);
        this.delivered = Counter.builder("keybroker.alerts.webhook.deliveries").tag("outcome", "ok")
                .register(registry);
        this.failed = Counter.builder("keybroker.alerts.webhook.deliveries").tag("outcome", "failed")
                .register(registry);
    }

    /** Queues an alert; when the queue is full, drops the newest noise, or a new security alert if none waits. */
    public void enqueue(Alert alert) {
        boolean isNoise = NOISE.contains(alert.kind());
        synchronized (queue) {
            if (security.size() + noise.size() >= capacity) {
                if (isNoise) {
                    droppedNoise.increment();
                    return;
                }
                if (noise.isEmpty()) {
                    droppedSecurity.increment();
                    return;
                }
                noise.pollLast();
                droppedNoise.increment();
            }
            (isNoise ? noise : security).addLast(alert);
            if (sending || !running) {
                return;
            }
            sending = true;
        }
        sendNext();
    }

    /** The Stripe-style signature header value for a body sent at {@code timestamp}. */
    public static String signature(byte[] secret, long timestamp, String body) {
        try {
            Mac mac = Mac.getInstance("HmacSHA256");
            mac.init(new SecretKeySpec(secret, "HmacSHA256"));
            byte[] digest = mac.doFinal((timestamp + "." + body).getBytes(StandardCharsets.UTF_8));
            return "t=" + timestamp + ",v1=" + HexFormat.of().formatHex(digest);
        } catch (NoSuchAlgorithmException | InvalidKeyException ex) {
            throw new IllegalStateException("HMAC-SHA256 is not available: " + ex.getMessage(), ex);
        }
    }

    static String body(Alert alert) {
        Map<String, Object> body = new LinkedHashMap<>();
        body.put("id", alert.id());
        body.put("kind", alert.kind());
        body.put("time", alert.time().toString());
        body.put("identity", alert.identity());
        body.put("secret", alert.secret());
        body.put("detail", alert.detail());
        return JSON.writeValueAsString(body);
    }

    /** Delivers the next queued alert (security first), and the one after it when it ends. */
    private void sendNext() {
        Alert alert;
        synchronized (queue) {
            alert = !running ? null : security.isEmpty() ? noise.pollFirst() : security.pollFirst();
            if (alert == null) {
                sending = false;
                return;
            }
        }
        deliver(alert).whenComplete((ok, ex) -> sendNext());
    }

    /** Delivers one alert with retries; completes with whether the receiver took it, never exceptionally. */
    CompletableFuture<Boolean> deliver(Alert alert) {
        CompletableFuture<Boolean> result = new CompletableFuture<>();
        attempt(alert, body(alert), 1, result);
        return result;
    }

    private void attempt(Alert alert, String body, int attempt, CompletableFuture<Boolean> result) {
        if (!running) {
            result.complete(false);
            return;
        }
        CompletableFuture<HttpResponse<Void>> sent;
        try {
            long t = clock.instant().getEpochSecond();
            HttpRequest request = HttpRequest.newBuilder(url).timeout(timeout)
                    .header("Content-Type", "application/json")
                    .header("Keybroker-Signature", signature(secret, t, body))
                    .POST(HttpRequest.BodyPublishers.ofString(body)).build();
            sent = http.sendAsync(request, HttpResponse.BodyHandlers.discarding());
        } catch (RuntimeException ex) {
            // Never thrown past here: the next alert starts only when this one's result completes.
            log.debug("alert webhook attempt {} could not start: {}", attempt, ex.getClass().getSimpleName());
            giveUp(alert, attempt, result);
            return;
        }
        sent.whenComplete((response, ex) -> {
            if (ex == null && response.statusCode() / 100 == 2) {
                delivered.increment();
                result.complete(true);
                return;
            }
            if (ex == null && response.statusCode() / 100 == 4) {
                log.warn("Alert webhook {} refused alert {} with {}; not retried (check the receiver's signing "
                        + "secret and URL)", url, alert.id(), response.statusCode());
                giveUp(alert, attempt, result);
                return;
            }
            if (ex != null) {
                Throwable cause = ex instanceof CompletionException && ex.getCause() != null ? ex.getCause() : ex;
                log.debug("alert webhook attempt {} failed: {}", attempt, cause.getClass().getSimpleName());
            }
            if (attempt >= maxAttempts || !running) {
                giveUp(alert, attempt, result);
                return;
            }
            try {
                scheduler.schedule(() -> attempt(alert, body, attempt + 1, result), backoffMillis(attempt),
                        TimeUnit.MILLISECONDS);
            } catch (RejectedExecutionException stopped) {
                result.complete(false);
            }
        });
    }

    private void giveUp(Alert alert, int attempts, CompletableFuture<Boolean> result) {
        failed.increment();
        log.warn("Alert {} ({}) could not be delivered to {} after {} attempt(s)", alert.id(), alert.kind(), url,
                attempts);
        result.complete(false);
    }

    private static long backoffMillis(int attempt) {
        long base = Math.min(30_000, 200L << Math.min(attempt, 8));
        return base / 2 + ThreadLocalRandom.current().nextLong(base / 2 + 1);
    }

    /** Stops delivery: no new attempt starts; the queued alerts are dropped. */
    @Override
    public void close() {
        running = false;
        synchronized (queue) {
            security.clear();
            noise.clear();
        }
        Arrays.fill(secret, (byte) 0);
    }
}
