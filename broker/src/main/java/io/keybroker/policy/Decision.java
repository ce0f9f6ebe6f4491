package io.keybroker.policy;

import java.util.Objects;

/**
 * The answer to "may this identity read this stage of this secret?".
 *
 * @param allowed whether it may
 * @param rule the rule that decided: {@code <file>#<metadata.name>/workloads[i]/allow[j]} for a grant, or
 *     {@value #DEFAULT_DENY} when no rule grants it (there are no deny rules)
 * @param reason a human-readable explanation, for audit records, {@code policy explain} and 403 details; it names
 *     identities, secret names, stages and rules only
 */
public record Decision(boolean allowed, String rule, String reason) {

    /** The rule id of every denial: nothing granted it. */
    public static final String DEFAULT_DENY = "default-deny";

    public Decision {
        Objects.requireNonNull(rule, "rule must not be null");
        Objects.requireNonNull(reason, "reason must not be null");
    }

    static Decision allow(String rule, String reason) {
        return new Decision(true, rule, reason);
    }

    static Decision deny(String reason) {
        return new Decision(false, DEFAULT_DENY, reason);
    }
}
