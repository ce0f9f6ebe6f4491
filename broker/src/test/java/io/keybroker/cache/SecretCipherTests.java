package io.keybroker.cache;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.keybroker.backend.BackendLocation;
import io.keybroker.backend.BackendVersion;
import io.keybroker.secret.SecretValue;
import java.nio.charset.StandardCharsets;
import java.time.Instant;
import java.util.concurrent.atomic.AtomicReference;
import org.junit.jupiter.api.Test;

class SecretCipherTests {

    private static final BackendLocation KEY = BackendLocation.of("vault", "prod/stripe/secret-key");
    private static final BackendLocation WEBHOOK = BackendLocation.of("vault", "prod/stripe/webhook-secret");
    private static final Instant CREATED = Instant.parse("2026-11-20T10:00:00Z");

    private final SecretCipher cipher = new SecretCipher();

    private static BackendVersion version(String id, String value) {
        return new BackendVersion(id, CREATED, SecretValue.adopt(value.getBytes(StandardCharsets.UTF_8)));
    }

    private String decrypt(EncryptedVersion version) {
        return cipher.withPlaintext(version, bytes -> new String(bytes, StandardCharsets.UTF_8));
    }

    @Test
    void shouldRoundTripAndKeepOnlyCiphertext() {
        String value = "sk_test_51HxYzRoundTripValue";
        EncryptedVersion encrypted = cipher.encrypt(KEY, version("7", value));

        assertThat(encrypted.nonce()).hasSize(12);
        assertThat(encrypted.ciphertext()).hasSize(value.length() + 16);
        assertThat(encrypted.valueLength()).isEqualTo(value.length());
        assertThat(new String(encrypted.ciphertext(), StandardCharsets.ISO_8859_1)).doesNotContain(value)
                .doesNotContain(value.substring(0, 8));
        assertThat(encrypted.toString()).doesNotContain(value);
        assertThat(decrypt(encrypted)).isEqualTo(value);
    }

    @Test
    void shouldUseAFreshNonceForEveryEncryption() {
        EncryptedVersion first = cipher.encrypt(KEY, version("7", "sk_test_same"));
        EncryptedVersion second = cipher.encrypt(KEY, version("7", "sk_test_same"));

        assertThat(first.nonce()).isNotEqualTo(second.nonce());
        assertThat(first.ciphertext()).isNotEqualTo(second.ciphertext());
    }

    @Test
    void shouldWipeTheValueItEncrypted() throws Exception {
        SecretValue value = SecretValue.adopt("sk_test_wipe_me".getBytes(StandardCharsets.UTF_8));

        cipher.encrypt(KEY, new BackendVersion("1", CREATED, value));

        assertThat(value.isWiped()).isTrue();
        assertThat(EncryptedSecretCacheTests.rawBytes(value)).containsOnly(0);
    }

    @Test
    void shouldWipeThePlaintextAfterUse() {
        EncryptedVersion encrypted = cipher.encrypt(KEY, version("7", "sk_test_in_use"));
        AtomicReference<byte[]> handed = new AtomicReference<>();

        String seen = cipher.withPlaintext(encrypted, bytes -> {
            handed.set(bytes);
            return new String(bytes, StandardCharsets.UTF_8);
        });

        assertThat(seen).isEqualTo("sk_test_in_use");
        assertThat(handed.get()).hasSize("sk_test_in_use".length()).containsOnly(0);
    }

    @Test
    void shouldWipeThePlaintextWhenTheCallbackThrows() {
        EncryptedVersion encrypted = cipher.encrypt(KEY, version("7", "sk_test_in_use"));
        AtomicReference<byte[]> handed = new AtomicReference<>();

        assertThatThrownBy(() -> cipher.usePlaintext(encrypted, bytes -> {
            handed.set(bytes);
            throw new IllegalStateException("response write failed");
        })).hasMessage("response write failed");

        assertThat(handed.get()).containsOnly(0);
    }

    @Test
    void shouldRefuseACiphertextMovedToAnotherEntry() {
        EncryptedVersion key = cipher.encrypt(KEY, version("7", "sk_test_key"));
        EncryptedVersion webhook = cipher.encrypt(WEBHOOK, version("7", "whsec_test_webhook"));
        EncryptedVersion swapped = new EncryptedVersion(key.location(), key.version(), key.createdAt(),
                webhook.nonce(), webhook.ciphertext());

        assertThatThrownBy(() -> decrypt(swapped)).isInstanceOf(IllegalStateException.class)
                .hasMessageContaining("failed authentication").hasMessageContaining(KEY.toString())
                .hasMessageNotContaining("sk_test_key").hasMessageNotContaining("whsec_test_webhook");
    }

    @Test
    void shouldRefuseACiphertextRelabelledWithAnotherVersionOrField() {
        EncryptedVersion v6 = cipher.encrypt(KEY, version("6", "sk_test_six"));
        EncryptedVersion relabelled = new EncryptedVersion(KEY, "7", CREATED, v6.nonce(), v6.ciphertext());
        EncryptedVersion otherField = new EncryptedVersion(new BackendLocation("vault", KEY.path(), "value"), "6",
                CREATED, v6.nonce(), v6.ciphertext());

        assertThatThrownBy(() -> decrypt(relabelled)).hasMessageContaining("failed authentication");
        assertThatThrownBy(() -> decrypt(otherField)).hasMessageContaining("failed authentication");
        assertThat(decrypt(v6)).isEqualTo("sk_test_six");
    }

    @Test
    void shouldRefuseATamperedCiphertext() {
        EncryptedVersion encrypted = cipher.encrypt(KEY, version("7", "sk_test_tamper"));
        byte[] ciphertext = encrypted.ciphertext();
        ciphertext[0] ^= 1;

        assertThatThrownBy(() -> decrypt(new EncryptedVersion(KEY, "7", CREATED, encrypted.nonce(), ciphertext)))
                .hasMessageContaining("failed authentication");
    }

    @Test
    void shouldNotDecryptWithAnotherProcessKey() {
        EncryptedVersion encrypted = cipher.encrypt(KEY, version("7", "sk_test_key"));

        assertThatThrownBy(() -> new SecretCipher().withPlaintext(encrypted, bytes -> bytes))
                .hasMessageContaining("failed authentication");
    }

    @Test
    void shouldNotLetTheCallerChangeTheStoredCiphertext() {
        EncryptedVersion encrypted = cipher.encrypt(KEY, version("7", "sk_test_key"));

        encrypted.ciphertext()[0] ^= 1;
        encrypted.nonce()[0] ^= 1;

        assertThat(decrypt(encrypted)).isEqualTo("sk_test_key");
    }
}
