/**
 * Configuration shared by every feature: the {@code keybroker.*} properties, the check that refuses an unknown
 * property, and the start-up failure report. It depends on no other broker package, so any package may use it.
 */
@NullMarked
package io.keybroker.config;

import org.jspecify.annotations.NullMarked;
