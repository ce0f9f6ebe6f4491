/**
 * {@code keybroker policy ...}: one class per subcommand ({@code check}, {@code explain}, {@code unused},
 * {@code test}, {@code diff}) under {@link io.keybroker.cli.policy.PolicyCommand}. They load policies with the
 * broker's own {@link io.keybroker.policy.PolicyLoader} and decide with {@link io.keybroker.policy.PolicySet#decide},
 * so a command can never disagree with the server. {@code diff} reads git revisions through
 * {@link io.keybroker.cli.policy.PolicySource}; the review logic itself lives in {@code io.keybroker.policy.review}.
 */
@NullMarked
package io.keybroker.cli.policy;

import org.jspecify.annotations.NullMarked;
