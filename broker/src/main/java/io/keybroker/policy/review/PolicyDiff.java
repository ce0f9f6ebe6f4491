package io.keybroker.policy.review;

import io.keybroker.identity.WorkloadIdentity;
import io.keybroker.policy.PolicyDecision;
import io.keybroker.policy.Grant;
import io.keybroker.policy.IdentityPattern;
import io.keybroker.policy.PolicySet;
import io.keybroker.policy.SecretPattern;
import io.keybroker.policy.StripePolicy;
import io.keybroker.policy.WorkloadPolicy;
import io.keybroker.secret.SecretName;
import io.keybroker.secret.Stage;
import java.util.ArrayList;
import java.util.Collection;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;
import java.util.Set;

/**
 * The effective change in grants between two policies, not the change in lines: {@code keybroker policy diff}.
 *
 * <p>A grant is one (identity pattern, secret pattern, stage) of an allow rule, as {@link PolicySet#grants()} lists
 * them. Grants are compared by what they say, not where they are written, so moving a rule to another file or
 * reordering entries changes nothing. A grant added in NEW that a single OLD grant already covered (same stage, an
 * identity pattern and a secret pattern at least as wide), or a grant removed from OLD that a single NEW grant still
 * covers, is listed as not effective. Coverage by the union of several grants is not looked for, so such a case is
 * reported as a change: the diff may over-report, never hide, a change.
 *
 * <p>An effective addition is called out as widening when its identity is a prefix pattern, when its secret pattern
 * is a wildcard ({@code *}, {@code **}), or when it grants the {@code previous} stage. A rate limit that is removed
 * or raised is widening too, and so is a new Stripe call or webhook secret in an entry's {@code stripe} section
 * (compared entry by entry; a changed {@code stripe.key} is listed, not called out).
 *
 * <p>Given the names of the secrets that exist, {@link #secrets} decides for each identity with
 * {@link PolicySet#decide}, the server's own method, which of them it gains or loses.
 */
public final class PolicyDiff {

    private static final Comparator<Grant> ORDER = Comparator.<Grant, String>comparing(g -> g.identity().text())
            .thenComparing(g -> g.secret().text()).thenComparing(Grant::stage);

    private final PolicySet before;
    private final PolicySet after;
    private final List<GrantChange> added;
    private final List<GrantChange> removed;
    private final List<RateLimitChange> rateLimits;
    private final List<StripeChange> stripe;

    private PolicyDiff(PolicySet before, PolicySet after) {
        this.before = before;
        this.after = after;
        Map<Key, Grant> old = byKey(before.grants());
        Map<Key, Grant> now = byKey(after.grants());
        List<GrantChange> plus = new ArrayList<>();
        List<GrantChange> minus = new ArrayList<>();
        now.forEach((key, grant) -> {
            if (!old.containsKey(key)) {
                Optional<Grant> covering = covering(grant, old.values());
                plus.add(new GrantChange(grant, covering.isPresent() ? List.of() : widening(grant, old.values()),
                        covering.map(Grant::rule)));
            }
        });
        old.forEach((key, grant) -> {
            if (!now.containsKey(key)) {
                minus.add(new GrantChange(grant, List.of(), covering(grant, now.values()).map(Grant::rule)));
            }
        });
        plus.sort(Comparator.comparing(GrantChange::grant, ORDER));
        minus.sort(Comparator.comparing(GrantChange::grant, ORDER));
        this.added = List.copyOf(plus);
        this.removed = List.copyOf(minus);
        Map<String, WorkloadPolicy> oldEntries = new LinkedHashMap<>();
        before.workloads().forEach(w -> oldEntries.put(w.identity().text(), w));
        List<RateLimitChange> limits = new ArrayList<>();
        for (WorkloadPolicy entry : after.workloads()) {
            WorkloadPolicy was = oldEntries.get(entry.identity().text());
            if (was != null && !was.rateLimit().equals(entry.rateLimit())) {
                limits.add(new RateLimitChange(entry.identity().text(), entry.entry(), was.rateLimit(),
                        entry.rateLimit()));
            }
        }
        limits.sort(Comparator.comparing(RateLimitChange::identity));
        this.rateLimits = List.copyOf(limits);
        this.stripe = stripeChanges(before.workloads(), after.workloads());
    }

    /** Compares {@code before} (OLD) with {@code after} (NEW). */
    public static PolicyDiff between(PolicySet before, PolicySet after) {
        return new PolicyDiff(Objects.requireNonNull(before, "before must not be null"),
                Objects.requireNonNull(after, "after must not be null"));
    }

    /** Grants in NEW that OLD does not have, effective or not, by identity, secret and stage. */
    public List<GrantChange> added() {
        return added;
    }

