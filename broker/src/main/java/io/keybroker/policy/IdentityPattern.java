package io.keybroker.policy;

import io.keybroker.identity.WorkloadIdentity;
import io.keybroker.secret.SecretName;
import java.util.Objects;
import java.util.regex.Pattern;

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
 * SPIFFE IDs are checked as the SPIFFE ID standard says: scheme {@code spiffe://}, a lower-case trust domain of
 * {@code [a-z0-9._-]} (no port, no user info, no final dot), path segments of {@code [A-Za-z0-9._-]} that are not empty,
 * {@code .} or {@code ..}, no query or fragment, at most 2048 characters.
 */
public final class IdentityPattern {

    /** The three forms. */
    public enum Kind { EXACT, PREFIX, CN }

    static final int MAX_SPIFFE_LENGTH = 2048;
    private static final String SCHEME = "spiffe://";
    private static final Pattern TRUST_DOMAIN = Pattern.compile("[a-z0-9._-]+");
    private static final Pattern SEGMENT = Pattern.compile("[A-Za-z0-9._-]+");
    private static final Pattern COMMON_NAME = Pattern.compile("[A-Za-z0-9](?:[A-Za-z0-9 ._@-]{0,62}[A-Za-z0-9._@-])?");
    private static final String FORMS = "write an exact SPIFFE ID (spiffe://cluster.local/ns/payments/sa/checkout), "
            + "a SPIFFE ID prefix ending in '/*' (spiffe://cluster.local/ns/payments/*), or cn:NAME for a subject CN";

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
            return new IdentityPattern(raw, Kind.CN, checkCommonName(raw.substring(3)));
        }
        if (raw.endsWith("/*")) {
            String id = raw.substring(0, raw.length() - 2);
            checkSpiffeId(id, raw, true);
            return new IdentityPattern(raw, Kind.PREFIX, id + "/");
        }
        checkSpiffeId(raw, raw, false);
        return new IdentityPattern(raw, Kind.EXACT, raw);
    }

    /**
     * Parses a caller identity given on the command line ({@code policy explain --identity}): a SPIFFE ID, or
     * {@code cn:NAME} for a certificate accepted by its subject CN.
     * @throws IllegalArgumentException saying what is wrong
     */
    public static WorkloadIdentity parseIdentity(String raw) {
        Objects.requireNonNull(raw, "raw must not be null");
        if (raw.startsWith("cn:")) {
            return new WorkloadIdentity(checkCommonName(raw.substring(3)), WorkloadIdentity.Source.SUBJECT_CN);
        }
        if (raw.endsWith("/*")) {
            throw new IllegalArgumentException("identity '" + SecretName.printable(raw) + "' is a pattern; give one "
                    + "caller's SPIFFE ID, e.g. spiffe://cluster.local/ns/payments/sa/checkout");
        }
        checkSpiffeId(raw, raw, false);
        return WorkloadIdentity.spiffe(raw);
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

    /**
     * Whether a certificate's subject CN can be a workload identity: exactly the CNs a {@code cn:} entry can
     * name, so the handshake and the policy file apply one rule (a CN no entry could ever match is refused when
     * the certificate is judged, with a reason, instead of reaching the policy as an unmatchable identity).
     */
    public static boolean isUsableCommonName(String cn) {
        return cn != null && COMMON_NAME.matcher(cn).matches();
    }

    private static String checkCommonName(String cn) {
        if (!COMMON_NAME.matcher(cn).matches()) {
            throw new IllegalArgumentException("identity 'cn:" + SecretName.printable(cn) + "' has an invalid common "
                    + "name; after 'cn:' write 1 to 64 characters of letters, digits, space, '.', '_', '@' and '-', "
                    + "starting with a letter or digit (no wildcards: a CN matches exactly)");
        }
        return cn;
    }

    private static void checkSpiffeId(String id, String raw, boolean prefix) {
        String quoted = "identity '" + SecretName.printable(raw) + "'";
        if (!id.startsWith(SCHEME)) {
            if (id.regionMatches(true, 0, SCHEME, 0, SCHEME.length())) {
                throw new IllegalArgumentException(quoted + " must start with lower-case 'spiffe://'");
            }
            throw new IllegalArgumentException(quoted + " is not a SPIFFE ID; " + FORMS);
        }
        if (raw.length() > MAX_SPIFFE_LENGTH) {
            throw new IllegalArgumentException(quoted + " is " + raw.length() + " characters long; a SPIFFE ID has at "
                    + "most " + MAX_SPIFFE_LENGTH);
        }
        if (id.indexOf('*') >= 0) {
            throw new IllegalArgumentException(quoted + " has '*' in the wrong place; the only wildcard is a final "
                    + "'/*' (every ID below that path); " + FORMS);
        }
        if (id.indexOf('?') >= 0 || id.indexOf('#') >= 0) {
            throw new IllegalArgumentException(quoted + " has a query or fragment ('?' or '#'), which a SPIFFE ID "
                    + "never has; remove it");
        }
        String rest = id.substring(SCHEME.length());
        int slash = rest.indexOf('/');
        String trustDomain = slash < 0 ? rest : rest.substring(0, slash);
        String path = slash < 0 ? "" : rest.substring(slash);
        if (trustDomain.isEmpty()) {
            throw new IllegalArgumentException(quoted + " has no trust domain; write e.g. spiffe://cluster.local/...");
        }
        if (trustDomain.indexOf('@') >= 0) {
            throw new IllegalArgumentException(quoted + " has user info ('@') in its trust domain, which a SPIFFE ID "
                    + "never has; remove it");
        }
        if (trustDomain.indexOf(':') >= 0) {
            throw new IllegalArgumentException(quoted + " has a port in its trust domain, which a SPIFFE ID never "
                    + "has; remove it");
        }
        if (!TRUST_DOMAIN.matcher(trustDomain).matches()) {
            throw new IllegalArgumentException(quoted + " has an invalid trust domain '"
                    + SecretName.printable(trustDomain) + "'; a trust domain uses only lower-case letters, digits, "
                    + "'.', '_' and '-'");
        }
        if (trustDomain.endsWith(".")) {
            // The SPIFFE standard's character set allows it, but the JDK cannot read a URI SAN whose host ends in
            // a dot (its DNSName check), so no certificate could ever carry this ID (found by fuzzing).
            throw new IllegalArgumentException(quoted + " has a trust domain ending in '.'; remove the final dot "
                    + "(certificates cannot carry such an ID: the JDK refuses to parse their SAN)");
        }
        if (path.isEmpty()) {
            if (prefix) {
                return; // spiffe://td/* : the whole trust domain
            }
            throw new IllegalArgumentException(quoted + " names a trust domain, not a workload; add the workload's "
                    + "path (spiffe://" + trustDomain + "/ns/NAMESPACE/sa/SERVICE-ACCOUNT) or end it in '/*' to cover "
                    + "the whole trust domain");
        }
        String[] segments = path.substring(1).split("/", -1);
        for (String segment : segments) {
            if (segment.isEmpty()) {
                throw new IllegalArgumentException(quoted + " has an empty path segment (a '//' or a trailing '/'); "
                        + "remove the extra '/'" + (prefix ? "" : ", or end it in '/*' to cover every ID below it"));
            }
            if (segment.equals(".") || segment.equals("..")) {
                throw new IllegalArgumentException(quoted + " has a '" + segment + "' path segment, which a SPIFFE ID "
                        + "never has; write the path out in full");
            }
            if (!SEGMENT.matcher(segment).matches()) {
                throw new IllegalArgumentException(quoted + " has an invalid path segment '"
                        + SecretName.printable(segment) + "'; path segments use only letters, digits, '.', '_' and "
                        + "'-' (no percent-encoding)");
            }
        }
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
