/**
 * Policy review: what a change to the policy files grants or takes away ({@link io.keybroker.policy.review.PolicyDiff},
 * for {@code keybroker policy diff}), and the security team's own assertions about a policy
 * ({@link io.keybroker.policy.review.PolicyTestSuite}, for {@code keybroker policy test}). Both ask
 * {@link io.keybroker.policy.PolicySet#decide}, the method the server decides every request with, so a review can
 * never disagree with the broker. The file format and the commands are documented in {@code docs/policy.md} and
 * {@code docs/policy-review.md}.
 */
@NullMarked
package io.keybroker.policy.review;

import org.jspecify.annotations.NullMarked;
