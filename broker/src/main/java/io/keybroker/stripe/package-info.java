/**
 * Stripe through the broker: the workload calls Stripe without holding the key, and has webhook signatures
 * verified without holding the signing secret.
 *
 * <p>{@link io.keybroker.stripe.StripeProxyController} forwards {@code ANY /stripe/{path}} to Stripe with the
 * workload's key added on the way out (one bounded keep-alive pool in {@link io.keybroker.stripe.StripeHttp});
 * {@link io.keybroker.stripe.WebhookController} checks {@code Stripe-Signature} with
 * {@link io.keybroker.stripe.WebhookSignature} and remembers verified events in
 * {@link io.keybroker.stripe.ReplayCache}. What a workload may do is the {@code stripe} section of its policy entry
 * ({@link io.keybroker.policy.StripePolicy}). docs/stripe-proxy.md is the user's guide.
 */
@NullMarked
package io.keybroker.stripe;

import org.jspecify.annotations.NullMarked;
