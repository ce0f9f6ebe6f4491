package io.keybroker.cli.policy;

import static io.keybroker.cli.policy.PolicyCommand.INVALID;
import static io.keybroker.cli.policy.PolicyCommand.OK;

import io.keybroker.cli.CliContext;
import io.keybroker.secret.SecretName;
import java.io.BufferedReader;
import java.io.IOException;
import java.io.PrintWriter;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Instant;
import java.time.format.DateTimeParseException;
import java.time.temporal.ChronoUnit;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.Callable;
import java.util.regex.Pattern;
import org.jspecify.annotations.Nullable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import tools.jackson.core.JacksonException;
import tools.jackson.databind.JsonNode;
import tools.jackson.databind.json.JsonMapper;

/** {@code keybroker policy suggest-calls --audit FILE... [--since 7d] [--identity ID]}. */
@Command(name = "suggest-calls", mixinStandardHelpOptions = true,
        description = {"Derive each workload's stripe.calls list from the Stripe calls in the audit trail.",
            "Reads the stripe-call records (allowed and refused), replaces path segments that are Stripe object "
                + "ids (pi_..., cus_..., evt_...) by *, and prints a stripe section per identity, most used call "
                + "first, refused calls marked. Review it before pasting: a refused call may be one the workload "
                + "must not make. Exit 0 when it ran, 1 on an unreadable or damaged audit file, 2 on a usage "
                + "error."})
final class SuggestCallsCommand implements Callable<Integer> {

    /** A Stripe object id: a lower-case prefix, '_', then at least 8 letters and digits (pi_3MtwBw...). */
    private static final Pattern OBJECT_ID = Pattern.compile("[a-z]{2,10}(_[a-z]{2,10})?_[A-Za-z0-9]{8,}");
    private static final JsonMapper JSON = JsonMapper.builder().build();

    private final CliContext context;

    @Option(names = "--audit", required = true, arity = "1..*", paramLabel = "FILE",
            description = "Audit files (JSON lines, as written to keybroker.audit.file), including rotated ones.")
    List<Path> auditFiles;

    @Option(names = "--since", paramLabel = "PERIOD",
            description = "Only count calls in this period: 7d, 12h, 2w, or an instant. Default: every record.")
    String since;

    @Option(names = "--identity", paramLabel = "ID", description = "Only this identity (a SPIFFE ID or cn:NAME).")
    String identity;

    SuggestCallsCommand(CliContext context) {
        this.context = context;
    }

    /** Calls seen for one identity: pattern to [allowed, refused]. */
    private static final class Seen {
        final Map<String, long[]> calls = new LinkedHashMap<>();
        Instant first;
        Instant last;
    }

    @Override
    public Integer call() {
        PrintWriter out = context.out();
        PrintWriter err = context.err();
        Instant cutoff = null;
        if (since != null) {
            cutoff = UnusedCommand.parseSince(since, Instant.now().truncatedTo(ChronoUnit.SECONDS));
            if (cutoff == null) {
                err.println("error: --since '" + SecretName.printable(since) + "' is invalid; write a duration "
                        + "back from now such as 7d, 12h or 2w, or an instant such as 2026-11-01T00:00:00Z");
                return INVALID;
            }
        }
        Map<String, Seen> byIdentity = new TreeMap<>();
        List<String> bad = new ArrayList<>();
        for (Path file : auditFiles) {
            try (BufferedReader reader = Files.newBufferedReader(file, StandardCharsets.UTF_8)) {
                String line;
                long number = 0;
                while ((line = reader.readLine()) != null) {
                    number++;
                    if (line.isBlank()) {
                        continue;
                    }
                    String problem = take(line, cutoff, byIdentity);
                    if (problem != null) {
                        bad.add(file + ":" + number + ": " + problem);
                    }
                }
            } catch (IOException ex) {
                err.println("error: cannot read audit file " + file + " (" + ex.getClass().getSimpleName()
                        + "): check the path and permissions");
                return INVALID;
            }
        }
        if (!bad.isEmpty()) {
            err.println("error: " + bad.size() + " audit line(s) cannot be used; check that these are Keybroker "
                    + "audit files:");
            bad.stream().limit(20).forEach(problem -> err.println("  " + problem));
            return INVALID;
        }
        if (byIdentity.isEmpty()) {
            out.println("no Stripe calls in the audit files" + (cutoff == null ? "" : " since " + cutoff)
                    + (identity == null ? "" : " for " + identity));
            return OK;
        }
        byIdentity.forEach((id, seen) -> {
            long total = seen.calls.values().stream().mapToLong(c -> c[0] + c[1]).sum();
            out.println("# " + id + ": " + total + " Stripe call(s) from " + seen.first + " to " + seen.last);
            out.println("stripe:");
            out.println("  calls:");
            seen.calls.entrySet().stream()
                    .sorted((a, b) -> Long.compare(b.getValue()[0] + b.getValue()[1],
                            a.getValue()[0] + a.getValue()[1]))
                    .forEach(e -> out.println("    - " + e.getKey() + "    # " + e.getValue()[0] + " allowed"
                            + (e.getValue()[1] == 0 ? "" : ", " + e.getValue()[1] + " refused: keep only if "
                                    + "the workload is meant to make this call")));
            out.println();
        });
        return OK;
    }

    /** Takes in one audit line; returns a problem, or null. */
    private @Nullable String take(String line, Instant cutoff, Map<String, Seen> byIdentity) {
        JsonNode node;
        try {
            node = JSON.readTree(line);
        } catch (JacksonException ex) {
            return "not a JSON object (damaged or not an audit line)";
        }
        if (node == null || !node.isObject() || !node.path("type").isString()) {
            return "not an audit record (no \"type\")";
        }
        if (!"stripe-call".equals(node.path("type").asString())) {
            return null;
        }
        Instant time;
        try {
            time = Instant.parse(node.path("time").asString());
        } catch (DateTimeParseException ex) {
            return "\"time\" is not an ISO-8601 instant";
        }
        if (cutoff != null && time.isBefore(cutoff)) {
            return null;
        }
        String caller = node.path("identity").asString();
        String decision = node.path("decision").asString();
        String method = node.path("method").asString();
        String path = node.path("path").asString();
        if (caller.isEmpty() || method.isEmpty() || !path.startsWith("/")) {
            return "stripe-call record without identity, method or path";
        }
        if (identity != null && !identity.equals(caller)) {
            return null;
        }
        if (!"allow".equals(decision) && !"deny".equals(decision)) {
            return null; // invalid paths, timeouts, unavailable key: not a statement about the list
        }
        String pattern = method + " " + generalise(path);
        Seen seen = byIdentity.computeIfAbsent(caller, k -> new Seen());
        seen.calls.computeIfAbsent(pattern, k -> new long[2])["allow".equals(decision) ? 0 : 1]++;
        seen.first = seen.first == null || time.isBefore(seen.first) ? time : seen.first;
        seen.last = seen.last == null || time.isAfter(seen.last) ? time : seen.last;
        return null;
    }

    /** Segments that are Stripe object ids (the pi_3Mtw... of a payment intent's path) become a '*' segment. */
    static String generalise(String path) {
        String[] segments = path.substring(1).split("/", -1);
        StringBuilder out = new StringBuilder();
        for (String segment : segments) {
            out.append('/').append(OBJECT_ID.matcher(segment).matches() ? "*" : segment);
        }
        return out.toString();
    }
}
