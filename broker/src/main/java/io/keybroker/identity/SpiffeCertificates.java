package io.keybroker.identity;

import java.security.cert.CertificateException;
import java.security.cert.CertificateParsingException;
import java.security.cert.X509Certificate;
import java.util.ArrayList;
import java.util.Collection;
import java.util.List;
import org.bouncycastle.asn1.ASN1BMPString;
import org.bouncycastle.asn1.ASN1Encodable;
import org.bouncycastle.asn1.ASN1PrintableString;
import org.bouncycastle.asn1.ASN1String;
import org.bouncycastle.asn1.ASN1T61String;
import org.bouncycastle.asn1.ASN1UTF8String;
import org.bouncycastle.asn1.ASN1UniversalString;
import org.bouncycastle.asn1.x500.AttributeTypeAndValue;
import org.bouncycastle.asn1.x500.RDN;
import org.bouncycastle.asn1.x500.X500Name;
import org.bouncycastle.asn1.x500.style.BCStyle;

/**
 * Turns a verified client certificate into a {@link WorkloadIdentity} by the X.509-SVID rules: exactly one URI
 * SAN, and it is a valid SPIFFE ID; the leaf is not a CA; if key usage is present it allows digital signatures
 * and not certificate or CRL signing. A certificate without a SPIFFE ID is accepted by its subject CN only when
 * that fallback is switched on, its SAN extension (if any) parses, and its subject has exactly one CN, which is
 * text; two SPIFFE IDs are always refused.
 *
 * <p>The handshake's trust manager and the request filter both call this one function, so what the handshake
 * accepts is exactly what a handler sees. It is pure (no I/O, no state) so it can be fuzzed.
 */
public final class SpiffeCertificates {

    private static final int SAN_URI = 6;
    private static final String SAN_EXTENSION = "2.5.29.17";
    private static final int KU_DIGITAL_SIGNATURE = 0;
    private static final int KU_KEY_CERT_SIGN = 5;
    private static final int KU_CRL_SIGN = 6;

    private SpiffeCertificates() {
    }

    /**
     * The identity an untrusted chain claims, for the audit record and alerts of its refusal: never an
     * authorisation, because nothing vouches for it. Empty when the chain names no usable identity.
     */
    public static java.util.Optional<String> claimed(X509Certificate[] chain, boolean allowSubjectCn) {
        try {
            return java.util.Optional.of(identify(chain, allowSubjectCn).text());
        } catch (CertificateException | RuntimeException ex) {
            return java.util.Optional.empty();
        }
    }

    /**
     * Extracts the identity of a client certificate chain whose path has already been validated.
     * @throws CertificateException naming the rule the certificate breaks
     */
    public static WorkloadIdentity identify(X509Certificate[] chain, boolean allowSubjectCn)
            throws CertificateException {
        if (chain == null || chain.length == 0) {
            throw new CertificateException("no client certificate was presented");
        }
        X509Certificate leaf = chain[0];
        if (leaf.getBasicConstraints() >= 0) {
            throw new CertificateException("the client certificate is a CA certificate (basicConstraints cA=true); "
                    + "a workload must present a leaf certificate");
        }
        boolean[] usage = leaf.getKeyUsage();
        if (usage != null) {
            if (usage.length <= KU_DIGITAL_SIGNATURE || !usage[KU_DIGITAL_SIGNATURE]) {
                throw new CertificateException("the client certificate's key usage lacks digitalSignature");
            }
            if ((usage.length > KU_KEY_CERT_SIGN && usage[KU_KEY_CERT_SIGN])
                    || (usage.length > KU_CRL_SIGN && usage[KU_CRL_SIGN])) {
                throw new CertificateException("the client certificate's key usage allows certificate or CRL "
                        + "signing, which a workload certificate must not");
            }
        }
        List<String> uris = uriSans(leaf);
        long spiffe = uris.stream().filter(uri -> uri.regionMatches(true, 0, "spiffe:", 0, 7)).count();
        if (spiffe > 1) {
            throw new CertificateException("the client certificate has " + spiffe + " SPIFFE IDs; an X.509-SVID "
                    + "carries exactly one");
        }
        if (spiffe == 1) {
            if (uris.size() > 1) {
                throw new CertificateException("the client certificate has " + uris.size() + " URI SANs; an "
                        + "X.509-SVID carries exactly one, its SPIFFE ID");
            }
            try {
                return WorkloadIdentity.parse(uris.get(0));
            } catch (IllegalArgumentException ex) {
                throw new CertificateException("the client certificate's SPIFFE ID is invalid: " + ex.getMessage());
            }
        }
        if (allowSubjectCn) {
            List<String> cns = commonNames(leaf);
            if (cns.size() > 1) {
                throw new CertificateException("the client certificate's subject has " + cns.size() + " CNs; the "
                        + "subject-CN fallback needs exactly one");
            }
            if (cns.isEmpty()) {
                throw new CertificateException("the client certificate has neither a SPIFFE ID nor a subject CN");
            }
            String cn = cns.get(0);
            if (SpiffeIdGrammar.isUsableCommonName(cn)) {
                return new WorkloadIdentity(cn, WorkloadIdentity.Source.SUBJECT_CN);
            }
            throw new CertificateException("the client certificate has no SPIFFE ID and its subject CN cannot be an "
                    + "identity: a CN identity is 1 to 64 letters, digits, spaces, '.', '_', '@' or '-', starting "
                    + "with a letter or digit (what a policy's cn: entry can name); reissue it with such a CN or a "
                    + "SPIFFE ID");
        }
        throw new CertificateException("the client certificate has no SPIFFE ID (URI SAN spiffe://...); issue it "
                + "with one, or set keybroker.tls.allow-subject-cn=true to identify workloads by subject CN");
    }

