/**
 * The mTLS listener: TLS material that reloads on change, connection limits, and the counting of refused
 * handshakes and malformed requests. docs/tls-and-identity.md is the guide.
 */
@NullMarked
package io.keybroker.listener;

import org.jspecify.annotations.NullMarked;
