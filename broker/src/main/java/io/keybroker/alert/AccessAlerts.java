package io.keybroker.alert;

import io.keybroker.audit.AccessListener;
import io.keybroker.audit.AccessRecord;
import java.io.BufferedReader;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Instant;
import java.util.ArrayDeque;
import java.util.Deque;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import tools.jackson.databind.JsonNode;
import tools.jackson.databind.json.JsonMapper;

/**
 * Watches every decision for the access patterns a security team wants to hear about as they happen:
 * <ul>
 *   <li>{@code denial-burst}: one identity denied {@code denial-burst} times within {@code denial-window}
 *       (a workload probing for secrets, or a broken deployment); then at most once per identity per
 *       {@code denial-window}, the next alert counting every denial since the last one, so a workload that keeps
 *       failing raises one alert a window, not one every {@code denial-burst} requests;</li>
 *   <li>{@code unusual-rate}: one identity reading more than {@code rate-factor} times its own moving baseline
 *       in a minute, and at least {@code rate-minimum} reads, once its baseline has warmed up;</li>
 *   <li>{@code first-read}: an identity reading a secret it has not read before. "Before" is what the broker
 *       knows: the allowed reads in the audit trail it keeps (read at start, newest files first, up to
 *       {@value #LEARN_BYTES} bytes), and the reads of its first {@code first-read-warmup} (10 min), which are
 *       learned without alerting. So neither a restarted sidecar nor a new pod, whose workload reads its usual
 *       secrets as it starts, raises anything; a workload that later reaches for a secret it never read does;</li>
 *   <li>{@code stale-served}: a value served past its TTL because the backend fails, at most once per secret per
 *       {@code stale-repeat}.</li>
 * </ul>
 * Memory is bounded: the identities and pairs tracked are capped, the oldest forgotten first.
 */
public final class AccessAlerts implements AccessListener {

    private static final Logger log = LoggerFactory.getLogger(AccessAlerts.class);

    static final int MAX_TRACKED = 10_000;
    /** How much of the retained audit trail is read at start to learn the pairs already read. */
    static final long LEARN_BYTES = 64L * 1024 * 1024;
    private static final String ACCESS_PREFIX = "{\"type\":\"access\",";

    private final AlertService alerts;
    private final AlertProperties properties;
    private final Clock clock;
    private final Map<String, Deque<Instant>> denials = bounded();
    private final Map<String, Rate> rates = bounded();
    /**
     * Pairs already reported, least recently read evicted first: a full set forgets its oldest pair (which may
     * alert again) instead of going silent for every new pair.
     */
    private final Map<String, Boolean> seenPairs = bounded();
    private final Map<String, Instant> lastStaleAlert = bounded();
    private final Map<String, Instant> lastDenialAlert = bounded();
    private final Map<String, Integer> deniedSinceAlert = bounded();

    private final Instant learnUntil;

    public AccessAlerts(AlertService alerts, AlertProperties properties, Clock clock) {
        this.alerts = alerts;
        this.properties = properties;
        this.clock = clock;
        this.learnUntil = clock.instant().plus(properties.firstReadWarmup());
    }

    /**
     * Remembers the (identity, secret) pairs of the allowed reads in audit files, newest first, so that reads the
     * trail already shows raise no {@code first-read}. Unreadable files and lines are skipped: this only
     * lowers noise, the trail itself is checked by {@code audit verify}.
     * @param trail the audit files, oldest first
     */
    public synchronized void learnFrom(List<Path> trail) {
        JsonMapper json = JsonMapper.builder().build();
        long budget = LEARN_BYTES;
        for (int i = trail.size() - 1; i >= 0 && budget > 0 && seenPairs.size() < MAX_TRACKED; i--) {
            Path file = trail.get(i);
            try (BufferedReader reader = Files.newBufferedReader(file, StandardCharsets.UTF_8)) {
                String line;
                while ((line = reader.readLine()) != null && budget > 0 && seenPairs.size() < MAX_TRACKED) {
                    budget -= line.length() + 1;
                    if (line.startsWith(ACCESS_PREFIX) && line.contains("\"decision\":\"allow\"")) {
                        JsonNode record = json.readTree(line);
                        String identity = record.path("identity").asString(null);
                        String secret = record.path("secret").asString(null);
                        if (identity != null && secret != null) {
                            seenPairs.put(identity + " " + secret, Boolean.TRUE);
                        }
                    }
                }
            } catch (IOException | RuntimeException ex) {
                log.warn("cannot learn earlier reads from the audit file {}: {}", file, ex.getMessage());
            }
        }
        log.info("first-read: {} (identity, secret) pairs learned from the audit trail", seenPairs.size());
    }

