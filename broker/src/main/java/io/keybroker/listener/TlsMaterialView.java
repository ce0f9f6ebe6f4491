package io.keybroker.listener;

import java.security.cert.X509Certificate;

/** The TLS material in force now, for expiry metrics and alerts. */
public interface TlsMaterialView {

    /** The server certificate chain, leaf first. */
    X509Certificate[] serverChain();

    /** The CA certificates client certificates must chain to. */
    X509Certificate[] trustAnchors();
}
