package io.keybroker.secret;

import java.util.Locale;

/** The version stages a policy can grant: the current key and the previous one during its grace window. */
public enum Stage {
    CURRENT, PREVIOUS;

    /** The lower-case name used in policy files, audit records and the API. */
    public String id() {
        return name().toLowerCase(Locale.ROOT);
    }

    /**
     * Parses {@code current} or {@code previous}.
     * @throws IllegalArgumentException naming the accepted values
     */
    public static Stage parse(String raw) {
        if ("current".equals(raw)) {
            return CURRENT;
        }
        if ("previous".equals(raw)) {
            return PREVIOUS;
        }
        throw new IllegalArgumentException("unknown stage '" + (raw == null ? "null" : SecretName.printable(raw))
                + "'; expected 'current' or 'previous'");
    }

    @Override
    public String toString() {
        return id();
    }
}
