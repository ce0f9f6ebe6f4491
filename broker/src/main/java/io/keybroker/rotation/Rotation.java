package io.keybroker.rotation;

import io.keybroker.backend.BackendLocation;
import io.keybroker.backend.BackendUnavailableException;
import io.keybroker.backend.SecretBackend;
import io.keybroker.backend.StagedVersion;
import io.keybroker.backend.WriteConflictException;
import io.keybroker.backend.WriteRefusedException;
import io.keybroker.backend.WriteRequest;
import io.keybroker.secret.SecretValue;
import java.io.PrintWriter;
import java.time.Duration;

/**
 * One rotation of a Stripe key through the backend seam, whichever backend holds it: stage the new key, test it
 * against Stripe, then promote it (the old key becomes previous) or discard it. What staging means is the
 * backend's business (an AWSPENDING version; in Vault KV the version a check-and-set write will be based on), so
 * nothing here names a backend; each step prints what the backend says it did, never a value.
 */
public final class Rotation {

    /** Bounds each backend step; the backends bound each call more tightly themselves. */
    private static final Duration STEP_TIMEOUT = Duration.ofMinutes(2);

    private final SecretBackend backend;
    private final StripeKeyProbe stripe;
    private final PrintWriter out;
    private final PrintWriter err;

    public Rotation(SecretBackend backend, StripeKeyProbe stripe, PrintWriter out, PrintWriter err) {
        this.backend = backend;
        this.stripe = stripe;
        this.out = out;
        this.err = err;
    }

    public RotationOutcome rotate(BackendLocation location, SecretValue newValue, WriteRequest request) {
        try {
            StagedVersion staged = backend.stage(location, newValue, request).block(STEP_TIMEOUT);
            out.println("stage: " + staged.description());
            if (staged.alreadyCurrent()) {
                return RotationOutcome.ROTATED;
            }
            int status = stripe.status(newValue);
            out.println("test: GET " + stripe.balanceUri() + " with the new key answered "
                    + (status < 0 ? "nothing (unreachable)" : status));
            if (status != 200) {
                out.println("test failed: " + backend.discard(staged).block(STEP_TIMEOUT) + ". " + advice(status));
                return RotationOutcome.TEST_FAILED;
            }
            out.println("promote: " + backend.promote(staged, newValue).block(STEP_TIMEOUT).description());
            return RotationOutcome.ROTATED;
        } catch (WriteConflictException ex) {
            out.println("conflict: another rotation won. " + ex.getMessage());
            return RotationOutcome.CONFLICT;
        } catch (WriteRefusedException | BackendUnavailableException ex) {
            err.println("error: " + ex.getMessage());
            return RotationOutcome.INVALID;
        }
    }

    static String advice(int status) {
        return switch (status) {
            case 401 -> "Stripe refused the new key: check it was created in the right account and mode "
                    + "(sk_live_ for live), and copied whole.";
            case 403 -> "Stripe accepted the key but refused /v1/balance: a restricted key needs read access "
                    + "to Balance.";
            case -1 -> "Stripe could not be reached: check --stripe-api-base and the network.";
            default -> "Stripe answered " + status + "; try again, and check status.stripe.com.";
        };
    }
}
