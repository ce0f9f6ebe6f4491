package io.keybroker.bench;

import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.GeneralSecurityException;
import java.security.KeyFactory;
import java.security.KeyStore;
import java.security.PrivateKey;
import java.security.cert.Certificate;
import java.security.cert.CertificateFactory;
import java.security.spec.PKCS8EncodedKeySpec;
import java.util.Base64;
import java.util.Collection;
import javax.net.ssl.KeyManager;
import javax.net.ssl.KeyManagerFactory;
import javax.net.ssl.SSLContext;
import javax.net.ssl.TrustManager;
import javax.net.ssl.TrustManagerFactory;

/** The client's mTLS context from the PEM files development mode writes (PKCS#8 key, EC or RSA). */
final class Pem {

    private Pem() {
    }

    /** The client's key and trust managers, read once: parsing and storing the key is most of a context's cost. */
    record Managers(KeyManager[] keys, TrustManager[] trust) {

        /**
         * A new context around the same managers. Its session cache starts empty, so its first handshake is a
         * full one, and building it costs the client almost nothing, so a run of new connections measures the
         * server's handshakes rather than the load generator's key parsing.
         */
        SSLContext newContext() throws GeneralSecurityException {
            SSLContext context = SSLContext.getInstance("TLSv1.3");
            context.init(keys, trust, null);
            return context;
        }
    }

    static SSLContext context(Path certificate, Path privateKey, Path caBundle) throws IOException,
            GeneralSecurityException {
        return managers(certificate, privateKey, caBundle).newContext();
    }

    static Managers managers(Path certificate, Path privateKey, Path caBundle) throws IOException,
            GeneralSecurityException {
        CertificateFactory x509 = CertificateFactory.getInstance("X.509");
        Collection<? extends Certificate> chain;
        try (InputStream in = Files.newInputStream(certificate)) {
            chain = x509.generateCertificates(in);
        }
        Collection<? extends Certificate> cas;
        try (InputStream in = Files.newInputStream(caBundle)) {
            cas = x509.generateCertificates(in);
        }
        char[] none = new char[0];
        KeyStore keys = KeyStore.getInstance("PKCS12");
        keys.load(null, null);
        keys.setKeyEntry("client", key(privateKey), none, chain.toArray(Certificate[]::new));
        KeyManagerFactory kmf = KeyManagerFactory.getInstance(KeyManagerFactory.getDefaultAlgorithm());
        kmf.init(keys, none);
        KeyStore trust = KeyStore.getInstance("PKCS12");
        trust.load(null, null);
        int i = 0;
        for (Certificate ca : cas) {
            trust.setCertificateEntry("ca-" + i++, ca);
        }
        TrustManagerFactory tmf = TrustManagerFactory.getInstance(TrustManagerFactory.getDefaultAlgorithm());
        tmf.init(trust);
        return new Managers(kmf.getKeyManagers(), tmf.getTrustManagers());
    }

    private static PrivateKey key(Path file) throws IOException, GeneralSecurityException {
        String pem = Files.readString(file, StandardCharsets.US_ASCII);
        int start = pem.indexOf("-----BEGIN PRIVATE KEY-----");
        int end = pem.indexOf("-----END PRIVATE KEY-----");
        if (start < 0 || end < 0) {
            throw new GeneralSecurityException(file + " is not a PKCS#8 PEM key (BEGIN PRIVATE KEY)");
        }
        byte[] der = Base64.getMimeDecoder().decode(pem.substring(start + 27, end));
        for (String algorithm : new String[] {"EC", "RSA"}) {
            try {
                return KeyFactory.getInstance(algorithm).generatePrivate(new PKCS8EncodedKeySpec(der));
            } catch (GeneralSecurityException ex) {
                // the next algorithm
            }
        }
        throw new GeneralSecurityException(file + " holds a key of an unsupported algorithm");
    }
}
