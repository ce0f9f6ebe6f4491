package io.keybroker.rotation;

/**
 * How a rotation ended; the command's exit status.
 *
 * <ul>
 *   <li>{@code ROTATED} (0): the new key is current, the old one previous;</li>
 *   <li>{@code TEST_FAILED} (1): Stripe did not accept the new key; nothing was promoted;</li>
 *   <li>{@code INVALID} (2): configuration or input error;</li>
 *   <li>{@code CONFLICT} (3): another rotation changed the secret first.</li>
 * </ul>
 */
public enum RotationOutcome {
    ROTATED(0), TEST_FAILED(1), INVALID(2), CONFLICT(3);

    private final int exitCode;

    RotationOutcome(int exitCode) {
        this.exitCode = exitCode;
    }

    public int exitCode() {
        return exitCode;
    }
}
