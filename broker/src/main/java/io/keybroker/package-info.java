/**
 * The entry point: {@link io.keybroker.Keybroker} serves, or runs a command of {@code io.keybroker.cli} and exits.
 * docs/architecture.md maps the packages below and the direction their dependencies may take.
 */
@NullMarked
package io.keybroker;

import org.jspecify.annotations.NullMarked;