    /** Grants in OLD that NEW does not have, effective or not, by identity, secret and stage. */
    public List<GrantChange> removed() {
        return removed;
    }

    /** Entries in both policies whose rate limit differs. */
    public List<RateLimitChange> rateLimits() {
        return rateLimits;
    }

    /** Items of stripe sections added or removed (key, calls, webhook secrets), by identity. */
    public List<StripeChange> stripe() {
        return stripe;
    }

    /**
     * Whether anyone may read something else, at another rate, or do something else with Stripe under NEW than
     * under OLD.
     */
    public boolean changed() {
        return added.stream().anyMatch(GrantChange::effective) || removed.stream().anyMatch(GrantChange::effective)
                || !rateLimits.isEmpty() || stripe.stream().anyMatch(StripeChange::effective);
    }

    /** Whether the change widens access in one of the ways reviewers must see. */
    public boolean widening() {
        return added.stream().anyMatch(c -> !c.widening().isEmpty())
                || rateLimits.stream().anyMatch(c -> c.widening().isPresent())
                || stripe.stream().anyMatch(c -> c.widening().isPresent());
    }

    /**
     * For each identity pattern of either policy, which of {@code names} it gains or loses, decided with
     * {@link PolicySet#decide} under OLD and under NEW. Identities without a change are left out.
     */
    public List<SecretChange> secrets(Collection<SecretName> names) {
        Set<IdentityPattern> identities = new LinkedHashSet<>();
        before.workloads().forEach(w -> identities.add(w.identity()));
        after.workloads().forEach(w -> identities.add(w.identity()));
        List<IdentityPattern> sorted = new ArrayList<>(identities);
        sorted.sort(Comparator.comparing(IdentityPattern::text));
        List<SecretName> sortedNames = names.stream().distinct().sorted().toList();
        List<SecretChange> changes = new ArrayList<>();
        for (IdentityPattern identity : sorted) {
            WorkloadIdentity caller = identity.representative(identities);
            List<SecretChange.Access> gained = new ArrayList<>();
            List<SecretChange.Access> lost = new ArrayList<>();
            for (SecretName name : sortedNames) {
                // grantedStages applies decide's rule (any allow rule of any matching entry) without building
                // reasons: a cheap filter over names x identities; decide, the server's method, then says what
                // changed and by which rule (with 2,000 entries and 4,000 names, ~1 GB of reason strings otherwise).
                if (before.grantedStages(caller, name).equals(after.grantedStages(caller, name))) {
                    continue;
                }
                for (Stage stage : Stage.values()) {
                    PolicyDecision was = before.decide(caller, name, stage);
                    PolicyDecision now = after.decide(caller, name, stage);
                    if (now.allowed() && !was.allowed()) {
                        gained.add(new SecretChange.Access(name.value(), stage, now.rule()));
                    } else if (was.allowed() && !now.allowed()) {
                        lost.add(new SecretChange.Access(name.value(), stage, was.rule()));
                    }
                }
            }
            if (!gained.isEmpty() || !lost.isEmpty()) {
                changes.add(new SecretChange(identity.text(), caller.text(), gained, lost));
            }
        }
        return changes;
    }

