/**
 * The commands of {@code keybroker.jar} ({@code policy}, {@code audit}, {@code rotate}, {@code injector}). They run
 * without the server and are the top of the dependency graph: no other package depends on them.
 */
@NullMarked
package io.keybroker.cli;

import org.jspecify.annotations.NullMarked;
