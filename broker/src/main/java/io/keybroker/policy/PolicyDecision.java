package io.keybroker.policy;

import java.util.Objects;

/**
 * The policy's answer to "may this identity read this stage of this secret?". Not the outcome of a request
 * ({@code AccessRecord.Decision} in the audit trail), of which a policy refusal is only one kind.
 *
 * @param allowed whether it may
 * @param rule the rule that decided: {@code <file>#<metadata.name>/workloads[i]/allow[j]} for a grant, or
 *     {@value #DEFAULT_DENY} when no rule grants it (there are no deny rules)
 * @param reason a human-readable explanation, for audit records, {@code policy explain} and 403 details; it names
 *     identities, secret names, stages and rules only
 */
public record PolicyDecision(boolean allowed, String rule, String reason) {

    /** The rule id of every denial: nothing granted it. */
    public static final String DEFAULT_DENY = "default-deny";

    public PolicyDecision {
        Objects.requireNonNull(rule, "rule must not be null");
        Objects.requireNonNull(reason, "reason must not be null");
    }

    static PolicyDecision allow(String rule, String reason) {
        return new PolicyDecision(true, rule, reason);
    }

    static PolicyDecision deny(String reason) {
        return new PolicyDecision(false, DEFAULT_DENY, reason);
    }
}
