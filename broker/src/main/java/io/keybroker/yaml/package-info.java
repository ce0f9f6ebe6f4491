/**
 * The one way the broker reads YAML that people write: {@link io.keybroker.yaml.SafeYaml} decodes strict UTF-8,
 * composes SnakeYAML's node tree (which keeps line numbers) under size, alias and nesting limits with global
 * tags refused, and gives the node helpers both parsers use. The policy files and the file backend's secrets file
 * go through it, so a limit added here protects both.
 */
@NullMarked
package io.keybroker.yaml;

import org.jspecify.annotations.NullMarked;
