package io.keybroker.backend.vault;

import java.nio.charset.StandardCharsets;
import java.security.KeyPair;
import java.security.KeyPairGenerator;
import java.security.Signature;
import java.time.Instant;
import java.util.Base64;
import java.util.List;
import java.util.Map;
import tools.jackson.databind.json.JsonMapper;

/**
 * Signs Kubernetes-style service-account tokens (RS256 JWTs) with a key pair made by the test, standing in for
 * the Kubernetes API server's signing key: OpenBao's {@code jwt} auth method validates them against the public
 * key, the way the {@code kubernetes} method would validate a projected token through the TokenReview API.
 */
final class TestJwt {

    static final String ISSUER = "https://kubernetes.default.svc.cluster.local";
    static final String AUDIENCE = "openbao";

    private static final JsonMapper JSON = JsonMapper.builder().build();

    private final KeyPair keys;

    TestJwt() {
        try {
            KeyPairGenerator generator = KeyPairGenerator.getInstance("RSA");
            generator.initialize(2048);
            this.keys = generator.generateKeyPair();
        } catch (Exception ex) {
            throw new IllegalStateException(ex);
        }
    }

    String publicKeyPem() {
        return "-----BEGIN PUBLIC KEY-----\n"
                + Base64.getMimeEncoder(64, "\n".getBytes(StandardCharsets.US_ASCII))
                        .encodeToString(keys.getPublic().getEncoded())
                + "\n-----END PUBLIC KEY-----\n";
    }

    /** A projected service-account token of {@code namespace/serviceAccount}, valid for ten minutes. */
    String serviceAccountToken(String namespace, String serviceAccount) {
        long now = Instant.now().getEpochSecond();
        Map<String, Object> claims = Map.of(
                "iss", ISSUER,
                "sub", "system:serviceaccount:" + namespace + ":" + serviceAccount,
                "aud", List.of(AUDIENCE),
                "iat", now,
                "nbf", now - 5,
                "exp", now + 600,
                "kubernetes.io", Map.of("namespace", namespace, "serviceaccount", Map.of("name", serviceAccount)));
        String header = encode(JSON.writeValueAsBytes(Map.of("alg", "RS256", "typ", "JWT", "kid", "test")));
        String payload = encode(JSON.writeValueAsBytes(claims));
        try {
            Signature signature = Signature.getInstance("SHA256withRSA");
            signature.initSign(keys.getPrivate());
            signature.update((header + "." + payload).getBytes(StandardCharsets.US_ASCII));
            return header + "." + payload + "." + encode(signature.sign());
        } catch (Exception ex) {
            throw new IllegalStateException(ex);
        }
    }

    private static String encode(byte[] bytes) {
        return Base64.getUrlEncoder().withoutPadding().encodeToString(bytes);
    }
}
