package io.keybroker.identity;

import static org.assertj.core.api.Assertions.assertThat;

import com.code_intelligence.jazzer.junit.DictionaryEntries;
import com.code_intelligence.jazzer.junit.FuzzTest;
import java.io.ByteArrayInputStream;
import java.math.BigInteger;
import java.nio.charset.StandardCharsets;
import java.security.KeyPair;
import java.security.KeyPairGenerator;
import java.security.cert.CertificateException;
import java.security.cert.CertificateFactory;
import java.security.cert.X509Certificate;
import java.security.spec.ECGenParameterSpec;
import java.util.ArrayList;
import java.util.Date;
import java.util.HexFormat;
import java.util.List;
import java.util.regex.Pattern;
import org.bouncycastle.asn1.ASN1Encodable;
import org.bouncycastle.asn1.ASN1ObjectIdentifier;
import org.bouncycastle.asn1.ASN1OctetString;
import org.bouncycastle.asn1.ASN1Primitive;
import org.bouncycastle.asn1.ASN1String;
import org.bouncycastle.asn1.x500.AttributeTypeAndValue;
import org.bouncycastle.asn1.x500.RDN;
import org.bouncycastle.asn1.x500.X500Name;
import org.bouncycastle.asn1.x500.X500NameBuilder;
import org.bouncycastle.asn1.x500.style.BCStyle;
import org.bouncycastle.asn1.x509.BasicConstraints;
import org.bouncycastle.asn1.x509.Extension;
import org.bouncycastle.asn1.x509.GeneralName;
import org.bouncycastle.asn1.x509.GeneralNames;
import org.bouncycastle.asn1.x509.KeyUsage;
import org.bouncycastle.cert.X509v3CertificateBuilder;
import org.bouncycastle.cert.jcajce.JcaX509v3CertificateBuilder;
import org.bouncycastle.operator.ContentSigner;
import org.bouncycastle.operator.jcajce.JcaContentSignerBuilder;

/**
 * Fuzzes identity extraction from client certificates (docs/fuzzing.md; {@code scripts/fuzz.sh cert-der} and
 * {@code scripts/fuzz.sh cert-san}). Certificates are parsed by the JDK's {@code CertificateFactory}, as the TLS
 * stack parses them, and the oracle reads them a second, independent way (BouncyCastle, or the description the
 * certificate was built from).
 *
 * <p>What must hold: {@link SpiffeCertificates#identify} either returns one identity or throws
 * {@link CertificateException}; a SPIFFE identity only for a non-CA leaf with exactly one URI SAN that is a valid
 * SPIFFE ID; a subject-CN identity only with the fallback on, no SPIFFE ID in the certificate and one CN.
 */
class SpiffeCertificatesFuzzTests {

    private static final Pattern SPIFFE_ID = Pattern.compile("spiffe://[a-z0-9._-]+(/[A-Za-z0-9._-]+)+");
    private static final int MAX_SANS = 16;
    private static final KeyPair KEYS = keyPair();
    private static final ContentSigner SIGNER = signer();

    /** Raw DER, mutated from real certificates: everything the JDK parses must be judged by the rules. */
    @FuzzTest(maxDuration = "10m")
    void shouldJudgeEveryParsableCertificateByTheSvidRules(byte[] der) throws Exception {
        X509Certificate certificate;
        try {
            certificate = (X509Certificate) CertificateFactory.getInstance("X.509")
                    .generateCertificate(new ByteArrayInputStream(der));
        } catch (CertificateException | RuntimeException ex) {
            return; // the handshake never gets this far with bytes the JDK cannot parse
        }
        for (boolean fallback : new boolean[] {false, true}) {
            WorkloadIdentity identity;
            try {
                identity = SpiffeCertificates.identify(new X509Certificate[] {certificate}, fallback);
            } catch (CertificateException refused) {
                assertThat(refused.getMessage()).isNotBlank();
                continue;
            }
            Oracle oracle = Oracle.of(certificate);
            assertThat(oracle.ca).as("a CA certificate was accepted").isFalse();
            assertThat(oracle.keyUsageAllowsWorkload).as("a key usage for signing certificates was accepted").isTrue();
            assertThat(oracle.sansReadable).as("a certificate whose SAN extension does not parse was accepted as %s",
                    identity).isTrue();
            assertAcceptedRightly(identity, fallback, oracle.uris, oracle.commonNames);
        }
    }

