package io.keybroker.alert;

import io.keybroker.audit.AuditFiles;
import io.keybroker.audit.AuditLog;
import io.keybroker.audit.AuditProperties;
import io.keybroker.audit.ChainedAuditLog;
import io.keybroker.cache.SecretCache;
import io.keybroker.config.ConfigurationProblemException;
import io.keybroker.listener.TlsMaterialView;
import io.micrometer.core.instrument.MeterRegistry;
import java.io.IOException;
import java.nio.file.Files;
import java.security.cert.X509Certificate;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ScheduledFuture;
import org.jspecify.annotations.Nullable;
import org.springframework.beans.factory.ObjectProvider;
import org.springframework.context.SmartLifecycle;
import org.springframework.context.annotation.Bean;
import org.springframework.context.annotation.Configuration;
import org.springframework.scheduling.TaskScheduler;
import org.springframework.scheduling.concurrent.ThreadPoolTaskScheduler;
import reactor.core.Disposable;

/** Wires alerting: detectors on access, certificates and rotations; optional webhook delivery. */
@Configuration(proxyBeanMethods = false)
public class AlertConfiguration {

    @Bean(destroyMethod = "close")
    WebhookHolder alertWebhook(AlertProperties properties, Clock clock, MeterRegistry registry,
            ThreadPoolTaskScheduler keybrokerScheduler) {
        AlertProperties.Webhook webhook = properties.webhook();
        if (webhook == null || webhook.url() == null) {
            return new WebhookHolder(null);
        }
        String scheme = webhook.url().getScheme();
        if (!"https".equalsIgnoreCase(scheme) && !"http".equalsIgnoreCase(scheme)
                || webhook.url().getHost() == null) {
            throw new ConfigurationProblemException("keybroker.alerts.webhook.url must be an http or https URL with "
                    + "a host, e.g. https://alerts.example.com/keybroker");
        }
        if (webhook.secretFile() == null) {
            throw new ConfigurationProblemException("keybroker.alerts.webhook.url is set but "
                    + "keybroker.alerts.webhook.secret-file is not: point it at a file holding the signing secret");
        }
        byte[] secret;
        try {
            secret = Files.readAllBytes(webhook.secretFile());
        } catch (IOException ex) {
            throw new ConfigurationProblemException("keybroker.alerts.webhook.secret-file " + webhook.secretFile()
                    + " cannot be read: " + ex.getMessage());
        }
        int end = secret.length;
        while (end > 0 && (secret[end - 1] == '\n' || secret[end - 1] == '\r')) {
            end--;
        }
        if (end == 0) {
            throw new ConfigurationProblemException("keybroker.alerts.webhook.secret-file " + webhook.secretFile()
                    + " is empty: write the webhook signing secret into it");
        }
        byte[] trimmed = Arrays.copyOf(secret, end);
        Arrays.fill(secret, (byte) 0);
        WebhookSender sender = new WebhookSender(webhook.url(), trimmed, webhook.queueCapacity(),
                webhook.maxAttempts(), webhook.timeout(), clock, registry, keybrokerScheduler.getScheduledExecutor());
        Arrays.fill(trimmed, (byte) 0);
        return new WebhookHolder(sender);
    }

    @Bean
    AlertService alertService(MeterRegistry registry, AuditLog audit, WebhookHolder webhook) {
        return new AlertService(registry, audit, webhook.sender());
    }

    @Bean
    AccessAlerts accessAlerts(AlertService alerts, AlertProperties properties, Clock clock,
            ChainedAuditLog auditLog) {
        double fraction = properties.certificateExpiryFraction();
        if (!(fraction > 0 && fraction < 1)) {
            throw new ConfigurationProblemException("keybroker.alerts.certificate-expiry-fraction is " + fraction
                    + ": set a fraction of the certificate's lifetime between 0 and 1, e.g. 0.25");
        }
        AccessAlerts accessAlerts = new AccessAlerts(alerts, properties, clock);
        if (auditLog.file() != null && properties.firstRead()) {
            accessAlerts.learnFrom(AuditFiles.trail(auditLog.file()));
        }
        return accessAlerts;
    }

    @Bean
    AuditVolumeAlerts auditVolumeAlerts(ChainedAuditLog audit, AlertService alerts, AuditProperties properties,
            Clock clock, MeterRegistry registry) {
        return new AuditVolumeAlerts(audit, alerts, properties.minFreeSpace().toBytes(), clock, registry);
    }

