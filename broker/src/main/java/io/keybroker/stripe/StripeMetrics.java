package io.keybroker.stripe;

import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.Timer;
import java.time.Duration;
import java.util.Set;
import java.util.concurrent.TimeUnit;
import org.springframework.stereotype.Component;

/**
 * Metrics of Stripe calls and webhook verifications. Every tag value comes from a fixed set, never from request
 * input: a method outside GET, POST and DELETE is {@code other}, and Stripe's status is reduced to its class.
 * <ul>
 *   <li>{@code keybroker_stripe_calls_total{method,outcome}}: outcome {@code 2xx}, {@code 3xx}, {@code 4xx},
 *       {@code 5xx} (Stripe answered), or {@code denied}, {@code invalid}, {@code timeout}, {@code unavailable},
 *       {@code error}, {@code cancelled} (the broker answered, or the workload went away)</li>
 *   <li>{@code keybroker_stripe_call_latency_seconds{method}}: whole call, Stripe's time included</li>
 *   <li>{@code keybroker_stripe_previous_key_calls_total}: calls that Stripe answered only with the previous
 *       key; while this grows, the new key is not active in Stripe yet</li>
 *   <li>{@code keybroker_stripe_webhook_verifications_total{outcome}}: {@code verified}, {@code refused},
 *       {@code denied}</li>
 * </ul>
 */
@Component
public class StripeMetrics {

    private static final Set<String> METHODS = Set.of("GET", "POST", "DELETE");

    private final MeterRegistry registry;

    public StripeMetrics(MeterRegistry registry) {
        this.registry = registry;
    }

    void call(String method, String outcome, long micros, boolean previousKey) {
        String m = METHODS.contains(method) ? method : "other";
        Counter.builder("keybroker.stripe.calls").description("Stripe calls through the broker by method and outcome")
                .tag("method", m).tag("outcome", outcome).register(registry).increment();
        Timer.builder("keybroker.stripe.call.latency").description("Stripe calls through the broker, whole call")
                .tag("method", m).publishPercentileHistogram()
                .minimumExpectedValue(Duration.ofNanos(100_000)).maximumExpectedValue(Duration.ofSeconds(30))
                .register(registry).record(micros, TimeUnit.MICROSECONDS);
        if (previousKey) {
            Counter.builder("keybroker.stripe.previous.key.calls")
                    .description("Stripe calls answered with the previous key after a 401 with the current one")
                    .register(registry).increment();
        }
    }

    void webhook(String outcome) {
        Counter.builder("keybroker.stripe.webhook.verifications").description("Webhook signature verifications")
                .tag("outcome", outcome).register(registry).increment();
    }

    /** The outcome tag of an HTTP status Stripe answered. */
    static String statusClass(int status) {
        return status >= 200 && status < 600 ? (status / 100) + "xx" : "error";
    }
}
