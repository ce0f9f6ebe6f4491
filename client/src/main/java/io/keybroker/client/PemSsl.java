package io.keybroker.client;

import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.io.InputStreamReader;
import java.lang.System.Logger.Level;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.GeneralSecurityException;
import java.security.KeyStore;
import java.security.MessageDigest;
import java.security.Principal;
import java.security.PrivateKey;
import java.security.SecureRandom;
import java.security.cert.CertificateException;
import java.security.cert.CertificateFactory;
import java.security.cert.X509Certificate;
import java.util.Arrays;
import java.util.Collection;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicLong;
import javax.net.ssl.KeyManager;
import javax.net.ssl.KeyManagerFactory;
import javax.net.ssl.SSLContext;
import javax.net.ssl.SSLEngine;
import javax.net.ssl.TrustManager;
import javax.net.ssl.TrustManagerFactory;
import javax.net.ssl.X509ExtendedKeyManager;
import javax.net.ssl.X509ExtendedTrustManager;
import org.bouncycastle.asn1.pkcs.PrivateKeyInfo;
import org.bouncycastle.openssl.PEMEncryptedKeyPair;
import org.bouncycastle.openssl.PEMKeyPair;
import org.bouncycastle.openssl.PEMParser;
import org.bouncycastle.openssl.jcajce.JcaPEMKeyConverter;
import org.bouncycastle.pkcs.PKCS8EncryptedPrivateKeyInfo;

/**
 * The client's mTLS context from PEM files, re-read when they change.
 *
 * <p>Keys are read with BouncyCastle's {@link PEMParser} in every unencrypted form: PKCS#8
 * ({@code BEGIN PRIVATE KEY}), PKCS#1 RSA ({@code BEGIN RSA PRIVATE KEY}) and SEC1 EC ({@code BEGIN EC PRIVATE
 * KEY}, also after an {@code EC PARAMETERS} block), which is what cert-manager writes unless told otherwise.
 * An encrypted key is refused with a message saying how to decrypt it: a sidecar's key has no passphrase to
 * give.
 *
 * <p>cert-manager renews the workload's certificate (24 h by default) by writing new files. At the start of every
 * TLS handshake the three files are read and compared with what is in use (a SHA-256 of their bytes); when they
 * changed, the new certificate, key and CA bundle are used from that handshake on. Connections already open keep
 * theirs. When the new files cannot be read (half-written, or a key that does not parse), the last good material
 * stays in use and the failure is logged once per change; the next handshake tries again.
 */
final class PemSsl {

    private static final System.Logger log = System.getLogger(PemSsl.class.getName());

    private PemSsl() {
    }

    static SSLContext context(Path certificate, Path privateKey, Path caBundle) {
        Reloading material = new Reloading(certificate, privateKey, caBundle);
        try {
            SSLContext context = SSLContext.getInstance("TLS");
            context.init(new KeyManager[] {material.keyManager}, new TrustManager[] {material.trustManager},
                    new SecureRandom());
            return context;
        } catch (GeneralSecurityException ex) {
            throw new IllegalStateException("this JVM has no TLS: " + ex.getMessage(), ex);
        }
    }

    /**
     * Reads a PEM private key in any unencrypted form.
     * @throws GeneralSecurityException naming the file and what to do
     */
    static PrivateKey privateKey(Path file, byte[] pem) throws GeneralSecurityException {
        try (PEMParser parser = new PEMParser(new InputStreamReader(new ByteArrayInputStream(pem),
                StandardCharsets.US_ASCII))) {
            JcaPEMKeyConverter converter = new JcaPEMKeyConverter();
            for (Object object = parser.readObject(); object != null; object = parser.readObject()) {
                if (object instanceof PrivateKeyInfo info) {
                    return converter.getPrivateKey(info);
                }
                if (object instanceof PEMKeyPair pair) {
                    return converter.getPrivateKey(pair.getPrivateKeyInfo());
                }
                if (object instanceof PEMEncryptedKeyPair || object instanceof PKCS8EncryptedPrivateKeyInfo) {
                    throw new GeneralSecurityException(file + " holds an encrypted private key, which the client "
                            + "cannot use (there is no passphrase to give it); write it unencrypted, e.g. 'openssl "
                            + "pkey -in " + file.getFileName() + " -out key.pem', or let cert-manager write it");
                }
                // Anything else (EC PARAMETERS before a SEC1 key, a certificate in the same file): read on.
            }
        } catch (IOException ex) {
            throw new GeneralSecurityException(file + " is not a readable PEM file: " + ex.getMessage(), ex);
        }
        throw new GeneralSecurityException(file + " holds no private key: expected a PEM block BEGIN PRIVATE KEY "
                + "(PKCS#8), BEGIN RSA PRIVATE KEY (PKCS#1) or BEGIN EC PRIVATE KEY (SEC1)");
    }