    @Bean
    BackgroundAlerts backgroundAlerts(AlertService alerts, AlertProperties properties, Clock clock,
            TlsMaterialView tls, ObjectProvider<SecretCache> cache, AuditLog audit, AuditVolumeAlerts volume,
            AuditProperties auditProperties, TaskScheduler keybrokerScheduler) {
        return new BackgroundAlerts(alerts, properties, clock, tls, cache, audit, volume,
                auditProperties.checkInterval(), keybrokerScheduler);
    }

    /** The optional webhook sender, closed with the context. */
    record WebhookHolder(WebhookSender sender) implements AutoCloseable {
        @Override
        public void close() {
            if (sender != null) {
                sender.close();
            }
        }
    }

    /** Certificate expiry checks, and rotations seen by the cache (audited and alerted). */
    static final class BackgroundAlerts implements SmartLifecycle {

        private final AlertService alerts;
        private final AlertProperties properties;
        private final Clock clock;
        private final TlsMaterialView tls;
        private final ObjectProvider<SecretCache> cache;
        private final AuditLog audit;
        private final AuditVolumeAlerts volume;
        private final Duration volumeCheckInterval;
        private final TaskScheduler scheduler;
        private final List<ScheduledFuture<?>> checks = new ArrayList<>();
        private @Nullable Disposable rotations;

        BackgroundAlerts(AlertService alerts, AlertProperties properties, Clock clock, TlsMaterialView tls,
                ObjectProvider<SecretCache> cache, AuditLog audit, AuditVolumeAlerts volume,
                Duration volumeCheckInterval, TaskScheduler scheduler) {
            this.scheduler = scheduler;
            this.volume = volume;
            this.volumeCheckInterval = volumeCheckInterval;
            this.alerts = alerts;
            this.properties = properties;
            this.clock = clock;
            this.tls = tls;
            this.cache = cache;
            this.audit = audit;
        }

        @Override
        public synchronized void start() {
            if (!checks.isEmpty()) {
                return;
            }
            Duration every = Duration.ofMillis(Math.max(1000, properties.certificateCheckInterval().toMillis()));
            checks.add(scheduler.scheduleWithFixedDelay(this::checkCertificates, every));
            checks.add(scheduler.scheduleWithFixedDelay(volume::check,
                    Duration.ofMillis(Math.max(1000, volumeCheckInterval.toMillis()))));
            SecretCache secrets = cache.getIfAvailable();
            if (secrets != null) {
                rotations = secrets.rotations().subscribe(event -> {
                    Map<String, Object> fields = new LinkedHashMap<>();
                    fields.put("backend", event.location().backend());
                    fields.put("path", event.location().path());
                    fields.put("currentVersion", event.currentVersion());
                    fields.put("previousVersion", event.previousVersion());
                    fields.put("rotatedAt", event.rotatedAt().toString());
                    audit.event("rotation", fields);
                    alerts.raise(Alert.of("rotation", clock.instant(), null, event.location().path(),
                            "new current version " + event.currentVersion() + " (previous "
                                    + event.previousVersion() + ")"));
                });
            }
        }

        void checkCertificates() {
            check("server", tls.serverChain());
            check("trust-bundle", tls.trustAnchors());
        }

        private void check(String which, X509Certificate[] certificates) {
            Instant now = clock.instant();
            for (X509Certificate certificate : certificates) {
                Instant notBefore = certificate.getNotBefore().toInstant();
                Instant notAfter = certificate.getNotAfter().toInstant();
                Duration threshold = threshold(Duration.between(notBefore, notAfter));
                if (notAfter.isBefore(now.plus(threshold))) {
                    alerts.raise(Alert.of("certificate-expiry", now, null, null, which + " certificate "
                            + certificate.getSubjectX500Principal().getName() + " expires at " + notAfter
                            + ", less than " + threshold + " from now: its renewal is overdue (lifetime "
                            + Duration.between(notBefore, notAfter) + "); check cert-manager and renew it "
                            + "(keybroker.tls.* files are re-read without restart)"));
                }
            }
        }

        /**
         * How close to expiry a certificate of this lifetime alerts: the fixed warning, or a fraction of the
         * lifetime, whichever is shorter. A fixed 7 days alone would fire all day on 24 h certificates.
         */
        Duration threshold(Duration lifetime) {
            Duration relative = Duration.ofMillis((long) (lifetime.toMillis() * properties.certificateExpiryFraction()));
            return relative.compareTo(properties.certificateExpiryWarning()) < 0 ? relative
                    : properties.certificateExpiryWarning();
        }

        @Override
        public synchronized void stop() {
            checks.forEach(check -> check.cancel(true));
            checks.clear();
            if (rotations != null) {
                rotations.dispose();
                rotations = null;
            }
        }

        @Override
        public synchronized boolean isRunning() {
            return !checks.isEmpty();
        }
    }
}
