package io.keybroker.policy;

import io.keybroker.secret.SecretName;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;
import java.util.Objects;
import java.util.Set;
import java.util.regex.Pattern;

/**
 * One entry of a workload's {@code stripe.calls} list: an HTTP method and a Stripe API path pattern, written
 * {@code POST /v1/payment_intents} or {@code GET /v1/payment_intents/*}.
 * <ul>
 *   <li>A literal segment matches itself, case-sensitively ({@code v1}, {@code payment_intents}).</li>
 *   <li>{@code *} matches exactly one segment ({@code /v1/customers/*} covers {@code /v1/customers/cus_123}, not
 *       {@code /v1/customers} and not {@code /v1/customers/cus_123/sources}).</li>
 *   <li>{@code **}, only as the last segment, matches one or more segments ({@code /v1/customers/**} covers both
 *       of those, not {@code /v1/customers} itself).</li>
 * </ul>
 * The path is the Stripe path without the broker's {@code /stripe} prefix and without a query string (queries are
 * not part of the decision: Stripe's list endpoints take their filters there). A pattern that is only wildcards
 * ({@code /**}, {@code /*}) is refused: a call list must name at least the API version segment.
 */
public final class StripeCallPattern {

    /** The methods Stripe's API uses. */
    public static final List<String> METHODS = List.of("GET", "POST", "DELETE");

    /** A literal path segment: Stripe's paths and object ids use letters, digits, '_', '-' and '.'. */
    static final Pattern SEGMENT = Pattern.compile("[A-Za-z0-9_.-]{1,200}");

    private static final Set<String> METHOD_SET = Set.copyOf(METHODS);
    private static final String EXAMPLE = "write METHOD and path, e.g. 'POST /v1/payment_intents' or "
            + "'GET /v1/payment_intents/*' (* is one segment, ** at the end any depth)";

    private final String text;
    private final String method;
    private final String[] segments;
    private final boolean anyDepth;

    private StripeCallPattern(String text, String method, String[] segments, boolean anyDepth) {
        this.text = text;
        this.method = method;
        this.segments = segments;
        this.anyDepth = anyDepth;
    }

    /**
     * Parses a call pattern as written in a policy file.
     * @throws IllegalArgumentException saying what is wrong and what to write
     */
    public static StripeCallPattern parse(String raw) {
        Objects.requireNonNull(raw, "raw must not be null");
        String shown = SecretName.printable(raw);
        String[] parts = raw.strip().split(" +");
        if (parts.length != 2) {
            throw new IllegalArgumentException("call '" + shown + "' is not METHOD and path; " + EXAMPLE);
        }
        String method = parts[0];
        if (!METHOD_SET.contains(method)) {
            String hint = METHOD_SET.contains(method.toUpperCase(Locale.ROOT)) ? " (write it in upper case: "
                    + method.toUpperCase(Locale.ROOT) + ")" : "";
            throw new IllegalArgumentException("call '" + shown + "' has method '" + SecretName.printable(method)
                    + "'" + hint + "; Stripe's API uses " + String.join(", ", METHODS));
        }
        String path = parts[1];
        if (path.indexOf('?') >= 0 || path.indexOf('#') >= 0) {
            throw new IllegalArgumentException("call '" + shown + "' has a query string; list the path only (the "
                    + "query is not part of the decision), e.g. 'GET /v1/customers'");
        }
        if (path.startsWith("/stripe/")) {
            throw new IllegalArgumentException("call '" + shown + "' starts with the broker's /stripe prefix; write "
                    + "the Stripe path as in Stripe's API reference, e.g. '" + method + " "
                    + path.substring("/stripe".length()) + "'");
        }
        if (!path.startsWith("/") || path.length() == 1 || path.endsWith("/") || path.contains("//")) {
            throw new IllegalArgumentException("call '" + shown + "' has an invalid path; it starts with '/', has "
                    + "no empty segment and no trailing '/'; " + EXAMPLE);
        }
        String[] segments = path.substring(1).split("/");
        boolean literal = false;
        for (int i = 0; i < segments.length; i++) {
            String segment = segments[i];
            if (segment.equals("**")) {
                if (i != segments.length - 1) {
                    throw new IllegalArgumentException("call '" + shown + "' has '**' before the last segment; '**' "
                            + "may only end the path (use '*' for one segment in the middle)");
                }
            } else if (!segment.equals("*")) {
                if (segment.equals(".") || segment.equals("..") || !SEGMENT.matcher(segment).matches()) {
                    throw new IllegalArgumentException("call '" + shown + "' has an invalid segment '"
                            + SecretName.printable(segment) + "'; a segment is '*', '**' (last only) or letters, "
                            + "digits, '_', '-' and '.' (not '.' or '..' alone)");
                }
                literal = true;
            }
        }
        if (!literal) {
            throw new IllegalArgumentException("call '" + shown + "' would allow every Stripe path; name at least "
                    + "the API version, e.g. '" + method + " /v1/**'");
        }
        boolean anyDepth = segments[segments.length - 1].equals("**");
        String[] fixed = anyDepth ? Arrays.copyOf(segments, segments.length - 1) : segments;
        return new StripeCallPattern(method + " " + path, method, fixed, anyDepth);
    }

    /**
     * Whether this pattern covers a call. {@code path} is the Stripe path ({@code /v1/...}) without a query
     * string; a path with an empty, {@code .} or {@code ..} segment never matches.
     */
    public boolean matches(String requestMethod, String path) {
        if (!method.equals(requestMethod) || path.length() < 2 || path.charAt(0) != '/') {
            return false;
        }
        String[] request = path.substring(1).split("/", -1);
        if (anyDepth ? request.length <= segments.length : request.length != segments.length) {
            return false;
        }
        for (int i = 0; i < request.length; i++) {
            String segment = request[i];
            if (segment.isEmpty() || segment.equals(".") || segment.equals("..")) {
                return false;
            }
            if (i < segments.length && !segments[i].equals("*") && !segments[i].equals(segment)) {
                return false;
            }
        }
        return true;
    }

    /** The method, upper case. */
    public String method() {
        return method;
    }

    /** The pattern as normalised from the policy file: {@code METHOD /path}. */
    public String text() {
        return text;
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof StripeCallPattern other && text.equals(other.text);
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
