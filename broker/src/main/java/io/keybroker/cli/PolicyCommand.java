package io.keybroker.cli;

import picocli.CommandLine.Command;

/** {@code keybroker policy ...}: commands for the security team that owns the policy files. */
@Command(name = "policy", description = "Check and explain policy files.", subcommands = {})
public final class PolicyCommand {

    private final CliContext context;

    public PolicyCommand(CliContext context) {
        this.context = context;
    }
}
