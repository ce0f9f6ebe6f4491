/**
 * Development mode: a throw-away PKI and loud warnings, switched on only by an explicit flag
 * (docs/development-mode.md). Nothing else depends on it, so production never runs its code paths by accident.
 */
@NullMarked
package io.keybroker.dev;

import org.jspecify.annotations.NullMarked;