    private static List<String> uriSans(X509Certificate leaf) throws CertificateParsingException {
        Collection<List<?>> sans = leaf.getSubjectAlternativeNames();
        if (sans == null && leaf.getExtensionValue(SAN_EXTENSION) != null) {
            // Java 17 silently drops a non-critical SAN extension it cannot parse (one URI that is not a valid
            // java.net.URI is enough) and reports no SANs at all; newer JDKs throw here instead. Taken for "no
            // SAN", a certificate with two SPIFFE IDs, one of them malformed, passed the subject-CN fallback
            // (found by SpiffeCertificatesFuzzTests).
            throw new CertificateParsingException("the client certificate's subject alternative names cannot be "
                    + "parsed (a URI SAN that is not a valid URI, or whose host ends in '.', is enough); reissue it "
                    + "with a valid SPIFFE ID");
        }
        List<String> uris = new ArrayList<>();
        if (sans != null) {
            for (List<?> san : sans) {
                if (san.size() >= 2 && Integer.valueOf(SAN_URI).equals(san.get(0))) {
                    uris.add(String.valueOf(san.get(1)));
                }
            }
        }
        return uris;
    }

    /**
     * Every CN attribute of the subject, read from its DER encoding: in separate RDNs and inside multi-valued
     * ones, so that a subject with two CNs is seen as ambiguous instead of yielding whichever one a string
     * rendering lists first.
     * @throws CertificateException for a CN whose value is not a directory string (the JDK's RFC 2253 rendering
     *     turns such a value into a byte array, which used to become an identity like {@code [B@1b6d3586})
     */
    private static List<String> commonNames(X509Certificate leaf) throws CertificateException {
        X500Name subject;
        try {
            subject = X500Name.getInstance(leaf.getSubjectX500Principal().getEncoded());
        } catch (IllegalArgumentException ex) {
            throw new CertificateException("the client certificate's subject cannot be parsed");
        }
        List<String> cns = new ArrayList<>();
        for (RDN rdn : subject.getRDNs()) {
            for (AttributeTypeAndValue attribute : rdn.getTypesAndValues()) {
                if (!BCStyle.CN.equals(attribute.getType())) {
                    continue;
                }
                ASN1Encodable value = attribute.getValue();
                if (!(value instanceof ASN1UTF8String || value instanceof ASN1PrintableString
                        || value instanceof ASN1T61String || value instanceof ASN1UniversalString
                        || value instanceof ASN1BMPString)) {
                    throw new CertificateException("the client certificate's subject CN is not text");
                }
                try {
                    cns.add(((ASN1String) value).getString());
                } catch (IllegalArgumentException ex) {
                    // A UTF8String that is not UTF-8 (found by SpiffeCertificatesFuzzTests): refused like any
                    // other broken certificate rather than escaping the trust manager as a runtime exception.
                    throw new CertificateException("the client certificate's subject CN is not valid text");
                }
            }
        }
        return cns;
    }
}
