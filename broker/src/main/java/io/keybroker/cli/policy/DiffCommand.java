package io.keybroker.cli.policy;

import io.keybroker.backend.BackendUnavailableException;
import io.keybroker.backend.KnownSecrets;
import io.keybroker.backend.SecretFormatException;
import io.keybroker.backend.SecretLocator;
import io.keybroker.cli.CliContext;
import io.keybroker.cli.ConfiguredBackends;
import io.keybroker.config.ConfigurationProblemException;
import io.keybroker.config.KeybrokerProperties;
import io.keybroker.policy.PolicySet;
import io.keybroker.policy.RateLimit;
import io.keybroker.policy.review.GrantChange;
import io.keybroker.policy.review.PolicyDiff;
import io.keybroker.policy.review.RateLimitChange;
import io.keybroker.policy.review.SecretChange;
import io.keybroker.policy.review.StripeChange;
import io.keybroker.secret.InvalidSecretNameException;
import io.keybroker.secret.SecretName;
import java.io.IOException;
import java.io.PrintWriter;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.Callable;
import org.jspecify.annotations.Nullable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;
import tools.jackson.databind.json.JsonMapper;

/** {@code keybroker policy diff OLD NEW [--format text|json] [--secrets FILE | --backend] [--repo DIR]}. */
@Command(name = "diff", mixinStandardHelpOptions = true,
        description = {"Show what a policy change grants or takes away: each (identity pattern, secret pattern, "
                + "stage) added or removed, each rate limit changed and each Stripe key, call or webhook secret "
                + "added or removed, with the file and rule responsible; widening changes are called out.",
            "OLD and NEW are policy directories or git revisions of one (REV:PATH, e.g. HEAD~1:policy/). Exit 0 "
                + "when no grant changed, 1 when grants changed, 2 on an error (invalid policy, unknown revision, "
                + "unreadable --secrets file, a backend that cannot be listed, usage)."})
final class DiffCommand implements Callable<Integer> {

    /** Exit status: no grant changed. */
    static final int UNCHANGED = 0;
    /** Exit status: grants changed. */
    static final int CHANGED = 1;
    /** Exit status: the diff could not be made. */
    static final int ERROR = 2;

    private static final JsonMapper JSON = JsonMapper.builder().build();
    /** Bounds a whole listing; each backend call has its own, shorter, time limit. */
    private static final Duration LIST_TIMEOUT = Duration.ofMinutes(2);

    private final CliContext context;

    @Parameters(index = "0", paramLabel = "OLD", description = "The policy before: a directory or REV:PATH.")
    String oldPolicy;

    @Parameters(index = "1", paramLabel = "NEW", description = "The policy after: a directory or REV:PATH.")
    String newPolicy;

    @Option(names = "--format", paramLabel = "FORMAT", defaultValue = "text",
            description = "text (default) or json (for bots).")
    String format;

    @Option(names = "--secrets", paramLabel = "FILE",
            description = "Known secret names, one per line ('#' starts a comment): also show which of them each "
                    + "identity gains or loses.")
    Path secretsFile;

    @Option(names = "--backend",
            description = "Take the known secret names from the configured backends instead of a file: each "
                    + "backend the mappings use lists what it holds under keybroker.environment, and each path is "
                    + "turned back into its logical name through keybroker.mappings (paths no mapping produces are "
                    + "skipped). Configure it like the broker, e.g. --keybroker.backend=vault "
                    + "--spring.cloud.vault.uri=...")
    boolean backend;

    @Option(names = "--repo", paramLabel = "DIR", defaultValue = ".",
            description = "The git repository REV:PATH revisions are read from; default the current directory.")
    Path repo;

    /** Where the known names came from, for the text output. */
    private String namesSource;

    DiffCommand(CliContext context) {
        this.context = context;
    }

    @Override
    public Integer call() {
        PrintWriter err = context.err();
        if (!format.equals("text") && !format.equals("json")) {
            err.println("error: --format '" + SecretName.printable(format) + "' is unknown; write --format text or "
                    + "--format json");
            return ERROR;
        }
        if (backend && secretsFile != null) {
            err.println("error: --secrets and --backend both give the known secret names; use one of them");
            return ERROR;
        }
        List<SecretName> names = null;
        if (secretsFile != null) {
            names = readNames(err);
            if (names == null) {
                return ERROR;
            }
        } else if (backend) {
            names = listNames(err);
            if (names == null) {
                return ERROR;
            }
        }
        try (PolicySource before = PolicySource.resolve(oldPolicy, repo);
                PolicySource after = PolicySource.resolve(newPolicy, repo)) {
            PolicySet old = PolicyInputs.loadOrReport(err, before.directory(), before.label());
            PolicySet now = PolicyInputs.loadOrReport(err, after.directory(), after.label());
            if (old == null || now == null) {
                return ERROR;
            }
            PolicyDiff diff = PolicyDiff.between(old, now);
            List<SecretChange> secrets = names == null ? null : diff.secrets(names);
            if (format.equals("json")) {
                context.out().println(JSON.writerWithDefaultPrettyPrinter().writeValueAsString(json(diff, secrets,
                        names)));
            } else {
                text(diff, secrets, names);
            }
            return diff.changed() || (secrets != null && !secrets.isEmpty()) ? CHANGED : UNCHANGED;
        } catch (PolicySource.SourceException ex) {
            err.println("error: " + ex.getMessage());
            return ERROR;
        }
    }

