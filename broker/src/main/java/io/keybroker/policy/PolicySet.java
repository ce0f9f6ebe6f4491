package io.keybroker.policy;

import io.keybroker.identity.SpiffeIdGrammar;
import io.keybroker.identity.WorkloadIdentity;
import io.keybroker.secret.SecretName;
import io.keybroker.secret.Stage;
import java.util.ArrayList;
import java.util.Collections;
import java.util.Comparator;
import java.util.EnumSet;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;
import java.util.Set;
import java.util.stream.Collectors;
import org.jspecify.annotations.Nullable;

/**
 * A compiled, immutable snapshot of every policy file of the directory: the one thing the API asks "may this
 * caller read this?" and the thing {@code policy explain} asks too, so the command and the server cannot disagree.
 *
 * <h2>How a decision is made</h2>
 * <ol>
 *   <li>The workload entries whose identity pattern matches the caller are found: the exact entry by a map lookup,
 *       then the prefix entries, longest prefix first.</li>
 *   <li>Grants only add: the caller may read a stage of a secret if ANY allow rule of ANY matching entry names the
 *       secret (exact, {@code /*} or {@code /**}) and the stage. The first such rule (exact entry first, then
 *       longer prefixes, then file order) is reported as the deciding rule.</li>
 *   <li>Otherwise the answer is no, with rule {@value PolicyDecision#DEFAULT_DENY} and a reason that says what was
 *       missing: any entry at all, the secret, or only the stage.</li>
 * </ol>
 * The application name and rate limit come from the most specific matching entry only: see {@link #workload}.
 *
 * <p>Build one with {@link PolicyLoader}; hold the current one in {@link PolicyStore}.
 */
public final class PolicySet {

    private static final PolicySet EMPTY = new PolicySet(List.of(), List.of(), "");

    private final List<String> files;
    private final List<String> warnings;
    private final String digest;
    private final Map<String, Entry> exactSpiffe;
    private final Map<String, Entry> commonNames;
    private final Entry[] prefixes;
    private final List<WorkloadPolicy> workloads;
    private final List<Grant> grants;

    PolicySet(List<PolicyDocument> documents, List<String> warnings, String digest) {
        this.warnings = List.copyOf(warnings);
        this.digest = digest;
        this.files = documents.stream().map(PolicyDocument::file).toList();
        Map<String, Entry> exact = new HashMap<>();
        Map<String, Entry> cn = new HashMap<>();
        List<Entry> prefix = new ArrayList<>();
        List<WorkloadPolicy> allWorkloads = new ArrayList<>();
        List<Grant> allGrants = new ArrayList<>();
        int order = 0;
        for (PolicyDocument document : documents) {
            for (PolicyDocument.Workload workload : document.workloads()) {
                Entry entry = new Entry(workload, order++);
                allWorkloads.add(entry.policy);
                switch (workload.identity().kind()) {
                    case EXACT -> exact.put(workload.identity().fixed(), entry);
                    case CN -> cn.put(workload.identity().fixed(), entry);
                    case PREFIX -> prefix.add(entry);
                }
                for (PolicyDocument.Allow allow : workload.allow()) {
                    for (SecretPattern secret : allow.secrets()) {
                        for (Stage stage : Stage.values()) {
                            if (allow.stages().contains(stage)) {
                                allGrants.add(new Grant(workload.identity(), secret, stage, allow.id()));
                            }
                        }
                    }
                }
            }
        }
        prefix.sort(Comparator.<Entry>comparingInt(e -> -e.identity.fixed().length()).thenComparingInt(e -> e.order));
        this.exactSpiffe = Map.copyOf(exact);
        this.commonNames = Map.copyOf(cn);
        this.prefixes = prefix.toArray(Entry[]::new);
        this.workloads = List.copyOf(allWorkloads);
        this.grants = List.copyOf(allGrants);
    }

    /** A policy set with no files: everything is denied. */
    public static PolicySet empty() {
        return EMPTY;
    }

    /**
     * Decides whether {@code identity} may read stage {@code stage} of {@code name}. Default deny. Cheap enough to
     * call on every request: one map lookup, a scan of the prefix entries, and set lookups per rule.
     */
    public PolicyDecision decide(WorkloadIdentity identity, SecretName name, Stage stage) {
        Objects.requireNonNull(identity, "identity must not be null");
        Objects.requireNonNull(name, "name must not be null");
        Objects.requireNonNull(stage, "stage must not be null");
        List<Entry> matching = matching(identity);
        if (matching.isEmpty()) {
            return PolicyDecision.deny("no workload entry matches identity " + printable(identity.id()));
        }
        Rule otherStage = null;
        for (Entry entry : matching) {
            for (Rule rule : entry.rules) {
                SecretPattern pattern = rule.match(name.value());
                if (pattern == null) {
                    continue;
                }
                if (rule.stages.contains(stage)) {
                    return PolicyDecision.allow(rule.id, "identity pattern " + entry.identity.text() + " (workload "
                            + entry.policy.application() + ") is granted " + stageList(rule.stages) + " of "
                            + pattern.text());
                }
                if (otherStage == null) {
                    otherStage = rule;
                }
            }
        }
        String workload = "workload " + matching.get(0).policy.application() + " (" + printable(identity.id()) + ")";
        if (otherStage != null) {
            return PolicyDecision.deny(workload + " is not granted stage " + stage.id() + " of " + name.value() + "; "
                    + otherStage.id + " grants only " + stageList(otherStage.stages));
        }
        return PolicyDecision.deny(workload + " is not granted " + name.value() + ": no allow rule of "
                + matching.stream().map(e -> e.policy.entry()).collect(Collectors.joining(", ")) + " covers it");
    }

