/**
 * The values every layer passes around: secret names, stages and values. It depends on no other broker package.
 */
@NullMarked
package io.keybroker.secret;

import org.jspecify.annotations.NullMarked;
