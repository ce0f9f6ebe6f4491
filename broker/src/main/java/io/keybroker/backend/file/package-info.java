/**
 * The {@code file} backend for development: one YAML file keyed by backend path, re-read when it changes.
 * {@link io.keybroker.backend.file.FileSecretBackend} keeps only metadata and parses the file again for every
 * read, so no value stays in its memory. The format is in docs/file-backend.md.
 */
@NullMarked
package io.keybroker.backend.file;

import org.jspecify.annotations.NullMarked;
