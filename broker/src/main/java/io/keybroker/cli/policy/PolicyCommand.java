package io.keybroker.cli.policy;

import io.keybroker.cli.CliContext;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Spec;

/**
 * {@code keybroker policy ...}: commands for the security team that owns the policy files. They load policy files
 * with the same {@link io.keybroker.policy.PolicyLoader} and decide with the same
 * {@link io.keybroker.policy.PolicySet#decide} as the server, so what they say is what the broker does. One class
 * per subcommand; {@link PolicyInputs} holds what they share.
 */
@Command(name = "policy", mixinStandardHelpOptions = true,
        description = "Check, explain, test, diff and review policy files (docs/policy.md, docs/policy-review.md).",
        subcommands = {CheckCommand.class, ExplainCommand.class, UnusedCommand.class, TestCommand.class,
            DiffCommand.class, SuggestCallsCommand.class})
public final class PolicyCommand implements Callable<Integer> {

    /** Exit status: success (check passed, explain allowed, unused ran). */
    static final int OK = 0;
    /** Exit status: invalid policy, bad input or unreadable file; the message says what to fix. */
    static final int INVALID = 1;
    /** Exit status: a usage error (unknown option, missing argument), as picocli reports it. */
    static final int USAGE = 2;
    /** Exit status: a negative finding: explain denied, or unused grants with --fail-on-unused. */
    static final int FINDING = 3;

    private final CliContext context;

    @Spec
    CommandSpec spec;

    public PolicyCommand(CliContext context) {
        this.context = context;
    }

    @Override
    public Integer call() {
        context.err().println("error: name a policy command: check, explain, unused, test, diff or suggest-calls");
        spec.commandLine().usage(context.err());
        return USAGE;
    }
}
