package io.keybroker.cli.policy;

import io.keybroker.cli.CliContext;
import io.keybroker.policy.InvalidPolicyException;
import io.keybroker.policy.PolicyLoader;
import io.keybroker.policy.PolicySet;
import java.io.PrintWriter;
import java.nio.file.Path;
import org.jspecify.annotations.Nullable;

/** Where the policy commands find their policy directory, and how they load it. */
final class PolicyInputs {

    private PolicyInputs() {
    }

    /** The DIR argument, else {@code keybroker.policy.dir} from the broker's configuration, else null. */
    static Path directory(CliContext context, Path given) {
        if (given != null) {
            return given;
        }
        return context.binder().bind("keybroker.policy.dir", Path.class).orElse(null);
    }

    /** Loads the policy for a command that needs a valid one; prints the problems and returns null otherwise. */
    static @Nullable PolicySet loadOrReport(CliContext context, Path given) {
        Path dir = directory(context, given);
        PrintWriter err = context.err();
        if (dir == null) {
            err.println("error: no policy directory: give it as DIR, or set keybroker.policy.dir "
                    + "(--keybroker.policy.dir=PATH or KEYBROKER_POLICY_DIR)");
            return null;
        }
        return loadOrReport(err, dir, dir.toString());
    }

    /** Loads {@code dir}, shown to the user as {@code label}; prints the problems and returns null when invalid. */
    static @Nullable PolicySet loadOrReport(PrintWriter err, Path dir, String label) {
        try {
            return new PolicyLoader().load(dir);
        } catch (InvalidPolicyException ex) {
            err.println("error: the policy in " + label + " is invalid; fix these problems ('keybroker policy check "
                    + label + "' lists them too):");
            ex.messages().forEach(message -> err.println("  " + message));
            return null;
        }
    }
}
