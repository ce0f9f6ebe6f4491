package io.keybroker.policy;

import io.keybroker.identity.SpiffeIdGrammar;
import io.keybroker.identity.WorkloadIdentity;
import java.util.Objects;

/**
 * Which callers a workload entry applies to. Three forms:
 * <ul>
 *   <li>{@code spiffe://cluster.local/ns/payments/sa/checkout}: exactly that SPIFFE ID;</li>
 *   <li>{@code spiffe://cluster.local/ns/payments/*}: every SPIFFE ID below that path, at any depth (so
 *       {@code .../ns/payments/sa/checkout} and {@code .../ns/payments/sa/refunds}); {@code spiffe://td/*} covers a
 *       whole trust domain. Unlike secret patterns, where {@code /*} is one segment, an identity prefix spans any
 *       depth, because Kubernetes SPIFFE IDs put two segments ({@code sa/NAME}) below the namespace;</li>
 *   <li>{@code cn:checkout}: a certificate whose subject CN is exactly {@code checkout}, accepted only when the
 *       broker's subject-CN fallback is switched on. A CN never matches a SPIFFE pattern and vice versa, so a
 *       certificate cannot pass as a SPIFFE ID by putting one in its CN.</li>
 * </ul>
 * SPIFFE IDs and common names are checked by {@link SpiffeIdGrammar}, the rule the handshake applies to certificates.
 */
public final class IdentityPattern {

    /** The three forms. */
    public enum Kind { EXACT, PREFIX, CN }

    private final String text;
    private final Kind kind;
    // EXACT: the SPIFFE ID; PREFIX: the ID up to and including the last '/'; CN: the common name.
    private final String fixed;

    private IdentityPattern(String text, Kind kind, String fixed) {
        this.text = text;
        this.kind = kind;
        this.fixed = fixed;
    }

    /**
     * Parses an identity pattern as written in a policy file.
     * @throws IllegalArgumentException saying what is wrong and which forms are allowed
     */
    public static IdentityPattern parse(String raw) {
        Objects.requireNonNull(raw, "raw must not be null");
        if (raw.startsWith("cn:")) {
            return new IdentityPattern(raw, Kind.CN, SpiffeIdGrammar.checkCommonName(raw.substring(3)));
        }
        if (raw.endsWith("/*")) {
            String id = raw.substring(0, raw.length() - 2);
            SpiffeIdGrammar.checkSpiffeId(id, raw, true);
            return new IdentityPattern(raw, Kind.PREFIX, id + "/");
        }
        SpiffeIdGrammar.checkSpiffeId(raw, raw, false);
        return new IdentityPattern(raw, Kind.EXACT, raw);
    }

    /** Whether the pattern covers the caller. */
    public boolean matches(WorkloadIdentity identity) {
        return switch (kind) {
            case EXACT -> identity.source() == WorkloadIdentity.Source.SPIFFE_URI && identity.id().equals(fixed);
            case PREFIX -> identity.source() == WorkloadIdentity.Source.SPIFFE_URI
                    && identity.id().length() > fixed.length() && identity.id().startsWith(fixed);
            case CN -> identity.source() == WorkloadIdentity.Source.SUBJECT_CN && identity.id().equals(fixed);
        };
    }

    /**
     * Whether every caller {@code other} matches is matched by this pattern too: an exact ID or CN includes only
     * itself, a prefix includes the exact IDs and the prefixes below it. {@code policy diff} uses it to tell a
     * wider identity pattern from one already covered.
     */
    public boolean includes(IdentityPattern other) {
        return switch (kind) {
            case EXACT, CN -> kind == other.kind && fixed.equals(other.fixed);
            case PREFIX -> other.kind != Kind.CN && other.fixed.startsWith(fixed)
                    && (other.kind == Kind.PREFIX || other.fixed.length() > fixed.length());
        };
    }

    /**
     * A caller this pattern matches and that no pattern of {@code named} names exactly: the ID or CN itself for an
     * exact pattern, and for a prefix an ID one segment below it that stands for "any other workload under it".
     * The review commands decide for this caller with {@link PolicySet#decide}, as the server would.
     */
    public WorkloadIdentity representative(java.util.Collection<IdentityPattern> named) {
        return switch (kind) {
            case EXACT -> WorkloadIdentity.spiffe(fixed);
            case CN -> new WorkloadIdentity(fixed, WorkloadIdentity.Source.SUBJECT_CN);
            case PREFIX -> {
                String id = fixed + "any-other-workload";
                for (int i = 2; named.contains(parse(id)); i++) {
                    id = fixed + "any-other-workload-" + i;
                }
                yield WorkloadIdentity.spiffe(id);
            }
        };
    }

    public Kind kind() {
        return kind;
    }

    /** The pattern as written in the policy file. */
    public String text() {
        return text;
    }

    /** EXACT: the SPIFFE ID; PREFIX: the ID up to and including its last '/'; CN: the common name. */
    String fixed() {
        return fixed;
    }


    @Override
    public boolean equals(Object o) {
        return o instanceof IdentityPattern other && text.equals(other.text);
    }

    @Override
    public int hashCode() {
        return text.hashCode();
    }

    @Override
    public String toString() {
        return text;
    }
}
