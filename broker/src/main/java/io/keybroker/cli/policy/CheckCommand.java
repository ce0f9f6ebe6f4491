package io.keybroker.cli.policy;

import static io.keybroker.cli.policy.PolicyCommand.INVALID;
import static io.keybroker.cli.policy.PolicyCommand.OK;

import io.keybroker.backend.SecretLocator;
import io.keybroker.cli.CliContext;
import io.keybroker.config.KeybrokerProperties;
import io.keybroker.policy.InvalidPolicyException;
import io.keybroker.policy.PolicyError;
import io.keybroker.policy.PolicyLoader;
import io.keybroker.policy.PolicySet;
import java.io.PrintWriter;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Parameters;

/** {@code keybroker policy check [DIR]}. */
@Command(name = "check", mixinStandardHelpOptions = true,
        description = {"Validate every policy file of DIR as the broker would load it.",
            "Prints each problem as FILE:LINE: FIELD: PROBLEM. Exit 0 when the policy is valid, 1 on any "
                + "problem (nothing of an invalid directory takes effect), 2 on a usage error."})
final class CheckCommand implements Callable<Integer> {

    private final CliContext context;

    @Parameters(index = "0", arity = "0..1", paramLabel = "DIR",
            description = "The policy directory; default keybroker.policy.dir.")
    Path dir;

    CheckCommand(CliContext context) {
        this.context = context;
    }

    @Override
    public Integer call() {
        PrintWriter out = context.out();
        Path directory = PolicyInputs.directory(context, dir);
        if (directory == null) {
            context.err().println("error: no policy directory: give it as DIR, or set keybroker.policy.dir");
            return INVALID;
        }
        PolicySet set;
        try {
            set = new PolicyLoader().load(directory);
        } catch (InvalidPolicyException ex) {
            for (PolicyError error : ex.errors()) {
                out.println(error);
            }
            long files = ex.errors().stream().map(PolicyError::file).filter(f -> !f.isEmpty()).distinct().count();
            out.println("FAILED: " + ex.errors().size() + " problem(s)" + (files > 0 ? " in " + files + " file(s)"
                    : "") + " in " + directory + "; nothing of it takes effect until they are fixed (a running "
                    + "broker keeps its last good policy)");
            return INVALID;
        }
        set.warnings().forEach(warning -> out.println("warning: " + warning));
        if (!mappingsOk(context, out)) {
            return INVALID;
        }
        Map<String, int[]> perFile = new LinkedHashMap<>();
        set.files().forEach(file -> perFile.put(file, new int[4]));
        set.workloads().forEach(w -> {
            int[] counts = perFile.get(fileOf(w.entry()));
            counts[0]++;
            w.stripe().ifPresent(stripe -> {
                counts[2] += stripe.calls().size();
                counts[3] += stripe.webhookSecrets().size();
            });
        });
        set.grants().forEach(g -> perFile.get(fileOf(g.rule()))[1]++);
        perFile.forEach((file, counts) -> out.println(file + ": " + counts[0] + " workload entr"
                + (counts[0] == 1 ? "y" : "ies") + ", " + counts[1] + " grant(s)"
                + (counts[2] + counts[3] == 0 ? "" : ", " + counts[2] + " Stripe call pattern(s), " + counts[3]
                        + " webhook secret(s)")));
        out.println("OK: " + set.files().size() + " file(s), " + set.workloads().size() + " workload entr"
                + (set.workloads().size() == 1 ? "y" : "ies") + ", " + set.grants().size() + " grant(s) in "
                + directory);
        return OK;
    }

    /**
     * With the broker's configuration at hand (keybroker.environment set), checks its mappings as start-up does
     * and reports every overlap: two names that reach one backend location.
     */
    private static boolean mappingsOk(CliContext context, PrintWriter out) {
        if (context.binder().bind("keybroker.environment", String.class).isBound()) {
            try {
                SecretLocator locator = SecretLocator.from(context.binder().bindOrCreate("keybroker",
                        KeybrokerProperties.class));
                locator.overlaps().forEach(overlap -> out.println("warning: mapping overlap: " + overlap.describe()));
            } catch (IllegalStateException invalid) {
                invalid.getMessage().lines().skip(1).forEach(line -> out.println("mappings: "
                        + line.replaceFirst("^\\s*- ", "")));
                out.println("FAILED: keybroker.mappings are invalid; the broker would not start");
                return false;
            }
        }
        return true;
    }

    private static String fileOf(String ruleId) {
        return ruleId.substring(0, ruleId.indexOf('#'));
    }
}
