package io.keybroker.cli.policy;

import static io.keybroker.cli.policy.PolicyCommand.FINDING;
import static io.keybroker.cli.policy.PolicyCommand.INVALID;
import static io.keybroker.cli.policy.PolicyCommand.OK;

import io.keybroker.cli.CliContext;
import io.keybroker.identity.WorkloadIdentity;
import io.keybroker.policy.Decision;
import io.keybroker.policy.IdentityPattern;
import io.keybroker.policy.PolicySet;
import io.keybroker.secret.InvalidSecretNameException;
import io.keybroker.secret.SecretName;
import io.keybroker.secret.Stage;
import java.io.PrintWriter;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

/** {@code keybroker policy explain [DIR] --identity ID --secret NAME [--stage STAGE]}. */
@Command(name = "explain", mixinStandardHelpOptions = true,
        description = {"Say whether an identity may read a secret, and which rule decided, exactly as the "
                + "broker decides.",
            "Prints one line per stage: ALLOW or DENY, the stage, the deciding rule and the reason. Exit 0 when "
                + "every stage asked about is allowed, 3 when at least one is denied, 1 on bad input (invalid "
                + "identity, name, stage or policy), 2 on a usage error."})
final class ExplainCommand implements Callable<Integer> {

    private final CliContext context;

    @Parameters(index = "0", arity = "0..1", paramLabel = "DIR",
            description = "The policy directory; default keybroker.policy.dir.")
    Path dir;

    @Option(names = "--identity", required = true, paramLabel = "ID",
            description = "The caller: a SPIFFE ID (spiffe://cluster.local/ns/NS/sa/SA), or cn:NAME for a "
                    + "certificate accepted by its subject CN.")
    String identity;

    @Option(names = "--secret", required = true, paramLabel = "NAME",
            description = "The secret name, e.g. stripe/secret-key.")
    String secret;

    @Option(names = "--stage", paramLabel = "STAGE",
            description = "current or previous; default: both, one line each.")
    String stage;

    ExplainCommand(CliContext context) {
        this.context = context;
    }

    @Override
    public Integer call() {
        PrintWriter out = context.out();
        PrintWriter err = context.err();
        WorkloadIdentity caller;
        SecretName name;
        List<Stage> stages;
        try {
            caller = IdentityPattern.parseIdentity(identity);
        } catch (IllegalArgumentException ex) {
            err.println("error: --identity: " + ex.getMessage());
            return INVALID;
        }
        try {
            name = SecretName.parse(secret);
        } catch (InvalidSecretNameException ex) {
            err.println("error: --secret: " + ex.getMessage());
            return INVALID;
        }
        try {
            stages = stage == null ? List.of(Stage.values()) : List.of(Stage.parse(stage));
        } catch (IllegalArgumentException ex) {
            err.println("error: --stage: " + ex.getMessage());
            return INVALID;
        }
        PolicySet set = PolicyInputs.loadOrReport(context, dir);
        if (set == null) {
            return INVALID;
        }
        set.workload(caller).ifPresentOrElse(
                w -> out.println("workload: application " + w.application() + ", rate limit "
                        + w.rateLimit().map(Object::toString).orElse("none") + " (from " + w.entry()
                        + ", identity " + w.identity() + ")"),
                () -> out.println("workload: no entry matches " + caller.id()));
        boolean allAllowed = true;
        for (Stage s : stages) {
            Decision decision = set.decide(caller, name, s);
            allAllowed &= decision.allowed();
            out.printf("%-5s %-8s %s: %s%n", decision.allowed() ? "ALLOW" : "DENY", s.id(), decision.rule(),
                    decision.reason());
        }
        return allAllowed ? OK : FINDING;
    }
}
