package io.keybroker.cache;

import io.keybroker.backend.BackendLocation;
import io.keybroker.backend.BackendVersion;
import io.keybroker.secret.SecretValue;
import java.io.ByteArrayOutputStream;
import java.nio.charset.StandardCharsets;
import java.security.GeneralSecurityException;
import java.security.NoSuchAlgorithmException;
import java.security.SecureRandom;
import java.util.Arrays;
import java.util.Objects;
import java.util.function.Consumer;
import java.util.function.Function;
import javax.crypto.AEADBadTagException;
import javax.crypto.Cipher;
import javax.crypto.KeyGenerator;
import javax.crypto.SecretKey;
import javax.crypto.spec.GCMParameterSpec;
import org.jspecify.annotations.Nullable;

/**
 * Encrypts cached values with AES-256-GCM under a key made at start-up, and decrypts them only for the length of
 * one callback.
 *
 * <p>The key is 256 random bits from {@link SecureRandom}, created when this object is and held only in this
 * object's memory; it is never written, logged or exported, so a restarted broker cannot read anything an older
 * process held (nothing survives a restart anyway). Each encryption uses a fresh random 12-byte nonce; with
 * random nonces one key is safe for about 2^32 encryptions, far more than one process makes (one per version
 * read). The associated data binds each ciphertext to its location and version id.
 *
 * <h2>Limits</h2>
 * The JVM cannot lock memory ({@code mlock} is not reachable from Java without native code), so the key and a
 * plaintext being written can be swapped to disk or appear in a heap or core dump, and the garbage collector may
 * have copied an array before it was wiped. Encryption at rest in the heap shrinks what a heap dump or a stray
 * reference shows to the values in flight at that instant; it is not a defence against an attacker who can read
 * the process's memory while it runs. docs/cache.md explains this in full.
 */
public final class SecretCipher {

    static final int TAG_BYTES = 16;
    private static final int NONCE_BYTES = 12;
    private static final String TRANSFORMATION = "AES/GCM/NoPadding";

    private final SecretKey key;
    private final SecureRandom random;
    // Cipher.getInstance walks the provider list on every call (about 5 % of a cached read's CPU when it ran per
    // decryption). A Cipher is not thread-safe, so each thread keeps its own; init() with the version's nonce
    // resets it completely. These are only ever initialised to decrypt: GCM forbids re-using a nonce only when
    // encrypting, and encrypt() keeps taking a fresh Cipher and a fresh random nonce.
    private final ThreadLocal<Cipher> decryptors = ThreadLocal.withInitial(SecretCipher::newCipher);

    public SecretCipher() {
        this(new SecureRandom());
    }

    SecretCipher(SecureRandom random) {
        this.random = random;
        try {
            KeyGenerator generator = KeyGenerator.getInstance("AES");
            generator.init(256, random);
            this.key = generator.generateKey();
        } catch (NoSuchAlgorithmException ex) {
            throw new IllegalStateException("this Java runtime has no AES key generator; Keybroker needs one", ex);
        }
    }

    /**
     * Encrypts one backend version for the entry at {@code location} and wipes its plaintext, also when
     * encryption fails.
     */
    public EncryptedVersion encrypt(BackendLocation location, BackendVersion version) {
        Objects.requireNonNull(location, "location must not be null");
        Objects.requireNonNull(version, "version must not be null");
        SecretValue value = version.value();
        try {
            byte[] nonce = new byte[NONCE_BYTES];
            random.nextBytes(nonce);
            Cipher cipher = Cipher.getInstance(TRANSFORMATION);
            cipher.init(Cipher.ENCRYPT_MODE, key, new GCMParameterSpec(TAG_BYTES * 8, nonce));
            cipher.updateAAD(associatedData(location, version.version()));
            byte[] ciphertext = cipher.doFinal(value.bytes());
            return new EncryptedVersion(location, version.version(), version.createdAt(), nonce, ciphertext);
        } catch (GeneralSecurityException ex) {
            throw new IllegalStateException("cannot encrypt version " + version.version() + " of " + location
                    + " for the cache: " + ex.getClass().getSimpleName(), ex);
        } finally {
            value.wipe();
        }
    }

