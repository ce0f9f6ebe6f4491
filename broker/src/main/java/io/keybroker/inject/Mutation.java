package io.keybroker.inject;

import java.util.Objects;
import tools.jackson.databind.node.ArrayNode;

/**
 * The injector's answer for one pod: admitted with a JSON Patch (empty when the pod is left as it is), or
 * refused with a message that says what to fix.
 *
 * @param allowed whether the pod is admitted
 * @param patch the RFC 6902 operations; empty when nothing changes or the pod is refused
 * @param message why the pod was left alone or refused
 */
public record Mutation(boolean allowed, ArrayNode patch, String message) {

    public Mutation {
        Objects.requireNonNull(patch, "patch must not be null");
        Objects.requireNonNull(message, "message must not be null");
    }

    static Mutation untouched(ArrayNode empty, String reason) {
        return new Mutation(true, empty, reason);
    }

    static Mutation injected(ArrayNode patch) {
        return new Mutation(true, patch, "injected");
    }

    static Mutation refused(ArrayNode empty, String message) {
        return new Mutation(false, empty, message);
    }

    public boolean changesPod() {
        return !patch.isEmpty();
    }
}
