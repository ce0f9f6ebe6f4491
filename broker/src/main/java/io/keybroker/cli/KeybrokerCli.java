package io.keybroker.cli;

import io.keybroker.cli.policy.PolicyCommand;
import java.io.PrintWriter;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.regex.Pattern;
import picocli.CommandLine;
import picocli.CommandLine.Command;

/**
 * The commands of {@code keybroker.jar}: {@code policy}, {@code audit}, {@code rotate} and {@code injector}.
 * Configuration arguments ({@code --keybroker.x=y}, {@code --spring.x=y}, ...) are set apart first and given to
 * every command as the broker's own configuration; the rest is parsed by picocli.
 */
@Command(name = "keybroker", mixinStandardHelpOptions = true, version = "keybroker 0.1.0",
        description = "Secrets-broker sidecar. With no command, serves; with a command, runs it and exits.",
        subcommands = {PolicyCommand.class, AuditCommand.class, RotateCommand.class, InjectorCommand.class,
            CommandLine.HelpCommand.class})
public final class KeybrokerCli {

    static final Set<String> COMMANDS = Set.of("policy", "audit", "rotate", "injector", "help", "--help", "-h",
            "--version", "-V");

    private static final Pattern CONFIG_ARG =
            Pattern.compile("--(keybroker|spring|management|logging|server|debug|trace)(\\.[^=]*)?=.*");

    /** Whether the arguments name a command (rather than configuration for the server). */
    public static boolean isCommand(String[] args) {
        for (String arg : args) {
            if (CONFIG_ARG.matcher(arg).matches()) {
                continue;
            }
            return COMMANDS.contains(arg);
        }
        return false;
    }

    /** Runs a command and returns its exit status: 0 on success, non-zero on any error. */
    public static int run(String[] args) {
        PrintWriter out = new PrintWriter(System.out, true);
        PrintWriter err = new PrintWriter(System.err, true);
        return run(args, out, err);
    }

    public static int run(String[] args, PrintWriter out, PrintWriter err) {
        return run(args, out, err, System.in);
    }

    public static int run(String[] args, PrintWriter out, PrintWriter err, java.io.InputStream in) {
        List<String> config = new ArrayList<>();
        List<String> rest = new ArrayList<>();
        for (String arg : args) {
            (CONFIG_ARG.matcher(arg).matches() ? config : rest).add(arg);
        }
        CliContext context = new CliContext(out, err, config, in);
        CommandLine cli = new CommandLine(new KeybrokerCli(), new ContextFactory(context));
        cli.setOut(out);
        cli.setErr(err);
        cli.setExecutionExceptionHandler((ex, commandLine, parseResult) -> {
            // Commands report expected failures themselves; anything else is a bug or an environment problem:
            // say what happened without a stack trace (which could carry input).
            err.println("error: " + ex.getMessage());
            return 2;
        });
        return cli.execute(rest.toArray(String[]::new));
    }

    /** Gives commands a {@link CliContext} through their constructor. */
    private record ContextFactory(CliContext context) implements CommandLine.IFactory {

        @Override
        public <K> K create(Class<K> type) throws Exception {
            try {
                var constructor = type.getDeclaredConstructor(CliContext.class);
                constructor.setAccessible(true);
                return constructor.newInstance(context);
            } catch (NoSuchMethodException ex) {
                return CommandLine.defaultFactory().create(type);
            }
        }
    }
}
