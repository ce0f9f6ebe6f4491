package io.keybroker.audit;

import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.HexFormat;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.jspecify.annotations.Nullable;

/**
 * The hash chain of the audit trail, shared by the writer and by {@code audit verify} so both agree on it.
 *
 * <p>A line is a JSON object that starts with {@code type}, {@code seq} and {@code prev} in
 * this order and ends with {@code hash}; every other member, including {@code seq} and
 * {@code prev} (the previous line's hash), is covered by it: {@code hash = SHA-256(body)}, where {@code body} is
 * the line with {@code ,"hash":"..."} removed. A chain starts with an {@code anchor} line whose {@code prev} is
 * {@link #GENESIS} for a new trail, or the last hash of the file before it after a file rotation.
 */
public final class AuditChain {

    static final HexFormat HEX = HexFormat.of();

    /** The {@code prev} of the first anchor of a new trail. */
    public static final String GENESIS = "0".repeat(64);

    /**
     * DOTALL: a JSON string may hold U+0085, U+2028 or U+2029 unescaped (a policy file name can carry one), and
     * without it {@code .} stops at them, so a correct line would read as damaged.
     */
    private static final Pattern LINE = Pattern.compile("^(\\{.*),\"hash\":\"([0-9a-f]{64})\"}$", Pattern.DOTALL);
    /** Every line starts with type, seq and prev in this order, so they are found without a JSON parser. */
    private static final Pattern HEAD =
            Pattern.compile("^\\{\"type\":\"([a-z-]{1,40})\",\"seq\":(\\d{1,18}),\"prev\":\"([0-9a-f]{64})\"[,}]");

    private AuditChain() {
    }

    /** Appends the hash member to a JSON object body that already holds {@code seq} and {@code prev}. */
    public static String seal(String body) {
        if (!body.endsWith("}")) {
            throw new IllegalArgumentException("body must be a JSON object");
        }
        return seal(body, sha256(body));
    }

    /** {@link #seal(String)} with the body's hash already computed by {@link #sha256}. */
    static String seal(String body, String hash) {
        return body.substring(0, body.length() - 1) + ",\"hash\":\"" + hash + "\"}";
    }

    /** A parsed, self-consistent line, or {@code null} when the line's own hash does not match its content. */
    public static @Nullable Link check(String line) {
        Matcher m = LINE.matcher(line);
        if (!m.matches()) {
            return null;
        }
        String body = m.group(1) + "}";
        String hash = m.group(2);
        if (!MessageDigest.isEqual(hash.getBytes(StandardCharsets.US_ASCII),
                sha256(body).getBytes(StandardCharsets.US_ASCII))) {
            return null;
        }
        Matcher head = HEAD.matcher(body);
        if (!head.find()) {
            return null;
        }
        return new Link(head.group(1), Long.parseLong(head.group(2)), head.group(3), hash);
    }

    static String sha256(String body) {
        MessageDigest digest = newDigest();
        return HEX.formatHex(digest.digest(body.getBytes(StandardCharsets.UTF_8)));
    }

    /** A SHA-256 digest; the writer keeps one and reuses it under its lock rather than look one up per line. */
    static MessageDigest newDigest() {
        try {
            return MessageDigest.getInstance("SHA-256");
        } catch (NoSuchAlgorithmException ex) {
            throw new IllegalStateException("SHA-256 is not available in this JVM", ex);
        }
    }

    /**
     * One verified line of the chain.
     *
     * @param type the record type ({@code anchor} starts a chain)
     * @param seq the sequence number
     * @param prev the hash of the line before
     * @param hash this line's hash
     */
    public record Link(String type, long seq, String prev, String hash) {

        public boolean anchor() {
            return "anchor".equals(type);
        }
    }
}
