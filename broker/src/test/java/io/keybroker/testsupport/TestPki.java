package io.keybroker.testsupport;

import io.keybroker.dev.DevPki;
import java.io.IOException;
import java.io.StringWriter;
import java.math.BigInteger;
import java.net.http.HttpClient;
import java.nio.file.Path;
import java.security.KeyPair;
import java.security.KeyPairGenerator;
import java.security.KeyStore;
import java.security.PrivateKey;
import java.security.SecureRandom;
import java.security.cert.X509Certificate;
import java.security.spec.ECGenParameterSpec;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Date;
import java.util.List;
import javax.net.ssl.KeyManagerFactory;
import javax.net.ssl.SSLContext;
import javax.net.ssl.SSLParameters;
import javax.net.ssl.TrustManagerFactory;
import javax.security.auth.x500.X500Principal;
import org.bouncycastle.asn1.x509.BasicConstraints;
import org.bouncycastle.asn1.x509.Extension;
import org.bouncycastle.asn1.x509.GeneralName;
import org.bouncycastle.asn1.x509.GeneralNames;
import org.bouncycastle.asn1.x509.KeyUsage;
import org.bouncycastle.cert.jcajce.JcaX509CertificateConverter;
import org.bouncycastle.cert.jcajce.JcaX509v3CertificateBuilder;
import org.bouncycastle.openssl.jcajce.JcaPEMWriter;
import org.bouncycastle.operator.jcajce.JcaContentSignerBuilder;

/**
 * Certificates for tests, made with BouncyCastle: CAs and leaves with exactly the flaws a test needs (no SPIFFE
 * ID, two of them, a CA flag, expired, from another CA), PEM files, and JDK SSL contexts and HTTP clients that
 * present them.
 */
public final class TestPki {

    private static final SecureRandom RANDOM = new SecureRandom();

    private TestPki() {
    }

    /** A certificate, its key, and the chain up to (not including) the root. */
    public record Cert(X509Certificate certificate, PrivateKey key, X509Certificate issuer) {

        public void writeCertificate(Path path) throws IOException {
            DevPki.writeCertificate(path, certificate);
        }

        public void writeKey(Path path) throws IOException {
            DevPki.writeKey(path, key);
        }
    }

    /** Options for a leaf certificate. */
    public static final class Leaf {
        private final List<GeneralName> sans = new ArrayList<>();
        private String commonName = "workload";
        private String subject;
        private boolean ca;
        private Instant notBefore = Instant.now().minus(Duration.ofMinutes(5));
        private Instant notAfter = Instant.now().plus(Duration.ofDays(1));
        private Integer keyUsage = KeyUsage.digitalSignature | KeyUsage.keyAgreement;

        public Leaf uri(String uri) {
            sans.add(new GeneralName(GeneralName.uniformResourceIdentifier, uri));
            return this;
        }

        public Leaf ip(String ip) {
            sans.add(new GeneralName(GeneralName.iPAddress, ip));
            return this;
        }

        public Leaf dns(String dns) {
            sans.add(new GeneralName(GeneralName.dNSName, dns));
            return this;
        }

        public Leaf commonName(String cn) {
            this.commonName = cn;
            return this;
        }

        /** The whole subject as an RFC 2253 name, e.g. two CNs ({@code CN=a,CN=b}) or a multi-valued RDN. */
        public Leaf subject(String rfc2253) {
            this.subject = rfc2253;
            return this;
        }

        public Leaf ca() {
            this.ca = true;
            this.keyUsage = KeyUsage.digitalSignature | KeyUsage.keyCertSign;
            return this;
        }

        public Leaf validity(Instant from, Instant until) {
            this.notBefore = from;
            this.notAfter = until;
            return this;
        }
    }

    public static Leaf leaf() {
        return new Leaf();
    }

    public static Cert ca(String name) {
        try {
            DevPki.Issued issued = DevPki.ca(name, Duration.ofDays(2));
            return new Cert(issued.certificate(), issued.key(), null);
        } catch (Exception ex) {
            throw new IllegalStateException(ex);
        }
    }

    public static Cert issue(Cert ca, Leaf options) {
        try {
            KeyPairGenerator generator = KeyPairGenerator.getInstance("EC");
            generator.initialize(new ECGenParameterSpec("secp256r1"), RANDOM);
            KeyPair keys = generator.generateKeyPair();
            JcaX509v3CertificateBuilder builder = new JcaX509v3CertificateBuilder(ca.certificate(),
                    new BigInteger(120, RANDOM).add(BigInteger.ONE), Date.from(options.notBefore),
                    Date.from(options.notAfter),
                    new X500Principal(options.subject != null ? options.subject : "CN=" + options.commonName),
                    keys.getPublic());
            builder.addExtension(Extension.basicConstraints, true, new BasicConstraints(options.ca));
            if (options.keyUsage != null) {
                builder.addExtension(Extension.keyUsage, true, new KeyUsage(options.keyUsage));
            }
            if (!options.sans.isEmpty()) {
                builder.addExtension(Extension.subjectAlternativeName, false,
                        new GeneralNames(options.sans.toArray(GeneralName[]::new)));
            }
            X509Certificate certificate = new JcaX509CertificateConverter()
                    .getCertificate(builder.build(new JcaContentSignerBuilder("SHA256withECDSA").build(ca.key())));
            return new Cert(certificate, keys.getPrivate(), ca.certificate());
        } catch (Exception ex) {
            throw new IllegalStateException(ex);
        }
    }

    /** A server certificate for 127.0.0.1 and localhost. */
    public static Cert server(Cert ca) {
        return issue(ca, leaf().commonName("localhost").ip("127.0.0.1").dns("localhost"));
    }

    /** A workload certificate with one SPIFFE ID. */
    public static Cert workload(Cert ca, String spiffeId) {
        return issue(ca, leaf().uri(spiffeId));
    }

    /** An SSL context that trusts {@code serverCa} and presents {@code client} (or nothing when null). */
    public static SSLContext sslContext(Cert serverCa, Cert client) {
        try {
            KeyStore trust = KeyStore.getInstance("PKCS12");
            trust.load(null, null);
            trust.setCertificateEntry("ca", serverCa.certificate());
            TrustManagerFactory tmf = TrustManagerFactory.getInstance("PKIX");
            tmf.init(trust);
            KeyManagerFactory kmf = KeyManagerFactory.getInstance("PKIX");
            KeyStore keys = KeyStore.getInstance("PKCS12");
            keys.load(null, null);
            if (client != null) {
                keys.setKeyEntry("client", client.key(), new char[0],
                        new X509Certificate[] {client.certificate(), client.issuer()});
            }
            kmf.init(keys, new char[0]);
            SSLContext context = SSLContext.getInstance("TLS");
            context.init(kmf.getKeyManagers(), tmf.getTrustManagers(), RANDOM);
            return context;
        } catch (Exception ex) {
            throw new IllegalStateException(ex);
        }
    }

    /** A keep-alive HTTP/1.1 client presenting {@code client}. */
    public static HttpClient httpClient(Cert serverCa, Cert client) {
        SSLParameters parameters = new SSLParameters();
        parameters.setProtocols(new String[] {"TLSv1.3", "TLSv1.2"});
        return HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1).sslContext(sslContext(serverCa, client))
                .sslParameters(parameters).connectTimeout(Duration.ofSeconds(5)).build();
    }

    public static String pem(X509Certificate certificate) throws IOException {
        StringWriter out = new StringWriter();
        try (JcaPEMWriter writer = new JcaPEMWriter(out)) {
            writer.writeObject(certificate);
        }
        return out.toString();
    }
}
