/**
 * Prometheus metrics. They observe access, audit volume and certificates; they never take part in a decision.
 * docs/observability.md lists them.
 */
@NullMarked
package io.keybroker.metrics;

import org.jspecify.annotations.NullMarked;
