package io.keybroker.cli;

import io.keybroker.audit.AuditFiles;
import io.keybroker.audit.AuditVerifier;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

/** {@code keybroker audit ...}: commands on the audit trail. */
@Command(name = "audit", mixinStandardHelpOptions = true, description = "Work with the audit trail.",
        subcommands = AuditCommand.Verify.class)
public final class AuditCommand {

    /** {@code keybroker audit verify FILE...|DIR}. */
    @Command(name = "verify", mixinStandardHelpOptions = true,
            description = "Verify the hash chain of audit files, given oldest first, or of the trail in a "
                    + "directory (the live file and its rotated files, ordered by their names). A trail whose "
                    + "oldest files the broker pruned verifies; files deleted by hand do not. Exit 0 when intact, "
                    + "1 when a line was edited, deleted, inserted or reordered (the first bad line is named), "
                    + "2 when a file cannot be read.")
    static final class Verify implements Callable<Integer> {

        private final CliContext context;

        @Parameters(arity = "1..*", paramLabel = "FILE",
                description = "Audit files, oldest first; or one directory holding one trail.")
        List<Path> files;

        @Option(names = "--mixed", description = "Skip lines that are not audit lines: for a capture of the "
                + "broker's standard output (keybroker.audit.file unset), where log lines are interleaved.")
        boolean mixed;

        Verify(CliContext context) {
            this.context = context;
        }

        @Override
        public Integer call() {
            if (files.size() == 1 && Files.isDirectory(files.get(0))) {
                try {
                    files = AuditFiles.trailIn(files.get(0));
                } catch (IllegalArgumentException | IOException ex) {
                    context.err().println("error: " + ex.getMessage());
                    return 2;
                }
            }
            for (Path file : files) {
                if (!Files.isReadable(file)) {
                    context.err().println("error: cannot read " + file + ": check the path and permissions");
                    return 2;
                }
            }
            try {
                AuditVerifier.Result result = new AuditVerifier(mixed).verify(files);
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