    /**
     * A certificate built from a fuzzed description, one {@code key=value} per line: {@code uri=}, {@code dns=}
     * (SANs), {@code cn=}, {@code o=}, {@code mv=A|B} (a multi-valued RDN of two CNs), {@code cnder=HEX} (a CN
     * whose value is any DER), {@code ca=true|false|none}, {@code ku=BITS|none}, {@code fallback=true}. A
     * CA issues whatever its clients' requests say, so each of these is something a client may present.
     */
    @FuzzTest(maxDuration = "10m")
    @DictionaryEntries({"uri=spiffe://", "uri=", "\\x0auri=spiffe://cluster.local/ns/payments/sa/checkout", "dns=",
            "cn=", "\\x0acn=", "o=", "mv=", "|", "cnder=", "ca=true", "ca=none", "ku=", "ku=none", "fallback=true",
            "SPIFFE://", "spiffe:", "https://", "cn:", "/..", "/.", "//", ":8443", "@", "?", "#", "%2F", "/*"})
    void shouldAcceptOnlyLeavesWithOneSpiffeIdFromFuzzedSans(byte[] input) throws Exception {
        Description description = Description.parse(new String(input, StandardCharsets.UTF_8));
        if (description == null) {
            return;
        }
        X509Certificate certificate;
        try {
            certificate = description.build();
        } catch (CertificateException | IllegalArgumentException | NullPointerException | java.io.IOException ex) {
            // not encodable (BouncyCastle refuses e.g. an attribute without a value with an NPE), or not a
            // certificate the JDK (and so the handshake) can parse
            return;
        }
        WorkloadIdentity identity;
        try {
            identity = SpiffeCertificates.identify(new X509Certificate[] {certificate}, description.fallback);
        } catch (CertificateException refused) {
            assertThat(refused.getMessage()).isNotBlank();
            boolean oneValidSpiffeId = description.uris.size() == 1 && isValidSpiffeId(description.uris.get(0));
            assertThat(description.ca != Boolean.TRUE && description.keyUsageAllowsWorkload() && oneValidSpiffeId)
                    .as("a leaf with one valid SPIFFE ID %s was refused: %s", description.uris, refused.getMessage())
                    .isFalse();
            return;
        }
        assertThat(description.ca).as("a CA certificate was accepted").isNotEqualTo(Boolean.TRUE);
        assertThat(description.keyUsageAllowsWorkload()).as("a key usage for signing certificates was accepted")
                .isTrue();
        assertAcceptedRightly(identity, description.fallback, description.uris,
                Oracle.of(certificate).commonNames);
    }

    private static void assertAcceptedRightly(WorkloadIdentity identity, boolean fallback, List<String> uris,
            List<String> commonNames) {
        long spiffe = uris.stream().filter(u -> u.regionMatches(true, 0, "spiffe:", 0, 7)).count();
        if (identity.source() == WorkloadIdentity.Source.SPIFFE_URI) {
            assertThat(uris).as("a SPIFFE identity needs exactly one URI SAN").containsExactly(identity.id());
            assertThat(isValidSpiffeId(identity.id())).as("invalid SPIFFE ID accepted: %s", identity.id()).isTrue();
        } else {
            assertThat(fallback).as("a CN identity without the fallback").isTrue();
            assertThat(spiffe).as("a CN identity for a certificate with a SPIFFE ID %s", uris).isZero();
            assertThat(commonNames).as("a CN identity needs exactly one CN").containsExactly(identity.id());
            assertThat(identity.id()).as("a CN identity no cn: policy entry could name")
                    .matches("[A-Za-z0-9]([A-Za-z0-9 ._@-]{0,62}[A-Za-z0-9._@-])?");
        }
    }

