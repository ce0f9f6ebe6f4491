package io.keybroker.stripe;

import java.nio.charset.StandardCharsets;
import java.security.InvalidKeyException;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;
import javax.crypto.Mac;
import javax.crypto.spec.SecretKeySpec;

/**
 * Stripe's webhook signature scheme, as stripe-java's {@code Webhook.Signature.verifyHeader} checks it: the
 * {@code Stripe-Signature} header is {@code t=TIMESTAMP,v1=HEX[,v1=HEX...][,v0=...]}, and a signature is the
 * HMAC-SHA256 of {@code "{t}.{raw body}"} keyed with the UTF-8 bytes of the {@code whsec_...} string. Any one
 * {@code v1} entry may match (Stripe sends several while a secret is being rolled); other schemes are ignored.
 * Comparison is constant-time.
 */
final class WebhookSignature {

    private static final int MAX_V1 = 16;

    /**
     * A parsed header.
     *
     * @param timestamp {@code t}, seconds since the epoch
     * @param signatures the decoded {@code v1} entries
     */
    record Header(long timestamp, List<byte[]> signatures) {
    }

    private WebhookSignature() {
    }

    /**
     * Parses a {@code Stripe-Signature} header.
     * @throws IllegalArgumentException saying what is wrong with it
     */
    static Header parse(String header) {
        Long timestamp = null;
        List<byte[]> signatures = new ArrayList<>();
        for (String item : header.split(",")) {
            int eq = item.indexOf('=');
            if (eq <= 0) {
                throw new IllegalArgumentException("the Stripe-Signature header is malformed: each item is KEY=VALUE "
                        + "(t=..., v1=...)");
            }
            String key = item.substring(0, eq).strip();
            String value = item.substring(eq + 1).strip();
            if (key.equals("t")) {
                if (timestamp != null || !value.matches("[0-9]{1,12}")) {
                    throw new IllegalArgumentException("the Stripe-Signature header needs exactly one t=TIMESTAMP "
                            + "(seconds since the epoch)");
                }
                timestamp = Long.parseLong(value);
            } else if (key.equals("v1")) {
                if (value.length() == 64 && value.matches("[0-9a-fA-F]{64}") && signatures.size() < MAX_V1) {
                    signatures.add(HexFormat.of().parseHex(value));
                }
            }
        }
        if (timestamp == null) {
            throw new IllegalArgumentException("the Stripe-Signature header has no t=TIMESTAMP");
        }
        if (signatures.isEmpty()) {
            throw new IllegalArgumentException("the Stripe-Signature header has no v1 signature (Stripe signs with "
                    + "the v1 scheme; v0 and test-mode-only schemes are not accepted)");
        }
        return new Header(timestamp, signatures);
    }

    /** Whether one of the header's v1 signatures is the HMAC of {@code "{t}.{body}"} under {@code secret}. */
    static boolean matches(Header header, byte[] body, byte[] secret) {
        byte[] expected = hmac(secret, header.timestamp(), body);
        boolean match = false;
        // Every entry is compared, so the time taken does not tell which one matched.
        for (byte[] signature : header.signatures()) {
            match |= MessageDigest.isEqual(expected, signature);
        }
        return match;
    }

    /** HMAC-SHA256 of {@code "{t}.{body}"}; package-private for tests. */
    static byte[] hmac(byte[] secret, long timestamp, byte[] body) {
        try {
            Mac mac = Mac.getInstance("HmacSHA256");
            mac.init(new SecretKeySpec(secret, "HmacSHA256"));
            mac.update(Long.toString(timestamp).getBytes(StandardCharsets.US_ASCII));
            mac.update((byte) '.');
            return mac.doFinal(body);
        } catch (NoSuchAlgorithmException | InvalidKeyException ex) {
            throw new IllegalStateException("HmacSHA256 is not available in this JVM", ex);
        }
    }
}
