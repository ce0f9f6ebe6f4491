package io.keybroker.cli;

import io.keybroker.backend.SecretLocator;
import io.keybroker.config.KeybrokerProperties;
import io.keybroker.identity.WorkloadIdentity;
import io.keybroker.policy.Decision;
import io.keybroker.policy.Grant;
import io.keybroker.policy.IdentityPattern;
import io.keybroker.policy.InvalidPolicyException;
import io.keybroker.policy.PolicyError;
import io.keybroker.policy.PolicyLoader;
import io.keybroker.policy.PolicySet;
import io.keybroker.secret.InvalidSecretNameException;
import io.keybroker.secret.SecretName;
import io.keybroker.secret.Stage;
import java.io.BufferedReader;
import java.io.IOException;
import java.io.PrintWriter;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.time.format.DateTimeParseException;
import java.time.temporal.ChronoUnit;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.Callable;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.Spec;
import tools.jackson.core.JacksonException;
import tools.jackson.databind.JsonNode;
import tools.jackson.databind.json.JsonMapper;

/**
 * {@code keybroker policy ...}: commands for the security team that owns the policy files. They load policy files
 * with the same {@link PolicyLoader} and decide with the same {@link PolicySet#decide} as the server, so what they
 * say is what the broker does.
 */
@Command(name = "policy", mixinStandardHelpOptions = true,
        description = "Check, explain and review policy files (docs/policy.md).",
        subcommands = {PolicyCommand.Check.class, PolicyCommand.Explain.class, PolicyCommand.Unused.class})
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
        context.err().println("error: name a policy command: check, explain or unused");
        spec.commandLine().usage(context.err());
        return USAGE;
    }

    /** The DIR argument, else {@code keybroker.policy.dir} from the broker's configuration, else null. */
    static Path directory(CliContext context, Path given) {
        if (given != null) {
            return given;
        }
        return context.binder().bind("keybroker.policy.dir", Path.class).orElse(null);
    }

    /** Loads the policy for a command that needs a valid one; prints the problems and returns null otherwise. */
    static PolicySet loadOrReport(CliContext context, Path given) {
        Path dir = directory(context, given);
        PrintWriter err = context.err();
        if (dir == null) {
            err.println("error: no policy directory: give it as DIR, or set keybroker.policy.dir "
                    + "(--keybroker.policy.dir=PATH or KEYBROKER_POLICY_DIR)");
            return null;
        }
        try {
            return new PolicyLoader().load(dir);
        } catch (InvalidPolicyException ex) {
            err.println("error: the policy in " + dir + " is invalid; fix these problems ('keybroker policy check "
                    + dir + "' lists them too):");
            ex.messages().forEach(message -> err.println("  " + message));
            return null;
        }
    }

    /** {@code keybroker policy check [DIR]}. */
    @Command(name = "check", mixinStandardHelpOptions = true,
            description = {"Validate every policy file of DIR as the broker would load it.",
                "Prints each problem as FILE:LINE: FIELD: PROBLEM. Exit 0 when the policy is valid, 1 on any "
                    + "problem (nothing of an invalid directory takes effect), 2 on a usage error."})
    static final class Check implements Callable<Integer> {

        private final CliContext context;

        @Parameters(index = "0", arity = "0..1", paramLabel = "DIR",
                description = "The policy directory; default keybroker.policy.dir.")
        Path dir;

        Check(CliContext context) {
            this.context = context;
        }

        @Override
        public Integer call() {
            PrintWriter out = context.out();
            Path directory = directory(context, dir);
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
            set.files().forEach(file -> perFile.put(file, new int[2]));
            set.workloads().forEach(w -> perFile.get(fileOf(w.entry()))[0]++);
            set.grants().forEach(g -> perFile.get(fileOf(g.rule()))[1]++);
            perFile.forEach((file, counts) -> out.println(file + ": " + counts[0] + " workload entr"
                    + (counts[0] == 1 ? "y" : "ies") + ", " + counts[1] + " grant(s)"));
            out.println("OK: " + set.files().size() + " file(s), " + set.workloads().size() + " workload entr"
                    + (set.workloads().size() == 1 ? "y" : "ies") + ", " + set.grants().size() + " grant(s) in "
                    + directory);
            return OK;
        }

        /**
         * With the broker's configuration at hand (keybroker.environment set), checks its mappings as start-up
         * does and reports every overlap: two names that reach one backend location.
         */
        private static boolean mappingsOk(CliContext context, PrintWriter out) {
            if (context.binder().bind("keybroker.environment", String.class).isBound()) {
                try {
                    SecretLocator locator = SecretLocator.from(context.binder().bindOrCreate("keybroker",
                            KeybrokerProperties.class));
                    locator.overlaps().forEach(overlap -> out.println("warning: mapping overlap: "
                            + overlap.describe()));
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

    /** {@code keybroker policy explain [DIR] --identity ID --secret NAME [--stage STAGE]}. */
    @Command(name = "explain", mixinStandardHelpOptions = true,
            description = {"Say whether an identity may read a secret, and which rule decided, exactly as the "
                    + "broker decides.",
                "Prints one line per stage: ALLOW or DENY, the stage, the deciding rule and the reason. Exit 0 when "
                    + "every stage asked about is allowed, 3 when at least one is denied, 1 on bad input (invalid "
                    + "identity, name, stage or policy), 2 on a usage error."})
    static final class Explain implements Callable<Integer> {

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

        Explain(CliContext context) {
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
            PolicySet set = loadOrReport(context, dir);
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

    /** {@code keybroker policy unused [DIR] --audit FILE... [--since 30d] [--fail-on-unused]}. */
    @Command(name = "unused", mixinStandardHelpOptions = true,
            description = {"List the grants that no allowed request used, from the audit trail, for the regular "
                    + "access review.",
                "A grant (identity pattern, secret pattern, stage) counts as used when an allowed access record in "
                    + "the period has an identity it matches, a secret it matches and that stage among the stages "
                    + "served. Exit 0 when the review ran (whether or not it found unused grants), 3 when it found "
                    + "some and --fail-on-unused is given, 1 on an invalid policy or an unreadable or damaged audit "
                    + "file (the file and line are named), 2 on a usage error."})
    static final class Unused implements Callable<Integer> {

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

        Unused(CliContext context) {
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
            PolicySet set = loadOrReport(context, dir);
            if (set == null) {
                return INVALID;
            }
            Usage usage = new Usage();
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
            out.println("audit: " + usage.accessRecords + " access record(s) in the period, " + usage.allowed
                    + " allowed" + (usage.first == null ? "" : ", records from " + usage.first + " to " + usage.last));
            if (cutoff != null && (usage.earliest == null || usage.earliest.isAfter(cutoff))) {
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

        static Instant parseSince(String raw, Instant now) {
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

    /** What the audit trail shows was used: distinct (identity, secret, stage) of allowed accesses. */
    private static final class Usage {

        private static final JsonMapper JSON = JsonMapper.builder().build();

        private final Set<Access> accesses = new LinkedHashSet<>();
        long accessRecords;
        long allowed;
        Instant first;
        Instant last;
        Instant earliest;

        private record Access(WorkloadIdentity identity, SecretName secret, Stage stage) {
        }

        void read(Path file, Instant cutoff, List<String> bad) throws IOException {
            try (BufferedReader reader = Files.newBufferedReader(file, StandardCharsets.UTF_8)) {
                String line;
                long number = 0;
                while ((line = reader.readLine()) != null) {
                    number++;
                    if (line.isBlank()) {
                        continue;
                    }
                    String problem = record(line, cutoff);
                    if (problem != null) {
                        bad.add(file + ":" + number + ": " + problem);
                    }
                }
            }
        }

        /** Takes in one line; returns a problem, or null. */
        private String record(String line, Instant cutoff) {
            JsonNode node;
            try {
                node = JSON.readTree(line);
            } catch (JacksonException ex) {
                return "not a JSON object (damaged or not an audit line)";
            }
            if (node == null || !node.isObject()) {
                return "not a JSON object (damaged or not an audit line)";
            }
            JsonNode type = node.get("type");
            if (type == null || !type.isString()) {
                return "no \"type\" field";
            }
            Instant time = null;
            JsonNode timeNode = node.get("time");
            if (timeNode != null && timeNode.isString()) {
                try {
                    time = Instant.parse(timeNode.asString());
                } catch (DateTimeParseException ex) {
                    return "\"time\" is not an ISO-8601 instant";
                }
            }
            if (time != null) {
                earliest = earliest == null || time.isBefore(earliest) ? time : earliest;
            }
            if (time != null && (cutoff == null || !time.isBefore(cutoff))) {
                first = first == null || time.isBefore(first) ? time : first;
                last = last == null || time.isAfter(last) ? time : last;
            }
            if (!"access".equals(type.asString())) {
                return null; // policy-reload, rotation, alert, lifecycle, anchor: not requests
            }
            if (time == null) {
                return "access record without a \"time\"";
            }
            JsonNode decision = node.get("decision");
            if (decision == null || !decision.isString()) {
                return "access record without a \"decision\"";
            }
            if (cutoff != null && time.isBefore(cutoff)) {
                return null;
            }
            accessRecords++;
            if (!"allow".equals(decision.asString())) {
                return null;
            }
            allowed++;
            JsonNode identity = node.get("identity");
            JsonNode secret = node.get("secret");
            JsonNode stages = node.get("stages");
            if (identity == null || !identity.isString() || identity.asString().isEmpty()) {
                return "allowed access record without an \"identity\"";
            }
            if (secret == null || !secret.isString()) {
                return "allowed access record without a \"secret\"";
            }
            if (stages == null || !stages.isArray()) {
                return "allowed access record without a \"stages\" list";
            }
            SecretName name;
            try {
                name = SecretName.parse(secret.asString());
            } catch (InvalidSecretNameException ex) {
                return "\"secret\" is not a valid secret name";
            }
            WorkloadIdentity caller = callerOf(identity.asString());
            for (JsonNode stage : stages) {
                try {
                    accesses.add(new Access(caller, name, Stage.parse(stage.isString() ? stage.asString() : "")));
                } catch (IllegalArgumentException ex) {
                    return "\"stages\" holds something other than current or previous";
                }
            }
            return null;
        }

        /** Audit records carry the identity as text: a SPIFFE ID, or a subject CN (possibly written cn:NAME). */
        private static WorkloadIdentity callerOf(String raw) {
            if (raw.startsWith("spiffe://")) {
                return WorkloadIdentity.spiffe(raw);
            }
            String cn = raw.startsWith("cn:") ? raw.substring(3) : raw;
            return new WorkloadIdentity(cn, WorkloadIdentity.Source.SUBJECT_CN);
        }

        boolean exercised(Grant grant) {
            for (Access access : accesses) {
                if (grant.covers(access.identity(), access.secret(), access.stage())) {
                    return true;
                }
            }
            return false;
        }
    }
}
