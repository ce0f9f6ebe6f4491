package io.keybroker.secret;

import java.util.List;
import java.util.Objects;
import java.util.regex.Pattern;
import org.jspecify.annotations.Nullable;

/**
 * A validated logical secret name such as {@code stripe/secret-key}.
 *
 * <p>Every endpoint (v1, watch, refresh, Spring Cloud Config, AWS agent) and every command turns raw input
 * into a {@code SecretName} through {@link #parse(String)}: there is no second, laxer parser. A name is a path
 * of segments matching {@code [a-z0-9][a-z0-9._-]*} joined by {@code /}, at most {@value #MAX_LENGTH}
 * characters. The rules forbid {@code ..} (a segment must start with a letter or digit), empty segments,
 * upper case, percent signs and control characters, so a valid name can be embedded in a backend path
 * without escaping and can never climb out of the environment prefix.
 */
public final class SecretName implements Comparable<SecretName> {

    public static final int MAX_LENGTH = 256;

    private static final Pattern SEGMENT = Pattern.compile("[a-z0-9][a-z0-9._-]*");

    private final String value;

    private SecretName(String value) {
        this.value = value;
    }

    /**
     * Parses a raw name.
     * @throws InvalidSecretNameException with a message that says what is wrong and what a valid name looks
     *     like; the message quotes at most a sanitised prefix of the input, never control characters
     */
    public static SecretName parse(String raw) {
        String problem = problem(raw);
        if (problem != null) {
            throw new InvalidSecretNameException(problem);
        }
        return new SecretName(raw);
    }

    /**
     * Whether {@code raw} is a valid name. Builds no exception: the alias check asks this for candidate names on
     * every read, and an exception's stack trace per read was a measurable part of a cached read's CPU.
     */
    public static boolean isValid(String raw) {
        return problem(raw) == null;
    }

    /** What is wrong with {@code raw}, or null when it is a valid name. */
    private static @Nullable String problem(String raw) {
        if (raw == null || raw.isEmpty()) {
            return "secret name is empty; expected segments of [a-z0-9][a-z0-9._-]* joined by '/', e.g. "
                    + "stripe/secret-key";
        }
        if (raw.length() > MAX_LENGTH) {
            return "secret name is " + raw.length() + " characters long; at most " + MAX_LENGTH + " are allowed";
        }
        int start = 0;
        int segmentIndex = 0;
        while (true) {
            int slash = raw.indexOf('/', start);
            String segment = slash < 0 ? raw.substring(start) : raw.substring(start, slash);
            if (segment.isEmpty()) {
                return "secret name '" + printable(raw) + "' has an empty segment (leading, trailing or double '/'); "
                        + "expected e.g. stripe/secret-key";
            }
            if (!SEGMENT.matcher(segment).matches()) {
                return "secret name '" + printable(raw) + "': segment " + (segmentIndex + 1) + " '"
                        + printable(segment) + "' is invalid; each segment must match [a-z0-9][a-z0-9._-]* (lower "
                        + "case letters, digits, '.', '_', '-', starting with a letter or digit)";
            }
            if (slash < 0) {
                return null;
            }
            start = slash + 1;
            segmentIndex++;
        }
    }

    public String value() {
        return value;
    }

    public List<String> segments() {
        return List.of(value.split("/"));
    }

    /** Whether this name is {@code prefix} itself or lies below it ({@code prefix/...}). */
    public boolean isWithin(SecretName prefix) {
        return value.equals(prefix.value) || value.startsWith(prefix.value + "/");
    }

    /** The Spring property name for this secret by default: {@code stripe/secret-key -> stripe.secret-key}. */
    public String toPropertyName() {
        return value.replace('/', '.');
    }

    /**
     * Renders untrusted input for an error message: printable ASCII only, at most 64 characters. Keeps control
     * characters and very long inputs out of logs and problem documents.
     */
    public static String printable(String raw) {
        StringBuilder out = new StringBuilder();
        for (int i = 0; i < raw.length() && out.length() < 64; i++) {
            char c = raw.charAt(i);
            out.append(c >= 0x20 && c < 0x7f ? c : '?');
        }
        if (raw.length() > 64) {
            out.append("...");
        }
        return out.toString();
    }

    @Override
    public int compareTo(SecretName other) {
        return value.compareTo(other.value);
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof SecretName other && value.equals(other.value);
    }

    @Override
    public int hashCode() {
        return Objects.hash(value);
    }

    @Override
    public String toString() {
        return value;
    }
}
