package io.keybroker.policy;

import io.keybroker.secret.InvalidSecretNameException;
import io.keybroker.secret.SecretName;
import java.util.Objects;

/**
 * Which secret names an allow rule covers. Three forms, nothing else:
 * <ul>
 *   <li>{@code stripe/secret-key}: exactly that name;</li>
 *   <li>{@code stripe/*}: any name exactly one segment below {@code stripe} ({@code stripe/secret-key}, not
 *       {@code stripe/restricted/reporting} and not {@code stripe} itself);</li>
 *   <li>{@code stripe/**}: any name at any depth below {@code stripe} (not {@code stripe} itself).</li>
 * </ul>
 * The fixed part is a valid {@link SecretName}, so a pattern can never cover a name that the API would refuse.
 * A bare {@code *} or {@code **} (everything) is refused on purpose: a grant must name at least one prefix.
 */
public final class SecretPattern {

    /** The three forms. */
    public enum Kind { EXACT, ONE_LEVEL, ANY_DEPTH }

    private static final String ALLOWED = "write an exact name (stripe/secret-key), a prefix and '/*' for one more "
            + "segment (stripe/*), or a prefix and '/**' for any depth below it (stripe/**)";

    private final String text;
    private final Kind kind;
    // For EXACT the name; for the others the prefix followed by '/', so a match lies on a segment boundary.
    private final String fixed;

    private SecretPattern(String text, Kind kind, String fixed) {
        this.text = text;
        this.kind = kind;
        this.fixed = fixed;
    }

    /**
     * Parses a pattern as written in a policy file.
     * @throws IllegalArgumentException saying what is wrong and which forms are allowed
     */
    public static SecretPattern parse(String raw) {
        Objects.requireNonNull(raw, "raw must not be null");
        Kind kind;
        String prefix;
        if (raw.endsWith("/**")) {
            kind = Kind.ANY_DEPTH;
            prefix = raw.substring(0, raw.length() - 3);
        } else if (raw.endsWith("/*")) {
            kind = Kind.ONE_LEVEL;
            prefix = raw.substring(0, raw.length() - 2);
        } else {
            kind = Kind.EXACT;
            prefix = raw;
        }
        if (raw.equals("*") || raw.equals("**") || raw.equals("/*") || raw.equals("/**")) {
            throw new IllegalArgumentException("secret pattern '" + raw + "' would grant every secret, which is not "
                    + "allowed; " + ALLOWED);
        }
        if (prefix.indexOf('*') >= 0) {
            throw new IllegalArgumentException("secret pattern '" + SecretName.printable(raw) + "' has '*' in the "
                    + "wrong place; '*' and '**' may only form the whole last segment: " + ALLOWED);
        }
        try {
            SecretName.parse(prefix);
        } catch (InvalidSecretNameException ex) {
            throw new IllegalArgumentException("secret pattern '" + SecretName.printable(raw) + "' is invalid: "
                    + ex.getMessage() + "; " + ALLOWED);
        }
        return new SecretPattern(raw, kind, kind == Kind.EXACT ? prefix : prefix + "/");
    }

    /** Whether the pattern covers {@code name}. */
    public boolean matches(SecretName name) {
        return matches(name.value());
    }

    boolean matches(String name) {
        return switch (kind) {
            case EXACT -> name.equals(fixed);
            case ONE_LEVEL -> name.length() > fixed.length() && name.startsWith(fixed)
                    && name.indexOf('/', fixed.length()) < 0;
            case ANY_DEPTH -> name.length() > fixed.length() && name.startsWith(fixed);
        };
    }

    /**
     * Whether every name {@code other} covers is covered by this pattern too: {@code stripe/**} includes
     * {@code stripe/*}, {@code stripe/a/*} and {@code stripe/a}; {@code stripe/*} includes {@code stripe/a} only.
     */
    public boolean includes(SecretPattern other) {
        return switch (kind) {
            case EXACT -> other.kind == Kind.EXACT && fixed.equals(other.fixed);
            case ONE_LEVEL -> other.kind == Kind.EXACT ? matches(other.fixed)
                    : other.kind == Kind.ONE_LEVEL && fixed.equals(other.fixed);
            case ANY_DEPTH -> other.kind == Kind.EXACT ? matches(other.fixed) : other.fixed.startsWith(fixed);
        };
    }

    public Kind kind() {
        return kind;
    }

    /** For an exact pattern, the name. */
    String exactName() {
        return fixed;
    }

    /** The pattern as written in the policy file. */
    public String text() {
        return text;
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof SecretPattern other && text.equals(other.text);
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