    private static boolean isValidSpiffeId(String id) {
        if (id.length() > 2048 || !SPIFFE_ID.matcher(id).matches()) {
            return false;
        }
        int slash = id.indexOf('/', "spiffe://".length());
        if (id.charAt(slash - 1) == '.') {
            return false; // the JDK cannot parse a URI SAN whose host ends in '.', so the policy refuses it too
        }
        String path = id.substring(slash);
        for (String segment : path.substring(1).split("/", -1)) {
            if (segment.equals(".") || segment.equals("..")) {
                return false;
            }
        }
        return true;
    }

    /** The certificate as BouncyCastle reads it, independently of the JDK. */
    private static final class Oracle {
        boolean ca;
        boolean keyUsageAllowsWorkload = true;
        boolean sansReadable = true;
        final List<String> uris = new ArrayList<>();
        final List<String> commonNames = new ArrayList<>();

        static Oracle of(X509Certificate certificate) {
            Oracle oracle = new Oracle();
            // An extension BouncyCastle cannot read either is judged by the JDK's reading alone (a non-critical
            // basicConstraints the JDK cannot parse makes no CA for path validation either).
            byte[] basic = certificate.getExtensionValue(Extension.basicConstraints.getId());
            if (basic != null) {
                try {
                    oracle.ca = BasicConstraints.getInstance(extension(basic)).isCA();
                } catch (RuntimeException ex) {
                    oracle.ca = certificate.getBasicConstraints() >= 0;
                }
            }
            byte[] usage = certificate.getExtensionValue(Extension.keyUsage.getId());
            if (usage != null) {
                try {
                    KeyUsage ku = KeyUsage.getInstance(extension(usage));
                    oracle.keyUsageAllowsWorkload = ku.hasUsages(KeyUsage.digitalSignature)
                            && !ku.hasUsages(KeyUsage.keyCertSign) && !ku.hasUsages(KeyUsage.cRLSign);
                } catch (RuntimeException ex) {
                    oracle.keyUsageAllowsWorkload = true;
                }
            }
            byte[] san = certificate.getExtensionValue(Extension.subjectAlternativeName.getId());
            if (san != null) {
                try {
                    for (GeneralName name : GeneralNames.getInstance(extension(san)).getNames()) {
                        if (name.getTagNo() == GeneralName.uniformResourceIdentifier) {
                            oracle.uris.add(((ASN1String) name.getName()).getString());
                        }
                    }
                } catch (RuntimeException ex) {
                    oracle.sansReadable = false;
                }
            }
            X500Name subject;
            try {
                subject = X500Name.getInstance(certificate.getSubjectX500Principal().getEncoded());
            } catch (RuntimeException ex) {
                oracle.commonNames.add("<subject BouncyCastle cannot read>");
                return oracle;
            }
            for (RDN rdn : subject.getRDNs()) {
                for (AttributeTypeAndValue value : rdn.getTypesAndValues()) {
                    if (value.getType().equals(BCStyle.CN)) {
                        oracle.commonNames.add(commonName(value));
                    }
                }
            }
            return oracle;
        }

        /** A marker no accepted identity can equal for a CN that is not text or not decodable text. */
        private static String commonName(AttributeTypeAndValue value) {
            if (!(value.getValue() instanceof ASN1String text)) {
                return "<not text: " + value.getValue() + ">";
            }
            try {
                return text.getString();
            } catch (IllegalArgumentException ex) {
                return "<text that does not decode>"; // e.g. a UTF8String holding bytes that are not UTF-8
            }
        }

        private static ASN1Primitive extension(byte[] octets) {
            try {
                return ASN1Primitive.fromByteArray(ASN1OctetString.getInstance(octets).getOctets());
            } catch (java.io.IOException ex) {
                throw new IllegalArgumentException(ex);
            }
        }
    }

    /** What the fuzzer asked the CA to put in the certificate. */
    private static final class Description {
        final List<String> uris = new ArrayList<>();
        final List<GeneralName> sans = new ArrayList<>();
        final X500NameBuilder subject = new X500NameBuilder(BCStyle.INSTANCE);
        Boolean ca = Boolean.FALSE;
        Integer keyUsage = KeyUsage.digitalSignature | KeyUsage.keyAgreement;
        boolean fallback;

