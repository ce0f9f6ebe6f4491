package io.keybroker.policy;

import io.keybroker.secret.Stage;
import java.util.List;
import java.util.Optional;
import java.util.Set;

/**
 * One validated policy file, before compilation into a {@link PolicySet}.
 *
 * @param file the file name
 * @param name {@code metadata.name}
 * @param workloads {@code spec.workloads}, in file order
 */
record PolicyDocument(String file, String name, List<Workload> workloads) {

    PolicyDocument {
        workloads = List.copyOf(workloads);
    }

    /**
     * One entry of {@code spec.workloads}.
     *
     * @param id {@code <file>#<metadata.name>/workloads[i]}
     * @param identity the identity pattern
     * @param application the application name
     * @param rateLimit the rate limit, empty for none
     * @param allow the allow rules, in file order (may be empty when the entry has a stripe section)
     * @param stripe the {@code stripe} section, empty when absent
     */
    record Workload(String id, IdentityPattern identity, String application, Optional<RateLimit> rateLimit,
            List<Allow> allow, Optional<StripePolicy> stripe) {

        Workload {
            allow = List.copyOf(allow);
        }
    }

    /**
     * One entry of {@code allow}.
     *
     * @param id {@code <file>#<metadata.name>/workloads[i]/allow[j]}
     * @param secrets the secret patterns
     * @param stages the stages
     */
    record Allow(String id, List<SecretPattern> secrets, Set<Stage> stages) {

        Allow {
            secrets = List.copyOf(secrets);
            stages = Set.copyOf(stages);
        }
    }
}
