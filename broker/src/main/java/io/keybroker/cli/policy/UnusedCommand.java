package io.keybroker.cli.policy;

import static io.keybroker.cli.policy.PolicyCommand.FINDING;
import static io.keybroker.cli.policy.PolicyCommand.INVALID;
import static io.keybroker.cli.policy.PolicyCommand.OK;

import io.keybroker.audit.AuditUsage;
import io.keybroker.cli.CliContext;
import io.keybroker.policy.Grant;
import io.keybroker.policy.PolicySet;
import io.keybroker.secret.SecretName;
import java.io.IOException;
import java.io.PrintWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.time.format.DateTimeParseException;
import java.time.temporal.ChronoUnit;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.Callable;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.jspecify.annotations.Nullable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

/** {@code keybroker policy unused [DIR] --audit FILE... [--since 30d] [--fail-on-unused]}. */
@Command(name = "unused", mixinStandardHelpOptions = true,
        description = {"List the grants that no allowed request used, from the audit trail, for the regular "
                + "access review.",
            "A grant (identity pattern, secret pattern, stage) counts as used when an allowed access record in "
                + "the period has an identity it matches, a secret it matches and that stage among the stages "
                + "served. Exit 0 when the review ran (whether or not it found unused grants), 3 when it found "
                + "some and --fail-on-unused is given, 1 on an invalid policy or an unreadable or damaged audit "
                + "file (the file and line are named), 2 on a usage error."})
final class UnusedCommand implements Callable<Integer> {

    private static final Pattern SINCE = Pattern.compile("([0-9]{1,6})([smhdw])");
    private static final int MAX_REPORTED_BAD_LINES = 20;

    private final CliContext context;

    @Parameters(index = "0", arity = "0..1", paramLabel = "DIR",
            description = "The policy directory; default keybroker.policy.dir.")
    Path dir;

    @Option(names = "--audit", required = true, arity = "1..*", paramLabel = "FILE",
            description = "Audit files (JSON lines, as written to keybroker.audit.file), including rotated ones.")
    List<Path> auditFiles;

    @Option(names = "--since", paramLabel = "PERIOD",
            description = "Only count requests in this period: a duration back from now (30d, 12h, 90m, 2w) or "
                    + "an instant (2026-11-01T00:00:00Z). Default: every record in the files.")
    String since;

    @Option(names = "--fail-on-unused", description = "Exit 3 when unused grants are found (for CI gates).")
    boolean failOnUnused;

    UnusedCommand(CliContext context) {
        this.context = context;
    }

    @Override
    public Integer call() {
        PrintWriter out = context.out();
        PrintWriter err = context.err();
        Instant now = Instant.now().truncatedTo(ChronoUnit.SECONDS);
        Instant cutoff = null;
        if (since != null) {
            cutoff = parseSince(since, now);
            if (cutoff == null) {
                err.println("error: --since '" + SecretName.printable(since) + "' is invalid; write a duration "
                        + "back from now such as 30d, 12h, 90m or 2w, or an instant such as 2026-11-01T00:00:00Z");
                return INVALID;
            }
        }
        for (Path file : auditFiles) {
            if (!Files.isRegularFile(file) || !Files.isReadable(file)) {
                err.println("error: cannot read audit file " + file + ": check the path and permissions");
                return INVALID;
            }
        }
        PolicySet set = PolicyInputs.loadOrReport(context, dir);
        if (set == null) {
            return INVALID;
        }
        AuditUsage usage = new AuditUsage();
        List<String> bad = new ArrayList<>();
        for (Path file : auditFiles) {
            try {
                usage.read(file, cutoff, bad);
            } catch (IOException ex) {
                err.println("error: cannot read audit file " + file + " (" + ex.getClass().getSimpleName()
                        + "): check the path and permissions");
                return INVALID;
            }
        }
        if (!bad.isEmpty()) {
            err.println("error: " + bad.size() + " audit line(s) cannot be used; check that these are Keybroker "
                    + "audit files ('keybroker audit verify FILE...' shows whether they were altered):");
            bad.stream().limit(MAX_REPORTED_BAD_LINES).forEach(problem -> err.println("  " + problem));
            if (bad.size() > MAX_REPORTED_BAD_LINES) {
                err.println("  ... and " + (bad.size() - MAX_REPORTED_BAD_LINES) + " more");
            }
            return INVALID;
        }
        List<Grant> unused = new ArrayList<>();
        for (Grant grant : set.grants()) {
            if (!usage.exercised(grant)) {
                unused.add(grant);
            }
        }
        out.println("policy: " + set.files().size() + " file(s), " + set.workloads().size() + " workload "
                + "entr" + (set.workloads().size() == 1 ? "y" : "ies") + ", " + set.grants().size() + " grant(s)");
        out.println("period: " + (cutoff == null ? "every record in the audit files" : "since " + cutoff
                + " (" + since + ")"));
        out.println("audit: " + usage.accessRecords() + " access record(s) in the period, " + usage.allowed()
                + " allowed" + (usage.first() == null ? "" : ", records from " + usage.first() + " to " + usage.last()));
        if (cutoff != null && (usage.earliest() == null || usage.earliest().isAfter(cutoff))) {
            out.println("note: the audit files do not reach back to the start of the period; a grant listed "
                    + "below may have been used before the first record (give older files with --audit)");
        }
        if (unused.isEmpty()) {
            out.println("no unused grants");
            return OK;
        }
        out.println("unused grants (" + unused.size() + "):");
        int identityWidth = Math.max(8, unused.stream().mapToInt(g -> g.identity().text().length()).max()
                .orElse(0));
        int secretWidth = Math.max(6, unused.stream().mapToInt(g -> g.secret().text().length()).max().orElse(0));
        String row = "  %-" + identityWidth + "s  %-" + secretWidth + "s  %-8s  %s%n";
        out.printf(row, "IDENTITY", "SECRET", "STAGE", "RULE");
        for (Grant grant : unused) {
            out.printf(row, grant.identity().text(), grant.secret().text(), grant.stage().id(), grant.rule());
        }
        return failOnUnused ? FINDING : OK;
    }

    static @Nullable Instant parseSince(String raw, Instant now) {
        Matcher m = SINCE.matcher(raw);
        if (m.matches()) {
            long n = Long.parseLong(m.group(1));
            Duration d = switch (m.group(2)) {
                case "s" -> Duration.ofSeconds(n);
                case "m" -> Duration.ofMinutes(n);
                case "h" -> Duration.ofHours(n);
                case "d" -> Duration.ofDays(n);
                default -> Duration.ofDays(7 * n);
            };
            return now.minus(d);
        }
        try {
            return Instant.parse(raw);
        } catch (DateTimeParseException ex) {
            return null;
        }
    }
}
