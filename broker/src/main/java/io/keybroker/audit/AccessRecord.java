package io.keybroker.audit;

import java.time.Instant;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import org.jspecify.annotations.Nullable;

/**
 * One access decision, as it goes into the audit trail. Holds names, versions and reasons, never a value.
 *
 * @param time when the request arrived
 * @param requestId the request id (the client's {@code X-Request-Id} if it sent a valid one)
 * @param endpoint which API answered: {@code v1}, {@code refresh}, {@code watch}, {@code config}, {@code agent}
 * @param identity the caller's workload identity, or {@code null} when the request carried none
 * @param secret the logical name, or {@code null} when the name was invalid (raw input is never recorded: a
 *     misbehaving client could have put anything in the URL)
 * @param stages the stages served (for a denial: the stages asked for)
 * @param decision what happened
 * @param rule the policy rule that decided, or a fixed id such as {@code default-deny}
 * @param reason a human-readable reason
 * @param versions version ids served by stage ({@code current}, {@code previous}); empty when nothing was served
 * @param source where the data came from: {@code cache}, {@code backend}, {@code stale}, or {@code null}
 * @param latencyMicros time from request to decision and data, in microseconds
 */
public record AccessRecord(Instant time, String requestId, String endpoint, @Nullable String identity, @Nullable String secret,
        List<String> stages, Decision decision, String rule, String reason, Map<String, String> versions,
        @Nullable String source, long latencyMicros) {

    /** The outcome of one request. */
    public enum Decision {
        ALLOW("allow"), DENY("deny"), INVALID("invalid"), NOT_FOUND("not-found"), UNAVAILABLE("unavailable"),
        RATE_LIMITED("rate-limited"),
        /** The broker failed to answer (a 500): nothing was served. */
        ERROR("error"),
        /** The client closed the connection before an answer was decided: nothing was served. */
        CANCELLED("cancelled");

        private final String id;

        Decision(String id) {
            this.id = id;
        }

        public String id() {
            return id;
        }
    }

    public AccessRecord {
        Objects.requireNonNull(time, "time must not be null");
        Objects.requireNonNull(decision, "decision must not be null");
        stages = stages == null ? List.of() : List.copyOf(stages);
        versions = versions == null ? Map.of() : java.util.Collections.unmodifiableMap(new java.util.LinkedHashMap<>(versions));
    }
}
