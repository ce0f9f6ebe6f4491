package io.keybroker.config;

/** Compares release versions such as {@code 0.2.0} and {@code 0.2.0-SNAPSHOT} by their numbers only. */
final class Versions {

    private Versions() {
    }

    /**
     * Negative, zero or positive as {@code a} is older than, the same release as, or newer than {@code b}.
     * Only the leading dot-separated numbers count ({@code 0.2.0-SNAPSHOT} is {@code 0.2.0}); a missing number is
     * 0 and anything that is not a number ends the comparison.
     */
    static int compare(String a, String b) {
        String[] left = numbers(a);
        String[] right = numbers(b);
        for (int i = 0; i < Math.max(left.length, right.length); i++) {
            long x = i < left.length ? Long.parseLong(left[i]) : 0;
            long y = i < right.length ? Long.parseLong(right[i]) : 0;
            if (x != y) {
                return Long.compare(x, y);
            }
        }
        return 0;
    }

    private static String[] numbers(String version) {
        String release = version.trim().replaceFirst("^[vV]", "").replaceFirst("[^0-9.].*$", "");
        return release.isEmpty() ? new String[0] : release.replaceAll("\\.(?=\\.|$)", ".0").split("\\.");
    }
}