    /** One set of material in use, and the fingerprint of the files it came from. */
    private record Material(byte[] fingerprint, String alias, X509Certificate[] chain, PrivateKey key,
            X509ExtendedTrustManager trust) {
    }

    /** The key and trust managers of one context, both backed by the files' current content. */
    private static final class Reloading {

        private final Path certificate;
        private final Path privateKey;
        private final Path caBundle;
        private final AtomicLong generation = new AtomicLong();
        /** Material by alias: a handshake chooses an alias, then asks for its chain and key by that alias. */
        private final Map<String, Material> byAlias = new ConcurrentHashMap<>();
        private volatile Material current;
        private byte[] failedFingerprint;
        final X509ExtendedKeyManager keyManager = new KeyManager();
        final X509ExtendedTrustManager trustManager = new TrustManager();

        Reloading(Path certificate, Path privateKey, Path caBundle) {
            this.certificate = certificate;
            this.privateKey = privateKey;
            this.caBundle = caBundle;
            try {
                byte[][] files = read();
                try {
                    install(load(fingerprint(files), files));
                } finally {
                    wipe(files);
                }
            } catch (IOException | GeneralSecurityException ex) {
                throw new IllegalArgumentException("cannot build the client TLS context from " + certificate + ", "
                        + privateKey + " and " + caBundle + ": " + ex.getMessage(), ex);
            }
        }

        /** The material for a new handshake: reloaded first when the files changed. */
        synchronized Material fresh() {
            byte[][] files;
            try {
                files = read();
            } catch (IOException ex) {
                log.log(Level.WARNING, "cannot read the client TLS files (" + ex.getMessage() + "); keeping the "
                        + "certificate in use");
                return current;
            }
            try {
                byte[] fingerprint = fingerprint(files);
                if (MessageDigest.isEqual(fingerprint, current.fingerprint())
                        || MessageDigest.isEqual(fingerprint, failedFingerprint)) {
                    return current;
                }
                try {
                    install(load(fingerprint, files));
                    log.log(Level.INFO, "client TLS files changed; new connections use the certificate valid until "
                            + current.chain()[0].getNotAfter());
                } catch (GeneralSecurityException ex) {
                    failedFingerprint = fingerprint;
                    log.log(Level.WARNING, "the client TLS files changed but cannot be used (" + ex.getMessage()
                            + "); keeping the certificate in use until they can");
                }
                return current;
            } finally {
                wipe(files);
            }
        }

        private void install(Material material) {
            Material old = current;
            current = material;
            byAlias.put(material.alias(), material);
            if (old != null) {
                // Keep the one before too: a handshake may have chosen it a moment ago.
                byAlias.keySet().removeIf(alias -> !alias.equals(material.alias()) && !alias.equals(old.alias()));
            }
        }

        private byte[][] read() throws IOException {
            return new byte[][] {Files.readAllBytes(certificate), Files.readAllBytes(privateKey),
                Files.readAllBytes(caBundle)};
        }

        private static void wipe(byte[][] files) {
            for (byte[] file : files) {
                Arrays.fill(file, (byte) 0);
            }
        }

        private static byte[] fingerprint(byte[][] files) {
            try {
                MessageDigest digest = MessageDigest.getInstance("SHA-256");
                for (byte[] file : files) {
                    digest.update(Integer.toString(file.length).getBytes(StandardCharsets.US_ASCII));
                    digest.update(file);
                }
                return digest.digest();
            } catch (GeneralSecurityException ex) {
                throw new IllegalStateException("SHA-256 is not available in this JVM", ex);
            }
        }

