/**
 * The policy engine: who may read which secret, and at which stage.
 *
 * <p>{@link io.keybroker.policy.PolicyLoader} reads the YAML files of {@code keybroker.policy.dir} into a compiled,
 * immutable {@link io.keybroker.policy.PolicySet}; {@link io.keybroker.policy.PolicyStore} holds the one in force
 * and {@link io.keybroker.policy.PolicyWatcher} swaps it whole when the files change (an invalid change never takes
 * effect). The API asks {@link io.keybroker.policy.PolicySet#decide} on every request and
 * {@link io.keybroker.policy.RateLimiter#tryAcquire} for the 429; the {@code policy} commands ask the same
 * {@code decide}. The file format and the matching rules are documented for security engineers in
 * {@code docs/policy.md}.
 */
@NullMarked
package io.keybroker.policy;

import org.jspecify.annotations.NullMarked;
