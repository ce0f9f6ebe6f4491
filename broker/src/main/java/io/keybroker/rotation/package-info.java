/**
 * Key rotation ({@code keybroker rotate}) and the rotation settings the read path shares (how long a previous
 * version keeps being served). docs/rotation.md is the guide.
 */
@NullMarked
package io.keybroker.rotation;

import org.jspecify.annotations.NullMarked;
