package io.keybroker.policy;

import java.util.Objects;
import java.util.concurrent.atomic.AtomicReference;

/**
 * Holds the policy set in force. Readers call {@link #current()} once per request and use that snapshot for the
 * whole request, so a reload in the middle of a request never mixes two policies; a reload swaps the whole set in
 * one step.
 */
public final class PolicyStore {

    private final AtomicReference<PolicySet> current;

    public PolicyStore(PolicySet initial) {
        this.current = new AtomicReference<>(Objects.requireNonNull(initial, "initial must not be null"));
    }

    /** The policy set in force. */
    public PolicySet current() {
        return current.get();
    }

    /** Puts {@code set} in force. */
    void replace(PolicySet set) {
        current.set(Objects.requireNonNull(set, "set must not be null"));
    }
}
