package io.keybroker.listener;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.KeyStore;
import java.security.PrivateKey;
import java.security.cert.X509Certificate;
import java.util.Arrays;
import java.util.List;
import javax.net.ssl.KeyManagerFactory;
import javax.net.ssl.TrustManagerFactory;
import javax.net.ssl.X509ExtendedKeyManager;
import javax.net.ssl.X509ExtendedTrustManager;
import org.springframework.boot.ssl.pem.PemContent;

/**
 * One consistent set of listener material read from the PEM files: the server chain and key as a key manager,
 * the trust bundle as a PKIX trust manager. Loading checks that the key belongs to the certificate, so a
 * half-rotated pair (new certificate, old key) is refused instead of breaking every handshake.
 *
 * @param chain the server chain, leaf first
 * @param anchors the trust bundle
 * @param keyManager serves the chain and key
 * @param trustManager validates client chains against the anchors
 */
record TlsMaterial(X509Certificate[] chain, X509Certificate[] anchors, X509ExtendedKeyManager keyManager,
        X509ExtendedTrustManager trustManager) {

    static TlsMaterial load(Path certificate, Path privateKey, Path trustBundle) throws IOException {
        List<X509Certificate> chain = certificates(certificate, "keybroker.tls.certificate");
        PrivateKey key = read(privateKey, "keybroker.tls.private-key").getPrivateKey();
        if (key == null) {
            throw new IOException("keybroker.tls.private-key (" + privateKey + ") holds no PEM private key");
        }
        if (!matches(chain.get(0), key)) {
            throw new IOException("the private key in " + privateKey + " does not belong to the certificate in "
                    + certificate + "; replace both files together");
        }
        List<X509Certificate> anchors = certificates(trustBundle, "keybroker.tls.trust-bundle");
        try {
            char[] password = new char[0];
            KeyStore keys = KeyStore.getInstance("PKCS12");
            keys.load(null, null);
            keys.setKeyEntry("server", key, password, chain.toArray(X509Certificate[]::new));
            // SunX509, not PKIX: the PKIX key manager fetches the key from the PKCS12 store on every handshake,
            // and PKCS12 keeps it PBE-encrypted (10,000 PBKDF2 rounds), so each new connection paid several ms of
            // CPU in SHA-256. SunX509 reads the one entry once. Its weaker alias choice (no validity or key usage
            // ranking) does not matter for a store holding a single, already checked key.
            KeyManagerFactory kmf = KeyManagerFactory.getInstance("SunX509");
            kmf.init(keys, password);
            KeyStore trust = KeyStore.getInstance("PKCS12");
            trust.load(null, null);
            for (int i = 0; i < anchors.size(); i++) {
                trust.setCertificateEntry("ca-" + i, anchors.get(i));
            }
            TrustManagerFactory tmf = TrustManagerFactory.getInstance("PKIX");
            tmf.init(trust);
            return new TlsMaterial(chain.toArray(X509Certificate[]::new), anchors.toArray(X509Certificate[]::new),
                    pick(kmf.getKeyManagers(), X509ExtendedKeyManager.class),
                    pick(tmf.getTrustManagers(), X509ExtendedTrustManager.class));
        } catch (java.security.GeneralSecurityException ex) {
            throw new IOException("cannot build TLS material from " + certificate + ", " + privateKey + " and "
                    + trustBundle + ": " + ex.getMessage(), ex);
        }
    }

    private static List<X509Certificate> certificates(Path path, String property) throws IOException {
        List<X509Certificate> certificates = read(path, property).getCertificates();
        if (certificates == null || certificates.isEmpty()) {
            throw new IOException(property + " (" + path + ") holds no PEM certificate");
        }
        return certificates;
    }

    private static PemContent read(Path path, String property) throws IOException {
        if (!Files.isReadable(path)) {
            throw new IOException(property + " points at " + path + ", which does not exist or is not readable");
        }
        try {
            return PemContent.load(path);
        } catch (RuntimeException ex) {
            throw new IOException(property + " (" + path + ") is not valid PEM: " + ex.getMessage(), ex);
        }
    }

    private static boolean matches(X509Certificate certificate, PrivateKey key) {
        try {
            String algorithm = key.getAlgorithm().equals("EC") ? "SHA256withECDSA"
                    : key.getAlgorithm().equals("RSA") ? "SHA256withRSA" : key.getAlgorithm();
            java.security.Signature signer = java.security.Signature.getInstance(algorithm);
            byte[] probe = "keybroker-key-check".getBytes(java.nio.charset.StandardCharsets.US_ASCII);
            signer.initSign(key);
            signer.update(probe);
            byte[] signature = signer.sign();
            signer.initVerify(certificate.getPublicKey());
            signer.update(probe);
            return signer.verify(signature);
        } catch (java.security.GeneralSecurityException ex) {
            return false;
        }
    }

    private static <T> T pick(Object[] managers, Class<T> type) {
        return Arrays.stream(managers).filter(type::isInstance).map(type::cast).findFirst()
                .orElseThrow(() -> new IllegalStateException("the JDK offers no " + type.getSimpleName()));
    }
}