    /** Lists the names the configured backends hold; {@code null} after reporting why it could not. */
    private @Nullable List<SecretName> listNames(PrintWriter err) {
        SecretLocator locator;
        try {
            locator = SecretLocator.from(context.binder().bindOrCreate("keybroker", KeybrokerProperties.class));
        } catch (IllegalStateException ex) {
            err.println("error: --backend needs the broker's configuration: " + ex.getMessage());
            return null;
        }
        try (ConfiguredBackends backends = new ConfiguredBackends(context.binder())) {
            List<SecretName> names = KnownSecrets.list(locator, backends::get).block(LIST_TIMEOUT);
            namesSource = "the " + String.join(" and ", locator.backendsInUse()) + " backend"
                    + (locator.backendsInUse().size() > 1 ? "s" : "");
            return names;
        } catch (ConfigurationProblemException | BackendUnavailableException | SecretFormatException
                | IllegalStateException ex) {
            err.println("error: --backend: cannot list the secrets of the " + String.join(" and ",
                    locator.backendsInUse()) + " backend(s): " + ex.getMessage());
            return null;
        }
    }

    private @Nullable List<SecretName> readNames(PrintWriter err) {
        List<String> lines;
        try {
            lines = Files.readAllLines(secretsFile, StandardCharsets.UTF_8);
        } catch (IOException ex) {
            err.println("error: cannot read --secrets " + secretsFile + " (" + ex.getClass().getSimpleName()
                    + "): give a readable file of secret names, one per line");
            return null;
        }
        List<SecretName> names = new ArrayList<>();
        List<String> problems = new ArrayList<>();
        namesSource = secretsFile.toString();
        for (int i = 0; i < lines.size(); i++) {
            String line = lines.get(i);
            int hash = line.indexOf('#');
            String name = (hash < 0 ? line : line.substring(0, hash)).strip();
            if (name.isEmpty()) {
                continue;
            }
            try {
                names.add(SecretName.parse(name));
            } catch (InvalidSecretNameException ex) {
                problems.add(secretsFile + ":" + (i + 1) + ": " + ex.getMessage());
            }
        }
        if (!problems.isEmpty()) {
            err.println("error: --secrets " + secretsFile + " holds invalid secret names; fix or remove these lines:");
            problems.forEach(problem -> err.println("  " + problem));
            return null;
        }
        return names;
    }

    private void text(PolicyDiff diff, List<SecretChange> secrets, List<SecretName> names) {
        PrintWriter out = context.out();
        out.println("policy diff: " + oldPolicy + " -> " + newPolicy);
        long wideningCount = diff.added().stream().filter(c -> !c.widening().isEmpty()).count()
                + diff.rateLimits().stream().filter(c -> c.widening().isPresent()).count()
                + diff.stripe().stream().filter(c -> c.widening().isPresent()).count();
        printGrants(out, "grants added", "+", diff.added(), "already granted by OLD rule ");
        printGrants(out, "grants removed", "-", diff.removed(), "still granted by NEW rule ");
        if (!diff.rateLimits().isEmpty()) {
            out.println("rate limits changed (" + diff.rateLimits().size() + "):");
            for (RateLimitChange change : diff.rateLimits()) {
                out.println("  ~ " + change.identity() + "  " + limit(change.before()) + " -> "
                        + limit(change.after()) + "  " + change.entry());
                change.widening().ifPresent(reason -> out.println("      WIDENING: " + reason));
            }
        }
        if (!diff.stripe().isEmpty()) {
            out.println("stripe changes (" + diff.stripe().size() + "):");
            int identityWidth = diff.stripe().stream().mapToInt(c -> c.identity().length()).max().orElse(0);
            int valueWidth = diff.stripe().stream().mapToInt(c -> c.value().length()).max().orElse(0);
            String row = "  %s %-" + identityWidth + "s  %-21s  %-" + valueWidth + "s  %s%n";
            for (StripeChange change : diff.stripe()) {
                out.printf(row, change.added() ? "+" : "-", change.identity(), change.item().field(), change.value(),
                        change.rule());
                change.coveredBy().ifPresent(rule -> out.println("      no effect: " + (change.added()
                        ? "already allowed by OLD " : "still allowed by NEW ") + rule));
                change.widening().ifPresent(reason -> out.println("      WIDENING: " + reason));
            }
        }
        if (secrets != null) {
            out.println("secrets gained and lost (of " + names.size() + " known name(s) in " + namesSource + "):"
                    + (secrets.isEmpty() ? " none" : ""));
            for (SecretChange change : secrets) {
                out.println("  " + change.identity() + (change.identity().equals(change.caller()) ? ""
                        : " (decided for " + change.caller() + ")"));
                change.gained().forEach(a -> out.println("    + " + a.secret() + "  " + a.stage().id() + "  "
                        + a.rule()));
                change.lost().forEach(a -> out.println("    - " + a.secret() + "  " + a.stage().id() + "  was "
                        + a.rule()));
            }
        }
        if (!diff.changed() && (secrets == null || secrets.isEmpty())) {
            out.println("RESULT: no grant changes");
            return;
        }
        long added = diff.added().stream().filter(GrantChange::effective).count();
        long removed = diff.removed().stream().filter(GrantChange::effective).count();
        long stripe = diff.stripe().stream().filter(StripeChange::effective).count();
        out.println("RESULT: grants changed: " + added + " added, " + removed + " removed, "
                + diff.rateLimits().size() + " rate limit(s) changed" + (stripe == 0 ? "" : ", " + stripe
                + " Stripe change(s)") + "; " + (wideningCount == 0 ? "no widening" : wideningCount + " WIDENING"));
    }

