package io.keybroker.policy.review;

import io.keybroker.policy.Grant;
import java.util.List;
import java.util.Optional;

/**
 * One grant (identity pattern, secret pattern, stage) that a policy change adds or removes.
 *
 * @param grant the grant, with the rule of the policy it is in (NEW for an addition, OLD for a removal)
 * @param widening for an addition, why it widens access in a way reviewers must see (a wider identity pattern, a
 *     wildcard that covers names no rule covered, a new previous stage); empty otherwise
 * @param coveredBy the rule of the other policy that grants it anyway (for an addition, an OLD rule that already
 *     granted it; for a removal, a NEW rule that still grants it), so that the change has no effect
 */
public record GrantChange(Grant grant, List<String> widening, Optional<String> coveredBy) {

    public GrantChange {
        widening = List.copyOf(widening);
    }

    /** Whether the change alters what anyone may read (it is not covered by a rule of the other policy). */
    public boolean effective() {
        return coveredBy.isEmpty();
    }

    /** The policy file of the rule, from its id {@code <file>#<name>/workloads[i]/allow[j]}. */
    public String file() {
        return PolicyDiff.fileOf(grant.rule());
    }
}
