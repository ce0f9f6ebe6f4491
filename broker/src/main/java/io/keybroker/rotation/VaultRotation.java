package io.keybroker.rotation;

import io.keybroker.backend.vault.VaultWriteConflictException;
import io.keybroker.backend.vault.VaultWriter;
import io.keybroker.secret.SecretValue;
import java.io.PrintWriter;

/**
 * A rotation in Vault / OpenBao KV v2. KV has no pending stage, so the new key is held in memory and tested
 * against Stripe first, then written as a new version with check-and-set on the version read at the start: of
 * two rotations racing from the same version, exactly one wins.
 */
public final class VaultRotation {

    private final VaultWriter writer;
    private final StripeKeyTest stripe;
    private final PrintWriter out;

    public VaultRotation(VaultWriter writer, StripeKeyTest stripe, PrintWriter out) {
        this.writer = writer;
        this.stripe = stripe;
        this.out = out;
    }

    public RotationOutcome rotate(String path, String field, SecretValue newValue, Long expectedVersion) {
        long base = expectedVersion != null ? expectedVersion : writer.latestVersion(path).block();
        out.println("stage: version " + base + " of " + path + " is current; the new key is held in memory");
        int status = stripe.status(newValue);
        out.println("test: GET " + stripe.balanceUri() + " with the new key answered "
                + (status < 0 ? "nothing (unreachable)" : status));
        if (status != 200) {
            out.println("test failed: nothing was written; version " + base + " stays current. "
                    + AwsRotation.advice(status));
            return RotationOutcome.TEST_FAILED;
        }
        try {
            long written = writer.write(path, field, newValue, base).block();
            out.println("promote: wrote version " + written + " of " + path + " (check-and-set on " + base
                    + "); version " + base + " is now previous");
            return RotationOutcome.ROTATED;
        } catch (VaultWriteConflictException ex) {
            out.println("conflict: " + path + " changed since version " + base + " (another rotation won); "
                    + "nothing was written. Read the current version and decide whether to rotate again.");
            return RotationOutcome.CONFLICT;
        }
    }
}