    @Override
    public synchronized void onAccess(AccessRecord record) {
        if (record.identity() == null) {
            return;
        }
        Instant now = clock.instant();
        switch (record.decision()) {
            case DENY -> denied(record, now);
            case ALLOW -> allowed(record, now);
            default -> { }
        }
    }

    private void denied(AccessRecord record, Instant now) {
        String identity = record.identity();
        Instant last = lastDenialAlert.get(identity);
        if (last != null && now.isBefore(last.plus(properties.denialWindow()))) {
            // Within the quiet period after an alert: count, and report the total with the next alert.
            deniedSinceAlert.merge(identity, 1, Integer::sum);
            return;
        }
        Deque<Instant> times = denials.computeIfAbsent(identity, k -> new ArrayDeque<>());
        times.addLast(now);
        Instant horizon = now.minus(properties.denialWindow());
        while (!times.isEmpty() && times.peekFirst().isBefore(horizon)) {
            times.removeFirst();
        }
        if (times.size() >= properties.denialBurst()) {
            Integer quiet = deniedSinceAlert.remove(identity);
            String since = quiet == null ? "" : " (and " + quiet + " more since the previous alert)";
            alerts.raise(Alert.of("denial-burst", now, identity, record.secret(), times.size()
                    + " requests denied within " + properties.denialWindow() + since + "; last: " + record.reason()));
            lastDenialAlert.put(identity, now);
            times.clear();
        }
    }

    private void allowed(AccessRecord record, Instant now) {
        // A read hands out a value: a watch, a refresh or a HEAD records no version and is not a first read.
        if (record.secret() != null && properties.firstRead() && !record.versions().isEmpty()) {
            String pair = record.identity() + " " + record.secret();
            // Learned during the warm-up, or before in the retained trail: remembered, not alerted.
            if (seenPairs.put(pair, Boolean.TRUE) == null && !now.isBefore(learnUntil)) {
                alerts.raise(Alert.of("first-read", now, record.identity(), record.secret(),
                        "first read of this secret by this identity: not in the retained audit trail, nor since "
                                + "the broker started"));
            }
        }
        if ("stale".equals(record.source()) && record.secret() != null) {
            Instant last = lastStaleAlert.get(record.secret());
            if (last == null || !now.isBefore(last.plus(properties.staleRepeat()))) {
                lastStaleAlert.put(record.secret(), now);
                alerts.raise(Alert.of("stale-served", now, record.identity(), record.secret(),
                        "served a cached value past its TTL because the backend fails"));
            }
        }
        rates.computeIfAbsent(record.identity(), k -> new Rate(now)).count(record.identity(), now);
    }

    /** Reads per minute of one identity against an exponentially weighted moving average of its past minutes. */
    private final class Rate {
        private final Instant firstSeen;
        private long minute;
        private int count;
        private double baseline = -1;
        private boolean alertedThisMinute;

        Rate(Instant now) {
            this.firstSeen = now;
            this.minute = now.getEpochSecond() / 60;
        }

        void count(String identity, Instant now) {
            long current = now.getEpochSecond() / 60;
            if (current != minute) {
                // Close the finished minute, and any idle minutes after it, into the baseline.
                for (long m = minute; m < current && m < minute + 60; m++) {
                    double observed = m == minute ? count : 0;
                    baseline = baseline < 0 ? observed : 0.8 * baseline + 0.2 * observed;
                }
                minute = current;
                count = 0;
                alertedThisMinute = false;
            }
            count++;
            boolean warm = !now.isBefore(firstSeen.plus(properties.rateWarmup())) && baseline >= 0;
            if (warm && !alertedThisMinute && count >= properties.rateMinimum()
                    && count > properties.rateFactor() * Math.max(baseline, 1.0)) {
                alertedThisMinute = true;
                alerts.raise(Alert.of("unusual-rate", now, identity, null, count + " reads this minute against a "
                        + "baseline of " + Math.round(baseline) + " per minute"));
            }
        }
    }

    private static <V> Map<String, V> bounded() {
        return new LinkedHashMap<>(16, 0.75f, true) {
            @Override
            protected boolean removeEldestEntry(Map.Entry<String, V> eldest) {
                return size() > MAX_TRACKED;
            }
        };
    }
}