    private static void printGrants(PrintWriter out, String title, String sign, List<GrantChange> changes,
            String coveredText) {
        if (changes.isEmpty()) {
            return;
        }
        out.println(title + " (" + changes.size() + "):");
        int identityWidth = changes.stream().mapToInt(c -> c.grant().identity().text().length()).max().orElse(0);
        int secretWidth = changes.stream().mapToInt(c -> c.grant().secret().text().length()).max().orElse(0);
        String row = "  " + sign + " %-" + identityWidth + "s  %-" + secretWidth + "s  %-8s  %s%n";
        for (GrantChange change : changes) {
            out.printf(row, change.grant().identity().text(), change.grant().secret().text(),
                    change.grant().stage().id(), change.grant().rule());
            change.coveredBy().ifPresent(rule -> out.println("      no effect: " + coveredText + rule));
            if (!change.widening().isEmpty()) {
                out.println("      WIDENING: " + String.join("; ", change.widening()));
            }
        }
    }

    private static String limit(Optional<RateLimit> limit) {
        return limit.map(RateLimit::toString).orElse("none");
    }

    private Map<String, Object> json(PolicyDiff diff, List<SecretChange> secrets, List<SecretName> names) {
        Map<String, Object> root = new LinkedHashMap<>();
        root.put("old", oldPolicy);
        root.put("new", newPolicy);
        root.put("changed", diff.changed() || (secrets != null && !secrets.isEmpty()));
        root.put("widening", diff.widening());
        Map<String, Object> grants = new LinkedHashMap<>();
        grants.put("added", diff.added().stream().map(DiffCommand::json).toList());
        grants.put("removed", diff.removed().stream().map(DiffCommand::json).toList());
        root.put("grants", grants);
        root.put("rateLimits", diff.rateLimits().stream().map(change -> {
            Map<String, Object> node = new LinkedHashMap<>();
            node.put("identity", change.identity());
            node.put("entry", change.entry());
            node.put("file", change.file());
            node.put("before", change.before().map(RateLimit::toString).orElse(null));
            node.put("after", change.after().map(RateLimit::toString).orElse(null));
            node.put("widening", change.widening().orElse(null));
            return node;
        }).toList());
        root.put("stripe", diff.stripe().stream().map(change -> {
            Map<String, Object> node = new LinkedHashMap<>();
            node.put("identity", change.identity());
            node.put("field", change.item().field());
            node.put("change", change.added() ? "added" : "removed");
            node.put("value", change.value());
            node.put("rule", change.rule());
            node.put("file", change.file());
            node.put("effective", change.effective());
            node.put("widening", change.widening().orElse(null));
            node.put("coveredBy", change.coveredBy().orElse(null));
            return node;
        }).toList());
        if (secrets != null) {
            Map<String, Object> node = new LinkedHashMap<>();
            node.put("knownNames", names.size());
            node.put("identities", secrets.stream().map(change -> {
                Map<String, Object> identity = new LinkedHashMap<>();
                identity.put("identity", change.identity());
                identity.put("caller", change.caller());
                identity.put("gained", change.gained().stream().map(DiffCommand::json).toList());
                identity.put("lost", change.lost().stream().map(DiffCommand::json).toList());
                return identity;
            }).toList());
            root.put("secrets", node);
        }
        return root;
    }

    private static Map<String, Object> json(GrantChange change) {
        Map<String, Object> node = new LinkedHashMap<>();
        node.put("identity", change.grant().identity().text());
        node.put("secret", change.grant().secret().text());
        node.put("stage", change.grant().stage().id());
        node.put("rule", change.grant().rule());
        node.put("file", change.file());
        node.put("effective", change.effective());
        node.put("widening", change.widening());
        node.put("coveredBy", change.coveredBy().orElse(null));
        return node;
    }

    private static Map<String, Object> json(SecretChange.Access access) {
        Map<String, Object> node = new LinkedHashMap<>();
        node.put("secret", access.secret());
        node.put("stage", access.stage().id());
        node.put("rule", access.rule());
        return node;
    }
}
