package io.keybroker.cli.policy;

import static io.keybroker.cli.policy.PolicyCommand.FINDING;
import static io.keybroker.cli.policy.PolicyCommand.INVALID;
import static io.keybroker.cli.policy.PolicyCommand.OK;
import static io.keybroker.cli.policy.PolicyCommand.USAGE;

import io.keybroker.cli.CliContext;
import io.keybroker.identity.WorkloadIdentity;
import io.keybroker.policy.PolicyDecision;
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

/**
 * {@code keybroker policy explain [DIR] --identity ID (--secret NAME [--stage STAGE] | --stripe-call CALL |
 * --webhook-secret NAME)}.
 */
@Command(name = "explain", mixinStandardHelpOptions = true,
        description = {"Say whether an identity may read a secret (--secret), make a Stripe call through the "
                + "broker (--stripe-call) or verify webhooks against a secret (--webhook-secret), and which rule "
                + "decided, exactly as the broker decides.",
            "Prints one line per stage (one line for a Stripe call or webhook secret): ALLOW or DENY, the stage, "
                + "the deciding rule and the reason. Exit 0 when "
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

    @Option(names = "--secret", paramLabel = "NAME",
            description = "The secret name to read, e.g. stripe/secret-key.")
    String secret;

    @Option(names = "--stripe-call", paramLabel = "CALL",
            description = "Instead of --secret: a Stripe call through the broker, METHOD and Stripe path, e.g. "
                    + "'POST /v1/payment_intents' (decided by the entry's stripe.calls).")
    String stripeCall;

    @Option(names = "--webhook-secret", paramLabel = "NAME",
            description = "Instead of --secret: a webhook secret to verify signatures against (decided by the "
                    + "entry's stripe.webhookSecrets).")
    String webhookSecret;

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
            caller = WorkloadIdentity.parse(identity);
        } catch (IllegalArgumentException ex) {
            err.println("error: --identity: " + ex.getMessage());
            return INVALID;
        }
        int asked = (secret == null ? 0 : 1) + (stripeCall == null ? 0 : 1) + (webhookSecret == null ? 0 : 1);
        if (asked != 1) {
            err.println("error: give exactly one of --secret NAME, --stripe-call 'METHOD /path' or "
                    + "--webhook-secret NAME");
            return USAGE;
        }
        if (stripeCall != null || webhookSecret != null) {
            return explainStripe(caller);
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
            PolicyDecision decision = set.decide(caller, name, s);
            allAllowed &= decision.allowed();
            out.printf("%-5s %-8s %s: %s%n", decision.allowed() ? "ALLOW" : "DENY", s.id(), decision.rule(),
                    decision.reason());
        }
        return allAllowed ? OK : FINDING;
    }

    /** {@code --stripe-call} or {@code --webhook-secret}: one line, decided as the broker decides. */
    private int explainStripe(WorkloadIdentity caller) {
        PrintWriter out = context.out();
        PrintWriter err = context.err();
        SecretName webhook = null;
        String method = null;
        String path = null;
        if (webhookSecret != null) {
            try {
                webhook = SecretName.parse(webhookSecret);
            } catch (InvalidSecretNameException ex) {
                err.println("error: --webhook-secret: " + ex.getMessage());
                return INVALID;
            }
        } else {
            String[] parts = stripeCall.strip().split(" +");
            if (parts.length != 2 || !parts[1].startsWith("/")) {
                err.println("error: --stripe-call '" + SecretName.printable(stripeCall) + "' is not METHOD and "
                        + "path; write e.g. 'POST /v1/payment_intents'");
                return INVALID;
            }
            method = parts[0];
            path = parts[1];
        }
        PolicySet set = PolicyInputs.loadOrReport(context, dir);
        if (set == null) {
            return INVALID;
        }
        set.workload(caller).ifPresentOrElse(
                w -> out.println("workload: application " + w.application() + ", Stripe key "
                        + w.stripe().flatMap(s -> s.key()).map(SecretName::value).orElse("none") + " (from "
                        + w.entry() + ", identity " + w.identity() + ")"),
                () -> out.println("workload: no entry matches " + caller.id()));
        PolicyDecision decision = webhook != null ? set.decideWebhookSecret(caller, webhook)
                : set.decideStripeCall(caller, method, path);
        out.printf("%-5s %-8s %s: %s%n", decision.allowed() ? "ALLOW" : "DENY", webhook != null ? "webhook"
                : "call", decision.rule(), decision.reason());
        return decision.allowed() ? OK : FINDING;
    }
}
