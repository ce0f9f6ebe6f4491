package io.keybroker.policy.review;

import io.keybroker.secret.Stage;
import java.util.List;

/**
 * The concrete secrets one identity gains or loses, out of a list of known secret names.
 *
 * @param identity the identity pattern of a workload entry of either policy
 * @param caller the caller decided for: the identity itself, or for a prefix pattern a made-up workload under it
 *     that no entry names exactly ("any other workload under the prefix")
 * @param gained what NEW allows and OLD did not, each with the NEW rule that allows it
 * @param lost what OLD allowed and NEW does not, each with the OLD rule that allowed it
 */
public record SecretChange(String identity, String caller, List<Access> gained, List<Access> lost) {

    public SecretChange {
        gained = List.copyOf(gained);
        lost = List.copyOf(lost);
    }

    /**
     * One stage of one secret.
     *
     * @param secret the secret name
     * @param stage the stage
     * @param rule the rule that allows (gained) or allowed (lost) it
     */
    public record Access(String secret, Stage stage, String rule) {
    }
}
