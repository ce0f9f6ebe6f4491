package io.keybroker.listener;

import io.keybroker.identity.ClientTrust;
import io.keybroker.identity.SpiffeCertificates;
import java.io.IOException;
import java.net.Socket;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.security.Principal;
import java.security.PrivateKey;
import java.security.cert.CertificateException;
import java.security.cert.X509Certificate;
import java.util.Arrays;
import java.util.concurrent.atomic.AtomicReference;
import javax.net.ssl.SSLEngine;
import javax.net.ssl.X509ExtendedKeyManager;
import javax.net.ssl.X509ExtendedTrustManager;
import org.jspecify.annotations.Nullable;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The listener's certificate, key and trust bundle, re-read when the files change, without a restart and without
 * dropping a connection.
 *
 * <p>The Netty SSL context is built once around the {@link #keyManager()} and {@link #trustManager()} given here;
 * they delegate to whatever material is current, so each new handshake sees new files and open connections
 * keep their session. Changes are found by a digest of the three files' contents, not by file events, because
 * Kubernetes swaps a {@code ..data} symlink and event watchers miss that. A reload that fails (a half-written
 * file, a key that does not match the certificate) keeps the old material in force and says what is wrong.
 *
 * <p>The trust manager runs the PKIX check against the trust bundle and then the X.509-SVID rules
 * ({@link SpiffeCertificates}), so a certificate without a valid SPIFFE ID fails the handshake itself: no HTTP
 * exchange ever happens for it. As {@link ClientTrust} it lets the request filter check a chain again against the
 * bundle in force, since a reload reaches neither open connections nor resumed sessions.
 */
public final class ReloadingTlsMaterial implements TlsMaterialView, ClientTrust {

    private static final Logger log = LoggerFactory.getLogger(ReloadingTlsMaterial.class);

    private final Path certificate;
    private final Path privateKey;
    private final Path trustBundle;
    private final boolean allowSubjectCn;
    private final AtomicReference<Loaded> current = new AtomicReference<>();
    private volatile String lastFailure;

    private record Loaded(TlsMaterial material, byte[] digest) implements ClientTrust.Snapshot {

        @Override
        public void check(X509Certificate[] chain) throws CertificateException {
            if (chain == null || chain.length == 0) {
                throw new CertificateException("no client certificate was presented");
            }
            // The PKIX trust manager ignores the auth type for client chains but refuses an empty one.
            material.trustManager().checkClientTrusted(chain, chain[0].getPublicKey().getAlgorithm());
        }
    }

    /**
     * Loads the material.
     * @throws IOException naming the property and the file when the first load fails
     */
    public ReloadingTlsMaterial(Path certificate, Path privateKey, Path trustBundle, boolean allowSubjectCn)
            throws IOException {
        this.certificate = certificate;
        this.privateKey = privateKey;
        this.trustBundle = trustBundle;
        this.allowSubjectCn = allowSubjectCn;
        byte[] digest = digest();
        current.set(new Loaded(TlsMaterial.load(certificate, privateKey, trustBundle), digest));
    }

    /** Re-reads the files if their contents changed; returns whether new material is now in force. */
    public boolean reloadIfChanged() {
        byte[] digest;
        try {
            digest = digest();
        } catch (IOException ex) {
            reportFailure("cannot read the TLS files: " + ex.getMessage());
            return false;
        }
        if (Arrays.equals(digest, current.get().digest())) {
            return false;
        }
        try {
            TlsMaterial material = TlsMaterial.load(certificate, privateKey, trustBundle);
            // Only adopt what was read if the files did not move under us while reading.
            if (!Arrays.equals(digest, digest())) {
                return false;
            }
            current.set(new Loaded(material, digest));
            lastFailure = null;
            log.info("Reloaded TLS material: server certificate serial {} valid until {}, {} trust anchor(s)",
                    material.chain()[0].getSerialNumber().toString(16), material.chain()[0].getNotAfter(),
                    material.anchors().length);
            return true;
        } catch (IOException ex) {
            reportFailure(ex.getMessage() + "; the previous certificate, key and trust bundle stay in force");
            return false;
        }
    }

    private void reportFailure(String message) {
        if (!message.equals(lastFailure)) {
            log.error("TLS reload failed: {}", message);
            lastFailure = message;
        }
    }

    private byte[] digest() throws IOException {
        try {
            MessageDigest sha = MessageDigest.getInstance("SHA-256");
            for (Path path : new Path[] {certificate, privateKey, trustBundle}) {
                byte[] content = Files.readAllBytes(path);
                sha.update(content);
                Arrays.fill(content, (byte) 0);
                sha.update((byte) 0);
            }
            return sha.digest();
        } catch (NoSuchAlgorithmException ex) {
            throw new IllegalStateException(ex);
        }
    }

    @Override
    public ClientTrust.Snapshot current() {
        return current.get();
    }

    @Override
    public X509Certificate[] serverChain() {
        return current.get().material().chain().clone();
    }

    @Override
    public X509Certificate[] trustAnchors() {
        return current.get().material().anchors().clone();
    }

    public X509ExtendedKeyManager keyManager() {
        return new KeyManager();
    }

    public X509ExtendedTrustManager trustManager() {
        return new TrustManager((engine, chain, why) -> { }, (engine, chain, snapshot) -> { });
    }

    /** A trust manager that tells {@code refusals} about every chain it refuses. */
    public X509ExtendedTrustManager trustManager(HandshakeRefusals refusals) {
        return new TrustManager(refusals::noted, (engine, chain, snapshot) -> { });
    }

    /**
     * A trust manager that tells {@code refusals} about every chain it refuses, and {@code accepted} about every
     * chain it accepts on an engine, with the trust snapshot it was checked against (so the session's identity
     * verdict need not validate the same chain a second time).
     */
    public X509ExtendedTrustManager trustManager(HandshakeRefusals refusals, AcceptObserver accepted) {
        return new TrustManager(refusals::noted, accepted);
    }

    private interface RefusalObserver {
        void refused(SSLEngine engine, X509Certificate[] chain, CertificateException why);
    }

    /** Told of a client chain the handshake accepted. */
    public interface AcceptObserver {
        void accepted(SSLEngine engine, X509Certificate[] chain, ClientTrust.Snapshot checkedAgainst);
    }

    private X509ExtendedKeyManager keys() {
        return current.get().material().keyManager();
    }

    private X509ExtendedTrustManager trust() {
        return current.get().material().trustManager();
    }

    private final class KeyManager extends X509ExtendedKeyManager {

        @Override
        public String @Nullable [] getClientAliases(String keyType, Principal[] issuers) {
            return null;
        }

        @Override
        public @Nullable String chooseClientAlias(String[] keyType, Principal[] issuers, Socket socket) {
            return null;
        }

        @Override
        public String[] getServerAliases(String keyType, Principal[] issuers) {
            return keys().getServerAliases(keyType, issuers);
        }

        @Override
        public String chooseServerAlias(String keyType, Principal[] issuers, Socket socket) {
            return keys().chooseServerAlias(keyType, issuers, socket);
        }

        @Override
        public String chooseEngineServerAlias(String keyType, Principal[] issuers, SSLEngine engine) {
            return keys().chooseEngineServerAlias(keyType, issuers, engine);
        }

        @Override
        public X509Certificate[] getCertificateChain(String alias) {
            return keys().getCertificateChain(alias);
        }

        @Override
        public PrivateKey getPrivateKey(String alias) {
            return keys().getPrivateKey(alias);
        }
    }

    private final class TrustManager extends X509ExtendedTrustManager {

        private final RefusalObserver refusals;
        private final AcceptObserver accepted;

        TrustManager(RefusalObserver refusals, AcceptObserver accepted) {
            this.refusals = refusals;
            this.accepted = accepted;
        }

        @Override
        public void checkClientTrusted(X509Certificate[] chain, String authType, Socket socket)
                throws CertificateException {
            try {
                trust().checkClientTrusted(chain, authType, socket);
                SpiffeCertificates.identify(chain, allowSubjectCn);
            } catch (CertificateException ex) {
                refusals.refused(null, chain, ex);
                throw ex;
            }
        }

        @Override
        public void checkClientTrusted(X509Certificate[] chain, String authType, SSLEngine engine)
                throws CertificateException {
            Loaded snapshot = current.get();
            try {
                snapshot.material().trustManager().checkClientTrusted(chain, authType, engine);
                SpiffeCertificates.identify(chain, allowSubjectCn);
            } catch (CertificateException ex) {
                refusals.refused(engine, chain, ex);
                throw ex;
            }
            accepted.accepted(engine, chain, snapshot);
        }

        @Override
        public void checkClientTrusted(X509Certificate[] chain, String authType) throws CertificateException {
            try {
                trust().checkClientTrusted(chain, authType);
                SpiffeCertificates.identify(chain, allowSubjectCn);
            } catch (CertificateException ex) {
                refusals.refused(null, chain, ex);
                throw ex;
            }
        }

        @Override
        public void checkServerTrusted(X509Certificate[] chain, String authType, Socket socket)
                throws CertificateException {
            throw new CertificateException("the listener does not validate server certificates");
        }

        @Override
        public void checkServerTrusted(X509Certificate[] chain, String authType, SSLEngine engine)
                throws CertificateException {
            throw new CertificateException("the listener does not validate server certificates");
        }

        @Override
        public void checkServerTrusted(X509Certificate[] chain, String authType) throws CertificateException {
            throw new CertificateException("the listener does not validate server certificates");
        }

        @Override
        public X509Certificate[] getAcceptedIssuers() {
            return trust().getAcceptedIssuers();
        }
    }
}
