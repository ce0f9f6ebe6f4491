package io.keybroker.config;

import java.util.Collection;
import java.util.Locale;
import java.util.Optional;

/**
 * The "did you mean" of an error message: the known name nearest to a mistyped one by edit distance
 * (Levenshtein), ignoring case. Used for unknown {@code keybroker.*} properties and unknown policy keys, so both
 * suggest in the same way.
 */
public final class NearestName {

    private NearestName() {
    }

    /**
     * The candidate nearest to {@code wrong}, if it is at most {@code maxDistance} edits away; the first of equally
     * near candidates in iteration order.
     */
    public static Optional<String> among(String wrong, Collection<String> candidates, int maxDistance) {
        String lower = wrong.toLowerCase(Locale.ROOT);
        String best = null;
        int bestDistance = Integer.MAX_VALUE;
        for (String candidate : candidates) {
            int d = distance(lower, candidate.toLowerCase(Locale.ROOT));
            if (d < bestDistance) {
                bestDistance = d;
                best = candidate;
            }
        }
        return best != null && bestDistance <= maxDistance ? Optional.of(best) : Optional.empty();
    }

    static int distance(String a, String b) {
        int[] prev = new int[b.length() + 1];
        int[] cur = new int[b.length() + 1];
        for (int j = 0; j <= b.length(); j++) {
            prev[j] = j;
        }
        for (int i = 1; i <= a.length(); i++) {
            cur[0] = i;
            for (int j = 1; j <= b.length(); j++) {
                int cost = a.charAt(i - 1) == b.charAt(j - 1) ? 0 : 1;
                cur[j] = Math.min(Math.min(cur[j - 1] + 1, prev[j] + 1), prev[j - 1] + cost);
            }
            int[] swap = prev;
            prev = cur;
            cur = swap;
        }
        return prev[b.length()];
    }
}
