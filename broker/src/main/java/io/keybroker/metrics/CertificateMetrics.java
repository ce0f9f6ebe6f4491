package io.keybroker.metrics;

import io.keybroker.listener.TlsMaterialView;
import io.micrometer.core.instrument.Gauge;
import io.micrometer.core.instrument.MeterRegistry;
import java.security.cert.X509Certificate;
import java.time.Clock;
import java.util.Arrays;
import java.util.function.Supplier;

/**
 * {@code keybroker_tls_certificate_expiry_seconds{certificate=server|trust-bundle}}: seconds until the soonest
 * expiry of the server chain and of the trust bundle, read at scrape time from the material in force; and
 * {@code keybroker_tls_certificate_lifetime_seconds{certificate}}: the whole lifetime of that same certificate,
 * so that a rule can alert on a renewal that is overdue ({@code expiry < 0.25 * lifetime}) rather than on a fixed
 * number of days that a 24 h certificate is always under.
 */
public final class CertificateMetrics {

    public CertificateMetrics(MeterRegistry registry, TlsMaterialView tls, Clock clock) {
        gauge(registry, "server", tls::serverChain, clock);
        gauge(registry, "trust-bundle", tls::trustAnchors, clock);
    }

    private static void gauge(MeterRegistry registry, String which, Supplier<X509Certificate[]> certificates,
            Clock clock) {
        Gauge.builder("keybroker.tls.certificate.expiry.seconds", () -> secondsLeft(certificates.get(), clock))
                .description("Seconds until the soonest certificate expiry")
                .tag("certificate", which)
                .register(registry);
        Gauge.builder("keybroker.tls.certificate.lifetime.seconds", () -> lifetime(certificates.get()))
                .description("Lifetime (notAfter - notBefore) of the certificate that expires soonest")
                .tag("certificate", which)
                .register(registry);
    }

    static double lifetime(X509Certificate[] certificates) {
        return Arrays.stream(certificates).min(java.util.Comparator.comparing(X509Certificate::getNotAfter))
                .map(c -> (c.getNotAfter().getTime() - c.getNotBefore().getTime()) / 1000.0).orElse(0.0);
    }

    static double secondsLeft(X509Certificate[] certificates, Clock clock) {
        return Arrays.stream(certificates).mapToLong(c -> c.getNotAfter().toInstant().getEpochSecond())
                .min().orElse(0) - clock.instant().getEpochSecond();
    }
}