    /**
     * The stripe sections compared entry by entry (by identity pattern): the section in force for a caller is the
     * one of its most specific entry, so an entry's section is what it can do. Calls are compared as written, so a
     * call rewritten as a wider pattern shows as removed and added.
     */
    private static List<StripeChange> stripeChanges(List<WorkloadPolicy> before, List<WorkloadPolicy> after) {
        Map<String, WorkloadPolicy> old = new LinkedHashMap<>();
        before.forEach(w -> old.put(w.identity().text(), w));
        Map<String, WorkloadPolicy> now = new LinkedHashMap<>();
        after.forEach(w -> now.put(w.identity().text(), w));
        Set<String> identities = new java.util.TreeSet<>(old.keySet());
        identities.addAll(now.keySet());
        List<StripeChange> changes = new ArrayList<>();
        for (String identity : identities) {
            WorkloadPolicy was = old.get(identity);
            WorkloadPolicy is = now.get(identity);
            Optional<StripePolicy> a = was == null ? Optional.empty() : was.stripe();
            Optional<StripePolicy> b = is == null ? Optional.empty() : is.stripe();
            Optional<String> keyBefore = a.flatMap(StripePolicy::key).map(SecretName::value);
            Optional<String> keyAfter = b.flatMap(StripePolicy::key).map(SecretName::value);
            if (!keyBefore.equals(keyAfter)) {
                keyBefore.ifPresent(k -> changes.add(new StripeChange(identity, StripeChange.Item.KEY, false, k,
                        was.entry() + "/stripe/key", Optional.empty())));
                keyAfter.ifPresent(k -> changes.add(new StripeChange(identity, StripeChange.Item.KEY, true, k,
                        is.entry() + "/stripe/key", Optional.empty())));
            }
            List<String> callsBefore = a.map(s -> s.calls().stream().map(c -> c.text()).toList()).orElse(List.of());
            List<String> callsAfter = b.map(s -> s.calls().stream().map(c -> c.text()).toList()).orElse(List.of());
            for (int i = 0; i < callsBefore.size(); i++) {
                if (!callsAfter.contains(callsBefore.get(i))) {
                    changes.add(new StripeChange(identity, StripeChange.Item.CALL, false, callsBefore.get(i),
                            was.entry() + "/stripe/calls[" + i + "]", Optional.empty()));
                }
            }
            for (int i = 0; i < callsAfter.size(); i++) {
                if (!callsBefore.contains(callsAfter.get(i))) {
                    changes.add(new StripeChange(identity, StripeChange.Item.CALL, true, callsAfter.get(i),
                            is.entry() + "/stripe/calls[" + i + "]", Optional.empty()));
                }
            }
            List<SecretPattern> hooksBefore = a.map(StripePolicy::webhookSecrets).orElse(List.of());
            List<SecretPattern> hooksAfter = b.map(StripePolicy::webhookSecrets).orElse(List.of());
            for (int i = 0; i < hooksBefore.size(); i++) {
                SecretPattern pattern = hooksBefore.get(i);
                if (!hooksAfter.contains(pattern)) {
                    changes.add(new StripeChange(identity, StripeChange.Item.WEBHOOK_SECRET, false, pattern.text(),
                            was.entry() + "/stripe/webhookSecrets[" + i + "]",
                            coveringIndex(pattern, hooksAfter).map(j -> is.entry() + "/stripe/webhookSecrets[" + j
                                    + "]")));
                }
            }
            for (int i = 0; i < hooksAfter.size(); i++) {
                SecretPattern pattern = hooksAfter.get(i);
                if (!hooksBefore.contains(pattern)) {
                    changes.add(new StripeChange(identity, StripeChange.Item.WEBHOOK_SECRET, true, pattern.text(),
                            is.entry() + "/stripe/webhookSecrets[" + i + "]",
                            coveringIndex(pattern, hooksBefore).map(j -> was.entry() + "/stripe/webhookSecrets["
                                    + j + "]")));
                }
            }
        }
        return List.copyOf(changes);
    }

    private static Optional<Integer> coveringIndex(SecretPattern pattern, List<SecretPattern> others) {
        for (int j = 0; j < others.size(); j++) {
            if (others.get(j).includes(pattern)) {
                return Optional.of(j);
            }
        }
        return Optional.empty();
    }

    /** The file of a rule or entry id, {@code <file>#<name>/...}. */
    static String fileOf(String id) {
        int hash = id.indexOf('#');
        return hash < 0 ? id : id.substring(0, hash);
    }

    /** A grant by what it says; the first rule that says it is kept. */
    private record Key(String identity, String secret, Stage stage) {
    }

    private static Map<Key, Grant> byKey(List<Grant> grants) {
        Map<Key, Grant> map = new LinkedHashMap<>();
        for (Grant grant : grants) {
            map.putIfAbsent(new Key(grant.identity().text(), grant.secret().text(), grant.stage()), grant);
        }
        return map;
    }

    /** A grant of {@code others} that covers {@code grant} on its own: same stage, patterns at least as wide. */
    private static Optional<Grant> covering(Grant grant, Collection<Grant> others) {
        return others.stream().filter(o -> o.stage() == grant.stage() && o.identity().includes(grant.identity())
                && o.secret().includes(grant.secret())).findFirst();
    }

    /** Why an effective addition widens access in a way reviewers must see; empty for a plain new exact grant. */
    private static List<String> widening(Grant grant, Collection<Grant> old) {
        List<String> reasons = new ArrayList<>();
        if (grant.identity().kind() == IdentityPattern.Kind.PREFIX) {
            Optional<Grant> narrower = old.stream().filter(o -> o.stage() == grant.stage()
                    && grant.identity().includes(o.identity()) && o.secret().includes(grant.secret())).findFirst();
            reasons.add(narrower.map(o -> "wider identity pattern: OLD granted this to " + o.identity().text()
                    + " (" + o.rule() + "), NEW to every workload under " + grant.identity().text())
                    .orElse("identity pattern " + grant.identity().text() + " grants this to every workload under it"));
        }
        if (grant.secret().kind() != SecretPattern.Kind.EXACT) {
            reasons.add("wildcard " + grant.secret().text() + " covers names no OLD rule granted to "
                    + grant.identity().text() + " at stage " + grant.stage().id());
        }
        if (grant.stage() == Stage.PREVIOUS) {
            reasons.add("new previous stage");
        }
        return reasons;
    }
}
