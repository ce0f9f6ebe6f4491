/**
 * Alerts sent to a webhook: unusual access, audit volume, certificates near expiry. They observe the audit
 * trail, the cache and the listener and are told after the fact, so an alert can never change a decision;
 * docs/observability.md lists them.
 */
@NullMarked
package io.keybroker.alert;

import org.jspecify.annotations.NullMarked;
