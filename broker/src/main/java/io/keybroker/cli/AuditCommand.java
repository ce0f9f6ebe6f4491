package io.keybroker.cli;

import io.keybroker.audit.AuditVerifier;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Parameters;

/** {@code keybroker audit ...}: commands on the audit trail. */
@Command(name = "audit", mixinStandardHelpOptions = true, description = "Work with the audit trail.",
        subcommands = AuditCommand.Verify.class)
public final class AuditCommand {

    /** {@code keybroker audit verify FILE...}. */
    @Command(name = "verify", mixinStandardHelpOptions = true,
            description = "Verify the hash chain of audit files, given oldest first. Exit 0 when intact, "
                    + "1 when a line was edited, deleted, inserted or reordered (the first bad line is named), "
                    + "2 when a file cannot be read.")
    static final class Verify implements Callable<Integer> {

        private final CliContext context;

        @Parameters(arity = "1..*", paramLabel = "FILE", description = "Audit files, oldest first.")
        List<Path> files;

        Verify(CliContext context) {
            this.context = context;
        }

        @Override
        public Integer call() {
            for (Path file : files) {
                if (!Files.isReadable(file)) {
                    context.err().println("error: cannot read " + file + ": check the path and permissions");
                    return 2;
                }
            }
            try {
                AuditVerifier.Result result = new AuditVerifier().verify(files);
                if (result.intact()) {
                    context.out().println("OK: " + result.lines() + " lines in " + files.size()
                            + " file(s), chain intact");
                    return 0;
                }
                context.out().println("TAMPERED: " + result.problem());
                return 1;
            } catch (IOException ex) {
                context.err().println("error: cannot read the audit files: " + ex.getMessage());
                return 2;
            }
        }
    }
}
