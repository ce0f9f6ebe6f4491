package io.keybroker.identity;

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
