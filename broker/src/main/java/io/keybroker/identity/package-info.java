/**
 * Who is calling: the caller's verified identity, taken from its client certificate during the handshake, and
 * the SPIFFE ID grammar the policy file uses as well. It is below the policy: policies name identities, never the
 * other way round. docs/tls-and-identity.md is the guide.
 */
@NullMarked
package io.keybroker.identity;

import org.jspecify.annotations.NullMarked;
