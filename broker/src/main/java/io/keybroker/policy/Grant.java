package io.keybroker.policy;

import io.keybroker.identity.WorkloadIdentity;
import io.keybroker.secret.SecretName;
import io.keybroker.secret.Stage;

/**
 * The smallest unit a policy grants: identities matching {@code identity} may read stage {@code stage} of the
 * secrets matching {@code secret}. {@code policy unused} reports grants in this form.
 *
 * @param identity the workload entry's identity pattern
 * @param secret one secret pattern of the allow rule
 * @param stage one stage of the allow rule
 * @param rule the allow rule's id, {@code <file>#<metadata.name>/workloads[i]/allow[j]}
 */
public record Grant(IdentityPattern identity, SecretPattern secret, Stage stage, String rule) {

    /** Whether an access by {@code caller} to {@code name} at {@code served} exercised this grant. */
    public boolean covers(WorkloadIdentity caller, SecretName name, Stage served) {
        return stage == served && identity.matches(caller) && secret.matches(name);
    }
}