    /**
     * Decides whether {@code identity} may have the broker make the Stripe call {@code method path} (the Stripe
     * path, without {@code /stripe} and without a query string). The {@code stripe} section of the most specific
     * matching entry decides (see {@link #workload}); the deciding rule is
     * {@code <entry>/stripe/calls[i]}. Default deny, and a denial says which list to edit.
     */
    public PolicyDecision decideStripeCall(WorkloadIdentity identity, String method, String path) {
        Objects.requireNonNull(method, "method must not be null");
        Objects.requireNonNull(path, "path must not be null");
        Optional<WorkloadPolicy> workload = workload(Objects.requireNonNull(identity, "identity must not be null"));
        if (workload.isEmpty()) {
            return PolicyDecision.deny("no workload entry matches identity " + printable(identity.id()));
        }
        WorkloadPolicy entry = workload.get();
        String call = printableCall(method, path);
        String who = "workload " + entry.application() + " (" + printable(identity.id()) + ")";
        if (entry.stripe().isEmpty() || entry.stripe().get().key().isEmpty()) {
            return PolicyDecision.deny(who + " may not call Stripe through the broker: " + entry.entry() + " has no "
                    + "stripe.key and stripe.calls; add them to that entry to allow " + call);
        }
        int index = entry.stripe().get().matchingCall(method, path);
        if (index < 0) {
            return PolicyDecision.deny(who + " may not call " + call + ": no pattern of stripe.calls of " + entry.entry()
                    + " covers it; add '" + call + "' (or a pattern with * or **) to that list");
        }
        return PolicyDecision.allow(entry.entry() + "/stripe/calls[" + index + "]", who + " may call " + call
                + " (stripe.calls pattern '" + entry.stripe().get().calls().get(index).text() + "')");
    }

    /**
     * Decides whether {@code identity} may verify webhook signatures against the secret {@code name}, by the
     * {@code stripe.webhookSecrets} list of the most specific matching entry; the deciding rule is
     * {@code <entry>/stripe/webhookSecrets[i]}. A read grant neither gives nor is needed for this.
     */
    public PolicyDecision decideWebhookSecret(WorkloadIdentity identity, SecretName name) {
        Objects.requireNonNull(name, "name must not be null");
        Optional<WorkloadPolicy> workload = workload(Objects.requireNonNull(identity, "identity must not be null"));
        if (workload.isEmpty()) {
            return PolicyDecision.deny("no workload entry matches identity " + printable(identity.id()));
        }
        WorkloadPolicy entry = workload.get();
        String who = "workload " + entry.application() + " (" + printable(identity.id()) + ")";
        int index = entry.stripe().map(stripe -> stripe.matchingWebhookSecret(name)).orElse(-1);
        if (index < 0) {
            return PolicyDecision.deny(who + " may not verify webhooks against " + name.value() + ": add it to "
                    + "stripe.webhookSecrets of " + entry.entry());
        }
        return PolicyDecision.allow(entry.entry() + "/stripe/webhookSecrets[" + index + "]", who + " may verify "
                + "webhooks against " + name.value() + " (stripe.webhookSecrets pattern '"
                + entry.stripe().get().webhookSecrets().get(index).text() + "')");
    }

    /** The Stripe key the broker uses for {@code identity}'s calls: stripe.key of its most specific entry. */
    public Optional<SecretName> stripeKey(WorkloadIdentity identity) {
        return workload(identity).flatMap(WorkloadPolicy::stripe).flatMap(StripePolicy::key);
    }

    /** The stages of {@code name} that {@code identity} may read; empty when none. */
    public Set<Stage> grantedStages(WorkloadIdentity identity, SecretName name) {
        Set<Stage> stages = EnumSet.noneOf(Stage.class);
        for (Entry entry : matching(identity)) {
            for (Rule rule : entry.rules) {
                if (rule.match(name.value()) != null) {
                    stages.addAll(rule.stages);
                }
            }
        }
        return Collections.unmodifiableSet(stages);
    }

    /** Whether {@code identity} may read at least one stage of {@code name}. */
    public boolean mayRead(WorkloadIdentity identity, SecretName name) {
        return !grantedStages(identity, name).isEmpty();
    }

