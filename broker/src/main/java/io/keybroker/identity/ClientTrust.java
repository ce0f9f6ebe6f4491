package io.keybroker.identity;

import java.security.cert.CertificateException;
import java.security.cert.X509Certificate;

/**
 * The trust bundle in force for client certificates, asked again after the handshake. A handshake's verdict goes
 * stale: the bundle can lose the issuing CA while a keep-alive connection stays open or while the client holds a
 * TLS session ticket it can resume from, and a certificate can expire on an open connection. None of these runs
 * the handshake's trust manager again, so {@link WorkloadIdentities} checks the chain against the current
 * snapshot whenever the snapshot or the chain's validity has moved on.
 */
public interface ClientTrust {

    /** The trust in force now. A reload puts a new snapshot in force; a snapshot itself never changes. */
    Snapshot current();

    /** One trust bundle, as it was read. */
    interface Snapshot {

        /**
         * Validates a client chain against this bundle at the current time, as the handshake does.
         * @throws CertificateException naming why the chain is not trusted
         */
        void check(X509Certificate[] chain) throws CertificateException;
    }
}
