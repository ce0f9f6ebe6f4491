package io.keybroker.policy;

import java.util.List;

/** Policy files that cannot take effect, with every problem found (not only the first). */
public class InvalidPolicyException extends RuntimeException {

    private final List<PolicyError> errors;

    public InvalidPolicyException(List<PolicyError> errors) {
        super(errors.size() + " policy error(s):\n  - " + String.join("\n  - ",
                errors.stream().map(PolicyError::toString).toList()), null, false, false);
        this.errors = List.copyOf(errors);
    }

    public List<PolicyError> errors() {
        return errors;
    }

    /** Each error as {@code file:line: field: problem}. */
    public List<String> messages() {
        return errors.stream().map(PolicyError::toString).toList();
    }
}
