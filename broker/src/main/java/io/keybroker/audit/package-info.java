/**
 * The audit trail: one hash-chained record per access, written before the answer leaves, so a failed write
 * refuses the request instead of serving it unrecorded. docs/audit.md has the format and the verifier.
 */
@NullMarked
package io.keybroker.audit;

import org.jspecify.annotations.NullMarked;