        /** Returns null for a description that cannot be encoded. */
        static Description parse(String text) {
            Description d = new Description();
            for (String line : text.split("\n", -1)) {
                int eq = line.indexOf('=');
                if (eq < 0) {
                    continue;
                }
                String key = line.substring(0, eq);
                String value = line.substring(eq + 1);
                try {
                    switch (key) {
                        case "uri" -> {
                            if (d.sans.size() >= MAX_SANS || value.chars().anyMatch(c -> c > 0x7f)) {
                                return null; // an IA5String holds ASCII; other bytes are left to the DER target
                            }
                            d.uris.add(value);
                            d.sans.add(new GeneralName(GeneralName.uniformResourceIdentifier, value));
                        }
                        case "dns" -> {
                            if (d.sans.size() >= MAX_SANS || value.chars().anyMatch(c -> c > 0x7f)) {
                                return null;
                            }
                            d.sans.add(new GeneralName(GeneralName.dNSName, value));
                        }
                        case "cn" -> d.subject.addRDN(BCStyle.CN, value);
                        case "o" -> d.subject.addRDN(BCStyle.O, value);
                        case "mv" -> {
                            String[] two = value.split("\\|", 2);
                            d.subject.addMultiValuedRDN(new ASN1ObjectIdentifier[] {BCStyle.CN, BCStyle.CN},
                                    two.length == 2 ? two : new String[] {value, value});
                        }
                        case "cnder" -> d.subject.addRDN(BCStyle.CN,
                                (ASN1Encodable) ASN1Primitive.fromByteArray(HexFormat.of().parseHex(value)));
                        case "ca" -> d.ca = value.equals("none") ? null : Boolean.valueOf(value);
                        case "ku" -> {
                            int bits = value.equals("none") ? 0 : Integer.parseInt(value) & 0x80ff;
                            d.keyUsage = bits == 0 ? null : bits; // an empty key usage is not encoded at all
                        }
                        case "fallback" -> d.fallback = Boolean.parseBoolean(value);
                        default -> {
                            // unknown lines carry no meaning, so mutations of keys are harmless
                        }
                    }
                } catch (IllegalArgumentException | IllegalStateException | NullPointerException
                        | java.io.IOException ex) {
                    // BouncyCastle cannot encode it: a '#' value that is not valid DER, or (an NPE while sorting a
                    // multi-valued RDN) a '#' value that decodes to nothing
                    return null;
                }
            }
            return d;
        }

        boolean keyUsageAllowsWorkload() {
            return keyUsage == null || ((keyUsage & KeyUsage.digitalSignature) != 0
                    && (keyUsage & (KeyUsage.keyCertSign | KeyUsage.cRLSign)) == 0);
        }

        X509Certificate build() throws CertificateException, java.io.IOException {
            X509v3CertificateBuilder builder = new JcaX509v3CertificateBuilder(new X500Name("CN=fuzz CA"),
                    BigInteger.ONE, new Date(0), new Date(4_102_444_800_000L), subject.build(), KEYS.getPublic());
            if (ca != null) {
                builder.addExtension(Extension.basicConstraints, true, new BasicConstraints(ca));
            }
            if (keyUsage != null) {
                builder.addExtension(Extension.keyUsage, true, new KeyUsage(keyUsage));
            }
            if (!sans.isEmpty()) {
                builder.addExtension(Extension.subjectAlternativeName, false,
                        new GeneralNames(sans.toArray(GeneralName[]::new)));
            }
            byte[] der = builder.build(SIGNER).getEncoded();
            // The JDK parses what the TLS stack gets, exactly as a handshake would.
            return (X509Certificate) CertificateFactory.getInstance("X.509")
                    .generateCertificate(new ByteArrayInputStream(der));
        }
    }

    private static KeyPair keyPair() {
        try {
            KeyPairGenerator generator = KeyPairGenerator.getInstance("EC");
            generator.initialize(new ECGenParameterSpec("secp256r1"));
            return generator.generateKeyPair();
        } catch (Exception ex) {
            throw new IllegalStateException(ex);
        }
    }

    private static ContentSigner signer() {
        try {
            return new JcaContentSignerBuilder("SHA256withECDSA").build(KEYS.getPrivate());
        } catch (Exception ex) {
            throw new IllegalStateException(ex);
        }
    }
}
