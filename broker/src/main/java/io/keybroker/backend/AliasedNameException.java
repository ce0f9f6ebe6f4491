package io.keybroker.backend;

import io.keybroker.secret.SecretName;
import java.util.List;

/**
 * A granted name whose backend location another logical name owns. Serving it would let a workload read, under
 * a name the policy grants, what the policy grants only under the owner's name, so the broker refuses it. The
 * message names the backend location and is for the log only; callers get the logical name and a request id.
 */
public final class AliasedNameException extends RuntimeException {

    private final SecretName name;
    private final List<SecretName> owners;

    public AliasedNameException(SecretName name, List<SecretName> owners, BackendLocation location) {
        super(name + " resolves to " + location + ", which " + owners + " also resolve"
                + (owners.size() == 1 ? "s" : "") + " to; one backend location is served under one logical name "
                + "only, so fix keybroker.mappings", null, false, false);
        this.name = name;
        this.owners = List.copyOf(owners);
    }

    public SecretName name() {
        return name;
    }

    /** The other names that resolve to the same location. */
    public List<SecretName> owners() {
        return owners;
    }
}