        private Material load(byte[] fingerprint, byte[][] files) throws GeneralSecurityException {
            CertificateFactory x509 = CertificateFactory.getInstance("X.509");
            X509Certificate[] chain = x509.generateCertificates(new ByteArrayInputStream(files[0])).stream()
                    .map(X509Certificate.class::cast).toArray(X509Certificate[]::new);
            if (chain.length == 0) {
                throw new CertificateException(certificate + " holds no certificate");
            }
            PrivateKey key = privateKey(privateKey, files[1]);
            Collection<? extends java.security.cert.Certificate> cas =
                    x509.generateCertificates(new ByteArrayInputStream(files[2]));
            if (cas.isEmpty()) {
                throw new CertificateException(caBundle + " holds no CA certificate");
            }
            KeyStore trust;
            try {
                trust = KeyStore.getInstance(KeyStore.getDefaultType());
                trust.load(null, null);
            } catch (IOException ex) {
                throw new GeneralSecurityException(ex);
            }
            int i = 0;
            for (java.security.cert.Certificate ca : cas) {
                trust.setCertificateEntry("ca-" + i++, ca);
            }
            TrustManagerFactory tmf = TrustManagerFactory.getInstance(TrustManagerFactory.getDefaultAlgorithm());
            tmf.init(trust);
            X509ExtendedTrustManager trustManager = Arrays.stream(tmf.getTrustManagers())
                    .filter(X509ExtendedTrustManager.class::isInstance).map(X509ExtendedTrustManager.class::cast)
                    .findFirst().orElseThrow(() -> new GeneralSecurityException("no X.509 trust manager"));
            // Check that the key fits the certificate the way the JDK will use them, before the first handshake.
            KeyStore keys;
            try {
                keys = KeyStore.getInstance("PKCS12");
                keys.load(null, null);
            } catch (IOException ex) {
                throw new GeneralSecurityException(ex);
            }
            keys.setKeyEntry("client", key, new char[0], chain);
            KeyManagerFactory.getInstance(KeyManagerFactory.getDefaultAlgorithm()).init(keys, new char[0]);
            return new Material(fingerprint, "client-" + generation.incrementAndGet(), chain, key, trustManager);
        }

        private final class KeyManager extends X509ExtendedKeyManager {

            private String choose(String[] keyTypes, Principal[] issuers) {
                Material material = fresh();
                String algorithm = material.key().getAlgorithm();
                for (String type : keyTypes == null ? new String[0] : keyTypes) {
                    // The JDK asks by key algorithm (EC, RSA, RSASSA-PSS, EdDSA), one signature scheme at a time.
                    if (type.equalsIgnoreCase(algorithm)
                            || (algorithm.startsWith("Ed") && type.equalsIgnoreCase("EdDSA"))) {
                        return material.alias();
                    }
                }
                return null;
            }

            @Override
            public String chooseClientAlias(String[] keyTypes, Principal[] issuers, Socket socket) {
                return choose(keyTypes, issuers);
            }

            @Override
            public String chooseEngineClientAlias(String[] keyTypes, Principal[] issuers, SSLEngine engine) {
                return choose(keyTypes, issuers);
            }

            @Override
            public String[] getClientAliases(String keyType, Principal[] issuers) {
                String alias = choose(new String[] {keyType}, issuers);
                return alias == null ? null : new String[] {alias};
            }

            @Override
            public X509Certificate[] getCertificateChain(String alias) {
                Material material = byAlias.get(alias);
                return material == null ? null : material.chain().clone();
            }

            @Override
            public PrivateKey getPrivateKey(String alias) {
                Material material = byAlias.get(alias);
                return material == null ? null : material.key();
            }

            @Override
            public String[] getServerAliases(String keyType, Principal[] issuers) {
                return null;
            }

            @Override
            public String chooseServerAlias(String keyType, Principal[] issuers, Socket socket) {
                return null;
            }
        }

        private final class TrustManager extends X509ExtendedTrustManager {

            @Override
            public void checkServerTrusted(X509Certificate[] chain, String authType, SSLEngine engine)
                    throws CertificateException {
                fresh().trust().checkServerTrusted(chain, authType, engine);
            }

            @Override
            public void checkServerTrusted(X509Certificate[] chain, String authType, Socket socket)
                    throws CertificateException {
                fresh().trust().checkServerTrusted(chain, authType, socket);
            }

            @Override
            public void checkServerTrusted(X509Certificate[] chain, String authType) throws CertificateException {
                fresh().trust().checkServerTrusted(chain, authType);
            }

            @Override
            public void checkClientTrusted(X509Certificate[] chain, String authType, SSLEngine engine)
                    throws CertificateException {
                throw new CertificateException("this is a client: it does not accept client certificates");
            }

            @Override
            public void checkClientTrusted(X509Certificate[] chain, String authType, Socket socket)
                    throws CertificateException {
                throw new CertificateException("this is a client: it does not accept client certificates");
            }

            @Override
            public void checkClientTrusted(X509Certificate[] chain, String authType) throws CertificateException {
                throw new CertificateException("this is a client: it does not accept client certificates");
            }

            @Override
            public X509Certificate[] getAcceptedIssuers() {
                return current.trust().getAcceptedIssuers();
            }
        }
    }
}
