/**
 * The backend seam: {@link io.keybroker.backend.SecretBackend} is all the cache and the API ever see of Vault,
 * AWS Secrets Manager or the file backend, so a new backend changes no caller. docs/architecture.md has the
 * checklist for adding one.
 */
@NullMarked
package io.keybroker.backend;

import org.jspecify.annotations.NullMarked;