    /**
     * Decrypts {@code version} into a fresh array, passes it to {@code use}, and zeroes the array when
     * {@code use} returns or throws. {@code use} must not keep the array or anything derived from it that is not
     * itself wiped (write it into the response buffer and return).
     *
     * @throws IllegalStateException when the ciphertext fails authentication (it was altered, or moved from
     *     another entry or version); the message names the location and version, never a value
     */
    public <T extends @Nullable Object> T withPlaintext(EncryptedVersion version, Function<byte[], T> use) {
        Objects.requireNonNull(version, "version must not be null");
        Objects.requireNonNull(use, "use must not be null");
        byte[] plaintext = decrypt(version);
        try {
            return use.apply(plaintext);
        } finally {
            Arrays.fill(plaintext, (byte) 0);
        }
    }

    /** {@link #withPlaintext} for a callback that returns nothing. */
    public void usePlaintext(EncryptedVersion version, Consumer<byte[]> use) {
        Objects.requireNonNull(use, "use must not be null");
        withPlaintext(version, plaintext -> {
            use.accept(plaintext);
            return null;
        });
    }

    private byte[] decrypt(EncryptedVersion version) {
        byte[] ciphertext = version.ciphertextArray();
        try {
            Cipher cipher = decryptors.get();
            cipher.init(Cipher.DECRYPT_MODE, key, new GCMParameterSpec(TAG_BYTES * 8, version.nonceArray()));
            cipher.updateAAD(associatedData(version.location(), version.version()));
            // Decrypt into an array this class owns, so the caller's wipe covers the only plaintext copy we made.
            byte[] plaintext = new byte[cipher.getOutputSize(ciphertext.length)];
            int length = cipher.doFinal(ciphertext, 0, ciphertext.length, plaintext, 0);
            if (length == plaintext.length) {
                return plaintext;
            }
            byte[] exact = Arrays.copyOf(plaintext, length);
            Arrays.fill(plaintext, (byte) 0);
            return exact;
        } catch (AEADBadTagException ex) {
            throw new IllegalStateException("the cached ciphertext of version " + version.version() + " of "
                    + version.location() + " failed authentication: it was altered or does not belong to this "
                    + "entry; the entry cannot be served (this is a bug or memory corruption, not a configuration "
                    + "problem)");
        } catch (GeneralSecurityException ex) {
            throw new IllegalStateException("cannot decrypt version " + version.version() + " of "
                    + version.location() + ": " + ex.getClass().getSimpleName(), ex);
        }
    }

    private static Cipher newCipher() {
        try {
            return Cipher.getInstance(TRANSFORMATION);
        } catch (GeneralSecurityException ex) {
            throw new IllegalStateException("this Java runtime has no " + TRANSFORMATION + "; Keybroker needs it", ex);
        }
    }

    /** Backend, path, field and version, each length-prefixed, so no two different tuples encode alike. */
    static byte[] associatedData(BackendLocation location, String version) {
        ByteArrayOutputStream out = new ByteArrayOutputStream(64);
        for (String part : new String[] {location.backend(), location.path(),
                location.field() == null ? "" : location.field(), version}) {
            byte[] bytes = part.getBytes(StandardCharsets.UTF_8);
            out.write(bytes.length >>> 24);
            out.write(bytes.length >>> 16);
            out.write(bytes.length >>> 8);
            out.write(bytes.length);
            out.writeBytes(bytes);
        }
        out.write(location.field() == null ? 0 : 1);
        return out.toByteArray();
    }

    @Override
    public String toString() {
        return "SecretCipher[AES-256-GCM, per-process key]";
    }
}
