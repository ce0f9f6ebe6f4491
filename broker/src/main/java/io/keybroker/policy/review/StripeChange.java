package io.keybroker.policy.review;

import java.util.Optional;

/**
 * One item of a workload entry's {@code stripe} section that a policy change adds or removes: the key the broker
 * calls Stripe with, a call it forwards, or a webhook secret the workload may verify against. A changed key is a
 * removal of the old one and an addition of the new one.
 *
 * @param identity the entry's identity pattern
 * @param item which list of the section
 * @param added true for an addition (in NEW only), false for a removal (in OLD only)
 * @param value the key name, the call ({@code POST /v1/refunds}) or the webhook secret pattern
 * @param rule the item's id in the policy it is in: {@code <entry>/stripe/key}, {@code <entry>/stripe/calls[i]} or
 *     {@code <entry>/stripe/webhookSecrets[i]}
 * @param coveredBy for a webhook secret, a pattern of the same entry in the other policy that covers it anyway
 */
public record StripeChange(String identity, Item item, boolean added, String value, String rule,
        Optional<String> coveredBy) {

    /** The three parts of the stripe section. */
    public enum Item {
        KEY("stripe.key"), CALL("stripe.calls"), WEBHOOK_SECRET("stripe.webhookSecrets");

        private final String field;

        Item(String field) {
            this.field = field;
        }

        /** The field as written in a policy file. */
        public String field() {
            return field;
        }
    }

    /** Whether the change alters what the workload may do (it is not covered by the other policy). */
    public boolean effective() {
        return coveredBy.isEmpty();
    }

    /** Why this widens access, or empty: a new Stripe call or a new webhook secret is widening. */
    public Optional<String> widening() {
        if (!added || !effective()) {
            return Optional.empty();
        }
        return switch (item) {
            case CALL -> Optional.of("new Stripe call: the broker now makes " + value + " with the workload's key");
            case WEBHOOK_SECRET -> Optional.of("new webhook secret: the workload may now verify webhooks against "
                    + value);
            case KEY -> Optional.empty();
        };
    }

    /** The policy file of the item. */
    public String file() {
        return PolicyDiff.fileOf(rule);
    }
}
