package io.keybroker.inject;

import java.math.BigDecimal;
import java.util.Map;
import java.util.Optional;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * A Kubernetes resource quantity ({@code 250m}, {@code 1.5}, {@code 192Mi}, {@code 1e3}), parsed only as far as
 * the injector needs: to refuse a malformed override before the API server does with a less helpful message, and
 * to compare a request with its limit.
 */
record Quantity(String text, BigDecimal value) {

    // The API server's grammar: a decimal number, then a binary suffix, a decimal suffix or a decimal exponent.
    private static final Pattern SYNTAX = Pattern.compile(
            "([0-9]+(?:\\.[0-9]*)?|\\.[0-9]+)(Ki|Mi|Gi|Ti|Pi|Ei|[numkMGTPE]|[eE][-+]?[0-9]+)?");

    private static final Map<String, BigDecimal> SUFFIXES = Map.ofEntries(
            Map.entry("Ki", BigDecimal.valueOf(1L << 10)), Map.entry("Mi", BigDecimal.valueOf(1L << 20)),
            Map.entry("Gi", BigDecimal.valueOf(1L << 30)), Map.entry("Ti", BigDecimal.valueOf(1L << 40)),
            Map.entry("Pi", BigDecimal.valueOf(1L << 50)), Map.entry("Ei", BigDecimal.valueOf(1L << 60)),
            Map.entry("n", new BigDecimal("1e-9")), Map.entry("u", new BigDecimal("1e-6")),
            Map.entry("m", new BigDecimal("1e-3")), Map.entry("k", new BigDecimal("1e3")),
            Map.entry("M", new BigDecimal("1e6")), Map.entry("G", new BigDecimal("1e9")),
            Map.entry("T", new BigDecimal("1e12")), Map.entry("P", new BigDecimal("1e15")),
            Map.entry("E", new BigDecimal("1e18")));

    /** The quantity, or empty when the text is not one (signs are refused: a sidecar resource is never negative). */
    static Optional<Quantity> parse(String text) {
        Matcher m = SYNTAX.matcher(text);
        if (!m.matches()) {
            return Optional.empty();
        }
        BigDecimal number = new BigDecimal(m.group(1).endsWith(".") ? m.group(1) + "0" : m.group(1));
        String suffix = m.group(2);
        if (suffix == null) {
            return Optional.of(new Quantity(text, number));
        }
        if (suffix.length() > 1 && (suffix.charAt(0) == 'e' || suffix.charAt(0) == 'E')) {
            return Optional.of(new Quantity(text, number.scaleByPowerOfTen(Integer.parseInt(suffix.substring(1)))));
        }
        return Optional.of(new Quantity(text, number.multiply(SUFFIXES.get(suffix))));
    }

    boolean isGreaterThan(Quantity other) {
        return value.compareTo(other.value) > 0;
    }
}
