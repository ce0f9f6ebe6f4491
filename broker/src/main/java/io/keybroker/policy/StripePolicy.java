package io.keybroker.policy;

import io.keybroker.secret.SecretName;
import java.util.List;
import java.util.Optional;

/**
 * A workload entry's {@code stripe} section: what the workload may do with Stripe through the broker without ever
 * reading a key. Neither the key nor the webhook secrets need a read grant under {@code allow}.
 *
 * @param key {@code stripe.key}: the secret whose current value the broker sends to Stripe as
 *     {@code Authorization: Bearer}; empty when the entry only verifies webhooks
 * @param calls {@code stripe.calls}: the calls the broker forwards with that key, in file order
 * @param webhookSecrets {@code stripe.webhookSecrets}: the secrets the workload may verify webhook signatures
 *     against (exact names or {@code /*}, {@code /**} patterns), in file order
 */
public record StripePolicy(Optional<SecretName> key, List<StripeCallPattern> calls,
        List<SecretPattern> webhookSecrets) {

    public StripePolicy {
        calls = List.copyOf(calls);
        webhookSecrets = List.copyOf(webhookSecrets);
    }

    /** The index of the first call pattern covering the call, or -1. */
    public int matchingCall(String method, String path) {
        for (int i = 0; i < calls.size(); i++) {
            if (calls.get(i).matches(method, path)) {
                return i;
            }
        }
        return -1;
    }

    /** The index of the first webhook secret pattern covering {@code name}, or -1. */
    public int matchingWebhookSecret(SecretName name) {
        for (int i = 0; i < webhookSecrets.size(); i++) {
            if (webhookSecrets.get(i).matches(name)) {
                return i;
            }
        }
        return -1;
    }
}
