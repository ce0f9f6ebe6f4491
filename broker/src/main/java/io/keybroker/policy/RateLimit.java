package io.keybroker.policy;

import io.keybroker.secret.SecretName;
import java.time.Duration;
import java.util.Objects;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * A workload's request rate limit, written {@code COUNT/UNIT}: {@code 100/s}, {@code 6000/m}, {@code 10000/h}.
 * COUNT is a whole number from 1 to 1,000,000,000 without sign or leading zero; UNIT is {@code s} (second),
 * {@code m} (minute) or {@code h} (hour). It is enforced as a token bucket: up to COUNT requests at once,
 * refilled continuously at COUNT per UNIT.
 *
 * @param permits COUNT
 * @param period the UNIT as a duration
 */
public record RateLimit(long permits, Duration period) {

    static final long MAX_PERMITS = 1_000_000_000L;
    private static final Pattern SYNTAX = Pattern.compile("([1-9][0-9]{0,9})/([smh])");

    public RateLimit {
        Objects.requireNonNull(period, "period must not be null");
        if (permits < 1 || permits > MAX_PERMITS) {
            throw new IllegalArgumentException("permits must be 1 to " + MAX_PERMITS);
        }
        if (period.isNegative() || period.isZero()) {
            throw new IllegalArgumentException("period must be positive");
        }
    }

    /**
     * Parses {@code COUNT/UNIT}.
     * @throws IllegalArgumentException saying what to write instead
     */
    public static RateLimit parse(String raw) {
        Matcher m = SYNTAX.matcher(raw);
        if (!m.matches() || Long.parseLong(m.group(1)) > MAX_PERMITS) {
            throw new IllegalArgumentException("rate limit '" + SecretName.printable(raw) + "' is invalid; write "
                    + "COUNT/UNIT with COUNT a whole number from 1 to " + MAX_PERMITS + " and UNIT s, m or h, e.g. "
                    + "100/s or 6000/m (leave rateLimit out for no limit)");
        }
        Duration period = switch (m.group(2)) {
            case "s" -> Duration.ofSeconds(1);
            case "m" -> Duration.ofMinutes(1);
            default -> Duration.ofHours(1);
        };
        return new RateLimit(Long.parseLong(m.group(1)), period);
    }

    @Override
    public String toString() {
        String unit = period.equals(Duration.ofSeconds(1)) ? "s" : period.equals(Duration.ofMinutes(1)) ? "m"
                : period.equals(Duration.ofHours(1)) ? "h" : period.toString();
        return permits + "/" + unit;
    }
}
