package io.keybroker.identity;

import io.keybroker.secret.SecretName;
import java.util.Objects;

/**
 * The verified identity of the caller, taken from its client certificate: a SPIFFE ID such as
 * {@code spiffe://cluster.local/ns/payments/sa/checkout}, or, only when the CN fallback is switched on, a
 * subject common name.
 *
 * @param id the SPIFFE ID or the CN
 * @param source how it was obtained
 */
public record WorkloadIdentity(String id, Source source) {

    /** How an identity was obtained from the certificate. */
    public enum Source { SPIFFE_URI, SUBJECT_CN }

    public WorkloadIdentity {
        Objects.requireNonNull(id, "id must not be null");
        Objects.requireNonNull(source, "source must not be null");
    }

    /**
     * Parses a caller identity as written by a person ({@code policy explain --identity}, a policy test case) or
     * carried by a certificate's URI SAN: a SPIFFE ID, or {@code cn:NAME} for a certificate accepted by its
     * subject CN.
     * @throws IllegalArgumentException saying what is wrong
     */
    public static WorkloadIdentity parse(String raw) {
        Objects.requireNonNull(raw, "raw must not be null");
        if (raw.startsWith("cn:")) {
            return new WorkloadIdentity(SpiffeIdGrammar.checkCommonName(raw.substring(3)), Source.SUBJECT_CN);
        }
        if (raw.endsWith("/*")) {
            throw new IllegalArgumentException("identity '" + SecretName.printable(raw) + "' is a pattern; give one "
                    + "caller's SPIFFE ID, e.g. spiffe://cluster.local/ns/payments/sa/checkout");
        }
        SpiffeIdGrammar.checkSpiffeId(raw, raw, false);
        return spiffe(raw);
    }

    public static WorkloadIdentity spiffe(String id) {
        return new WorkloadIdentity(id, Source.SPIFFE_URI);
    }

    /**
     * The identity as policies, audit lines and messages write it: the SPIFFE ID, or {@code cn:NAME} for an
     * identity taken from a subject CN, so the two kinds can never be mistaken for each other.
     */
    public String text() {
        return source == Source.SUBJECT_CN ? "cn:" + id : id;
    }

    @Override
    public String toString() {
        return text();
    }
}