    /**
     * The settings of the most specific workload entry matching {@code identity}: an exact identity (or CN) beats
     * a prefix, and a longer prefix beats a shorter one. Empty when no entry matches.
     */
    public Optional<WorkloadPolicy> workload(WorkloadIdentity identity) {
        Entry entry = exact(identity);
        if (entry == null) {
            for (Entry candidate : prefixes) {
                if (candidate.identity.matches(identity)) {
                    entry = candidate;
                    break;
                }
            }
        }
        return entry == null ? Optional.empty() : Optional.of(entry.policy);
    }

    /** Every workload entry, in file order. */
    public List<WorkloadPolicy> workloads() {
        return workloads;
    }

    /** Every grant (identity pattern, secret pattern, stage, rule), in file order. */
    public List<Grant> grants() {
        return grants;
    }

    /** The policy files this set was built from, sorted by name. */
    public List<String> files() {
        return files;
    }

    /** Things that are valid but probably not meant (an empty directory, ignored files). */
    public List<String> warnings() {
        return warnings;
    }

    /** SHA-256 (hex) of the files' names and contents; changes whenever the files do. */
    public String digest() {
        return digest;
    }

    private Entry exact(WorkloadIdentity identity) {
        return switch (identity.source()) {
            case SPIFFE_URI -> exactSpiffe.get(identity.id());
            case SUBJECT_CN -> commonNames.get(identity.id());
        };
    }

    private List<Entry> matching(WorkloadIdentity identity) {
        Entry exact = exact(identity);
        List<Entry> matching = null;
        if (exact != null) {
            matching = new ArrayList<>(2);
            matching.add(exact);
        }
        for (Entry candidate : prefixes) {
            if (candidate.identity.matches(identity)) {
                if (matching == null) {
                    matching = new ArrayList<>(2);
                }
                matching.add(candidate);
            }
        }
        return matching == null ? List.of() : matching;
    }

    private static String stageList(Set<Stage> stages) {
        return stages.size() == Stage.values().length ? "stages current and previous"
                : "stage " + stages.iterator().next().id();
    }

    /** The call as it appears in reasons: request input, so bounded and printable. */
    private static String printableCall(String method, String path) {
        String call = method + " " + path;
        StringBuilder out = new StringBuilder(Math.min(call.length(), 256));
        for (int i = 0; i < call.length() && i < 256; i++) {
            char c = call.charAt(i);
            out.append(c >= 0x20 && c < 0x7f ? c : '?');
        }
        return call.length() > 256 ? out.append("...").toString() : out.toString();
    }

    /** Identities come from verified certificates; still, keep control characters out of reasons and logs. */
    private static String printable(String raw) {
        StringBuilder out = new StringBuilder(raw.length());
        for (int i = 0; i < raw.length() && i < SpiffeIdGrammar.MAX_SPIFFE_LENGTH; i++) {
            char c = raw.charAt(i);
            out.append(c >= 0x20 && c < 0x7f ? c : '?');
        }
        return out.toString();
    }

    @Override
    public String toString() {
        return "PolicySet[" + files.size() + " files, " + workloads.size() + " workloads, " + grants.size()
                + " grants, digest " + (digest.length() > 12 ? digest.substring(0, 12) : digest) + "]";
    }

    /** A compiled workload entry. */
    private static final class Entry {

        final IdentityPattern identity;
        final WorkloadPolicy policy;
        final Rule[] rules;
        final int order;

        Entry(PolicyDocument.Workload workload, int order) {
            this.identity = workload.identity();
            this.policy = new WorkloadPolicy(workload.id(), workload.identity(), workload.application(),
                    workload.rateLimit(), workload.stripe());
            this.rules = workload.allow().stream().map(Rule::new).toArray(Rule[]::new);
            this.order = order;
        }
    }

    /** A compiled allow rule: exact names in a hash map, wildcard patterns in an array. */
    private static final class Rule {

        final String id;
        final Map<String, SecretPattern> exactNames;
        final SecretPattern[] wildcards;
        final Set<Stage> stages;

        Rule(PolicyDocument.Allow allow) {
            this.id = allow.id();
            Map<String, SecretPattern> exact = new HashMap<>();
            List<SecretPattern> wild = new ArrayList<>();
            for (SecretPattern pattern : allow.secrets()) {
                if (pattern.kind() == SecretPattern.Kind.EXACT) {
                    exact.put(pattern.exactName(), pattern);
                } else {
                    wild.add(pattern);
                }
            }
            this.exactNames = Map.copyOf(exact);
            this.wildcards = wild.toArray(SecretPattern[]::new);
            Set<Stage> s = EnumSet.noneOf(Stage.class);
            s.addAll(allow.stages());
            this.stages = Collections.unmodifiableSet(s);
        }

        /** The pattern of this rule that covers {@code name}, or null. */
        @Nullable SecretPattern match(String name) {
            SecretPattern exact = exactNames.get(name);
            if (exact != null) {
                return exact;
            }
            for (SecretPattern pattern : wildcards) {
                if (pattern.matches(name)) {
                    return pattern;
                }
            }
            return null;
        }
    }
}
