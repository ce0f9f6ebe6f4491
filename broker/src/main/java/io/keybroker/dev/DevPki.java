package io.keybroker.dev;

import java.io.IOException;
import java.io.StringWriter;
import java.math.BigInteger;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.security.KeyPair;
import java.security.KeyPairGenerator;
import java.security.PrivateKey;
import java.security.SecureRandom;
import java.security.cert.X509Certificate;
import java.security.spec.ECGenParameterSpec;
import java.time.Duration;
import java.time.Instant;
import java.util.Date;
import org.bouncycastle.asn1.x500.X500Name;
import org.bouncycastle.asn1.x509.BasicConstraints;
import org.bouncycastle.asn1.x509.ExtendedKeyUsage;
import org.bouncycastle.asn1.x509.Extension;
import org.bouncycastle.asn1.x509.GeneralName;
import org.bouncycastle.asn1.x509.GeneralNames;
import org.bouncycastle.asn1.x509.KeyPurposeId;
import org.bouncycastle.asn1.x509.KeyUsage;
import org.bouncycastle.cert.jcajce.JcaX509CertificateConverter;
import org.bouncycastle.cert.jcajce.JcaX509ExtensionUtils;
import org.bouncycastle.cert.jcajce.JcaX509v3CertificateBuilder;
import org.bouncycastle.openssl.jcajce.JcaPEMWriter;
import org.bouncycastle.openssl.jcajce.JcaPKCS8Generator;
import org.bouncycastle.operator.jcajce.JcaContentSignerBuilder;

/**
 * Makes the development CA and the certificates of development mode with BouncyCastle: EC P-256 keys, a CA,
 * a server certificate for 127.0.0.1 and localhost, and client certificates carrying one SPIFFE ID. Private
 * keys are written PKCS#8, readable by the owner only. Development only: nothing here is used without
 * {@code keybroker.dev=true}.
 */
public final class DevPki {

    private static final SecureRandom RANDOM = new SecureRandom();

    private DevPki() {
    }

    /**
     * An issued certificate and its key.
     *
     * @param certificate the certificate
     * @param key its private key
     */
    public record Issued(X509Certificate certificate, PrivateKey key) {
    }

    public static Issued ca(String commonName, Duration validity) throws Exception {
        KeyPair keys = keyPair();
        X500Name subject = new X500Name("CN=" + commonName);
        Instant now = Instant.now();
        JcaX509v3CertificateBuilder builder = new JcaX509v3CertificateBuilder(subject, serial(),
                Date.from(now.minus(Duration.ofMinutes(5))), Date.from(now.plus(validity)), subject, keys.getPublic());
        JcaX509ExtensionUtils utils = new JcaX509ExtensionUtils();
        builder.addExtension(Extension.basicConstraints, true, new BasicConstraints(0));
        builder.addExtension(Extension.keyUsage, true, new KeyUsage(KeyUsage.keyCertSign | KeyUsage.cRLSign));
        builder.addExtension(Extension.subjectKeyIdentifier, false, utils.createSubjectKeyIdentifier(keys.getPublic()));
        return new Issued(sign(builder, keys.getPrivate()), keys.getPrivate());
    }

    public static Issued server(Issued ca, Duration validity) throws Exception {
        return leaf(ca, "localhost", validity, KeyPurposeId.id_kp_serverAuth,
                new GeneralName(GeneralName.iPAddress, "127.0.0.1"), new GeneralName(GeneralName.iPAddress, "::1"),
                new GeneralName(GeneralName.dNSName, "localhost"));
    }

    public static Issued client(Issued ca, String spiffeId, Duration validity) throws Exception {
        String cn = spiffeId.substring(spiffeId.lastIndexOf('/') + 1);
        return leaf(ca, cn, validity, KeyPurposeId.id_kp_clientAuth,
                new GeneralName(GeneralName.uniformResourceIdentifier, spiffeId));
    }

    private static Issued leaf(Issued ca, String commonName, Duration validity, KeyPurposeId purpose,
            GeneralName... names) throws Exception {
        KeyPair keys = keyPair();
        Instant now = Instant.now();
        JcaX509v3CertificateBuilder builder = new JcaX509v3CertificateBuilder(ca.certificate(), serial(),
                Date.from(now.minus(Duration.ofMinutes(5))), Date.from(now.plus(validity)),
                new javax.security.auth.x500.X500Principal("CN=" + commonName), keys.getPublic());
        JcaX509ExtensionUtils utils = new JcaX509ExtensionUtils();
        builder.addExtension(Extension.basicConstraints, true, new BasicConstraints(false));
        builder.addExtension(Extension.keyUsage, true,
                new KeyUsage(KeyUsage.digitalSignature | KeyUsage.keyAgreement));
        builder.addExtension(Extension.extendedKeyUsage, false, new ExtendedKeyUsage(purpose));
        builder.addExtension(Extension.subjectAlternativeName, false, new GeneralNames(names));
        builder.addExtension(Extension.authorityKeyIdentifier, false,
                utils.createAuthorityKeyIdentifier(ca.certificate()));
        return new Issued(sign(builder, ca.key()), keys.getPrivate());
    }

    public static void writeCertificate(Path path, X509Certificate certificate) throws IOException {
        Files.writeString(path, pem(certificate), StandardCharsets.US_ASCII);
    }

    public static void writeKey(Path path, PrivateKey key) throws IOException {
        Files.deleteIfExists(path);
        Files.createFile(path);
        try {
            Files.setPosixFilePermissions(path, PosixFilePermissions.fromString("rw-------"));
        } catch (UnsupportedOperationException ex) {
            // Not a POSIX file system; the directory's permissions apply.
        }
        Files.writeString(path, pem(new JcaPKCS8Generator(key, null)), StandardCharsets.US_ASCII);
    }

    private static String pem(Object object) throws IOException {
        StringWriter out = new StringWriter();
        try (JcaPEMWriter writer = new JcaPEMWriter(out)) {
            writer.writeObject(object);
        }
        return out.toString();
    }

    private static X509Certificate sign(JcaX509v3CertificateBuilder builder, PrivateKey key) throws Exception {
        return new JcaX509CertificateConverter().getCertificate(
                builder.build(new JcaContentSignerBuilder("SHA256withECDSA").build(key)));
    }

    private static KeyPair keyPair() throws Exception {
        KeyPairGenerator generator = KeyPairGenerator.getInstance("EC");
        generator.initialize(new ECGenParameterSpec("secp256r1"), RANDOM);
        return generator.generateKeyPair();
    }

    private static BigInteger serial() {
        return new BigInteger(127, RANDOM).add(BigInteger.ONE);
    }
}
