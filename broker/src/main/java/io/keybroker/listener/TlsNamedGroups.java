package io.keybroker.listener;

import java.lang.reflect.InvocationTargetException;
import java.lang.reflect.Method;
import java.security.NoSuchAlgorithmException;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collection;
import java.util.List;
import java.util.Locale;
import java.util.Optional;
import javax.net.ssl.SSLContext;
import javax.net.ssl.SSLEngine;
import javax.net.ssl.SSLParameters;
import org.jspecify.annotations.Nullable;

/**
 * The key-exchange groups the listener offers: the hybrid post-quantum {@code X25519MLKEM768} first when the
 * running JDK's TLS stack has it, then {@code x25519}, {@code secp256r1}, {@code secp384r1}. Nothing weaker or
 * slower (no {@code ffdhe*}, no {@code secp521r1} or {@code x448}, which no client needs on loopback).
 *
 * <p>How the list is put in force depends on the JDK. From Java 20 {@code SSLParameters.setNamedGroups} sets it
 * on each listener connection; the broker is compiled for Java 17, so that method is found by reflection. Java 17
 * to 19 have no per-connection setting, only the JVM-wide {@code jdk.tls.namedGroups}, which SunJSSE reads once
 * when its first TLS class loads: {@link #configureJvmDefault()} sets it at the very start of {@code main}. On
 * either path an operator who sets {@code -Djdk.tls.namedGroups} themselves keeps their list.
 *
 * <p>{@code X25519MLKEM768} arrives in SunJSSE with JEP 527 (fix version JDK 27); Java 24 and 25 have ML-KEM as
 * a KEM (JEP 496) but not as a TLS group. docs/tls-and-identity.md says which JDK offers what.
 */
public final class TlsNamedGroups {

    /** The JVM-wide property SunJSSE reads for its default group list. */
    public static final String PROPERTY = "jdk.tls.namedGroups";

    /** In order of preference; a group the JDK does not have is left out. */
    public static final List<String> PREFERRED = List.of("X25519MLKEM768", "x25519", "secp256r1", "secp384r1");

    /** The groups every JDK the broker runs on has; what Java 17 to 19 get. */
    static final List<String> CLASSIC = List.of("x25519", "secp256r1", "secp384r1");

    private static final Method GET_NAMED_GROUPS = method("getNamedGroups");
    private static final Method SET_NAMED_GROUPS = method("setNamedGroups", String[].class);

    private TlsNamedGroups() {
    }

    private static @Nullable Method method(String name, Class<?>... parameters) {
        try {
            return SSLParameters.class.getMethod(name, parameters);
        } catch (NoSuchMethodException ex) {
            return null;
        }
    }

    /** Whether this JDK sets groups per connection (Java 20 and later). */
    public static boolean perConnection() {
        return GET_NAMED_GROUPS != null && SET_NAMED_GROUPS != null;
    }

    /**
     * On a JDK without per-connection groups, sets {@link #PROPERTY} to {@link #CLASSIC} unless the operator set
     * it. Must run before any TLS class loads, i.e. first thing in {@code main}.
     */
    public static void configureJvmDefault() {
        if (!perConnection() && System.getProperty(PROPERTY) == null) {
            System.setProperty(PROPERTY, String.join(",", CLASSIC));
        }
    }

    /** {@link #PREFERRED}, restricted to the {@code supported} groups, in the JDK's own spelling. */
    static List<String> choose(Collection<String> supported) {
        List<String> chosen = new ArrayList<>();
        for (String wanted : PREFERRED) {
            supported.stream().filter(name -> name.equalsIgnoreCase(wanted)).findFirst().ifPresent(chosen::add);
        }
        return chosen;
    }

    /**
     * The groups to set on each connection, or empty when the JDK cannot (Java 17 to 19: {@link #PROPERTY} then
     * decides) or the operator set {@link #PROPERTY} (their list stands).
     */
    static Optional<List<String>> perConnectionGroups() {
        if (!perConnection() || System.getProperty(PROPERTY) != null) {
            return Optional.empty();
        }
        try {
            SSLParameters supported = SSLContext.getDefault().getSupportedSSLParameters();
            List<String> groups = choose(Arrays.asList((String[]) GET_NAMED_GROUPS.invoke(supported)));
            return groups.isEmpty() ? Optional.empty() : Optional.of(List.copyOf(groups));
        } catch (NoSuchAlgorithmException | IllegalAccessException | InvocationTargetException ex) {
            throw new IllegalStateException("cannot read the TLS groups this JDK supports", ex);
        }
    }

    /** Sets {@code groups} on a listener connection before its handshake. */
    static void apply(SSLEngine engine, List<String> groups) {
        SSLParameters parameters = engine.getSSLParameters();
        try {
            SET_NAMED_GROUPS.invoke(parameters, (Object) groups.toArray(String[]::new));
        } catch (IllegalAccessException | InvocationTargetException ex) {
            throw new IllegalStateException("cannot set the TLS groups of a listener connection", ex);
        }
        engine.setSSLParameters(parameters);
    }

    /** For the start-up log: the groups in force and where they come from. */
    static String describe(Optional<List<String>> perConnection) {
        if (perConnection.isPresent()) {
            List<String> groups = perConnection.get();
            boolean hybrid = groups.stream().anyMatch(g -> g.toUpperCase(Locale.ROOT).contains("MLKEM"));
            return String.join(",", groups) + (hybrid ? " (post-quantum hybrid first)"
                    : " (this JDK's TLS stack has no X25519MLKEM768; it is offered first once it does)");
        }
        String property = System.getProperty(PROPERTY);
        return property == null ? "the JDK's defaults" : property + " (" + PROPERTY + ")";
    }
}
