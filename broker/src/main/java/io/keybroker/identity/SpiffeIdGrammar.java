package io.keybroker.identity;

import io.keybroker.secret.SecretName;
import java.util.regex.Pattern;
import org.jspecify.annotations.Nullable;

/**
 * The grammar of a workload identity: what a SPIFFE ID and a subject-CN identity may look like. It lives here,
 * below the policy, because the handshake judges certificates by it and the policy file judges its identity
 * patterns by it: one rule for both, and the policy depends on identity, never the other way round.
 *
 * <p>SPIFFE IDs are checked as the SPIFFE ID standard says: scheme {@code spiffe://}, a lower-case trust domain of
 * {@code [a-z0-9._-]} (no port, no user info, no final dot), path segments of {@code [A-Za-z0-9._-]} that are not
 * empty, {@code .} or {@code ..}, no query or fragment, at most 2048 characters.
 */
public final class SpiffeIdGrammar {

    /** The longest SPIFFE ID the standard allows. */
    public static final int MAX_SPIFFE_LENGTH = 2048;
    private static final String SCHEME = "spiffe://";
    private static final Pattern TRUST_DOMAIN = Pattern.compile("[a-z0-9._-]+");
    private static final Pattern SEGMENT = Pattern.compile("[A-Za-z0-9._-]+");
    private static final Pattern COMMON_NAME = Pattern.compile("[A-Za-z0-9](?:[A-Za-z0-9 ._@-]{0,62}[A-Za-z0-9._@-])?");
    // The messages name the policy file's forms too: a certificate's ID is refused in the words a policy author
    // needs, and both callers share one text.
    private static final String FORMS = "write an exact SPIFFE ID (spiffe://cluster.local/ns/payments/sa/checkout), "
            + "a SPIFFE ID prefix ending in '/*' (spiffe://cluster.local/ns/payments/*), or cn:NAME for a subject CN";

    private SpiffeIdGrammar() {
    }

    /**
     * Whether a certificate's subject CN can be a workload identity: exactly the CNs a {@code cn:} entry can
     * name, so the handshake and the policy file apply one rule (a CN no entry could ever match is refused when
     * the certificate is judged, with a reason, instead of reaching the policy as an unmatchable identity).
     */
    public static boolean isUsableCommonName(@Nullable String cn) {
        return cn != null && COMMON_NAME.matcher(cn).matches();
    }

    /**
     * Checks a common name as written after {@code cn:}.
     * @return the name
     * @throws IllegalArgumentException saying what is wrong
     */
    public static String checkCommonName(String cn) {
        if (!COMMON_NAME.matcher(cn).matches()) {
            throw new IllegalArgumentException("identity 'cn:" + SecretName.printable(cn) + "' has an invalid common "
                    + "name; after 'cn:' write 1 to 64 characters of letters, digits, space, '.', '_', '@' and '-', "
                    + "starting with a letter or digit (no wildcards: a CN matches exactly)");
        }
        return cn;
    }

    /**
     * Checks a SPIFFE ID.
     * @param id the ID, without the final {@code /*} of a prefix
     * @param raw the text as written, for the message
     * @param prefix whether {@code id} is the stem of a prefix pattern (then a bare trust domain is allowed)
     * @throws IllegalArgumentException saying what is wrong and how to fix it
     */
    public static void checkSpiffeId(String id, String raw, boolean prefix) {
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
}
