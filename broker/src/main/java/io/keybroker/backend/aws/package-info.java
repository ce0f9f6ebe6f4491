/**
 * The AWS Secrets Manager backend, behind {@link io.keybroker.backend.SecretBackend}; docs/aws.md is the guide.
 */
@NullMarked
package io.keybroker.backend.aws;

import org.jspecify.annotations.NullMarked;
