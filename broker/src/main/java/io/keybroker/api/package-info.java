/**
 * The HTTP API of the broker. {@link io.keybroker.api.AccessEdge} is the one edge where every request is checked,
 * mapped from exception to status and audited exactly once; the controllers only read and answer. The request
 * path through these classes is in docs/architecture.md, the endpoints in docs/api.md.
 */
@NullMarked
package io.keybroker.api;

import org.jspecify.annotations.NullMarked;
