package io.keybroker.inject;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.regex.Pattern;
import tools.jackson.databind.JsonNode;

/**
 * The per-pod choices a workload owner makes with annotations, validated. Unknown {@code keybroker.io/}
 * annotations are refused too: a typo ({@code keybroker.io/sidecar-memory-limt}) would otherwise be silently
 * ignored and the pod would run with the defaults its owner meant to change.
 *
 * @param identity the identity whose client certificate the pod mounts, when overridden
 * @param resources resource overrides, keyed by {@code requests.cpu}, {@code limits.memory}, ...
 */
record PodOverrides(Optional<String> identity, Map<String, Quantity> resources) {

    static final String PREFIX = "keybroker.io/";
    static final String INJECT = PREFIX + "inject";
    static final String STATUS = PREFIX + "status";
    static final String IDENTITY = PREFIX + "identity";

    /** Annotation -> resources field (requests.cpu, ...). */
    static final Map<String, String> RESOURCE_ANNOTATIONS = Map.of(
            PREFIX + "sidecar-cpu-request", "requests.cpu",
            PREFIX + "sidecar-cpu-limit", "limits.cpu",
            PREFIX + "sidecar-memory-request", "requests.memory",
            PREFIX + "sidecar-memory-limit", "limits.memory");

    private static final Set<String> OTHERS = Set.of(INJECT, STATUS, IDENTITY);

    // A service-account name as cert-manager Secrets are named after it: a DNS-1123 label.
    private static final Pattern LABEL = Pattern.compile("[a-z0-9]([-a-z0-9]*[a-z0-9])?");

    PodOverrides {
        resources = Map.copyOf(resources);
    }

    /**
     * Reads the pod's annotations.
     * @throws InvalidOverrideException listing every bad annotation and its fix
     */
    static PodOverrides from(JsonNode annotations) {
        List<String> problems = new ArrayList<>();
        Optional<String> identity = Optional.empty();
        Map<String, Quantity> resources = new LinkedHashMap<>();
        for (Map.Entry<String, JsonNode> annotation : annotations.properties()) {
            String key = annotation.getKey();
            String value = annotation.getValue().stringValue("");
            if (!key.startsWith(PREFIX) || key.equals(INJECT) || key.equals(STATUS)) {
                continue;
            }
            if (key.equals(IDENTITY)) {
                if (value.length() > 63 || !LABEL.matcher(value).matches()) {
                    problems.add(IDENTITY + ": '" + value + "' is not a service-account name; use lower-case "
                            + "letters, digits and '-' (at most 63, starting and ending with a letter or digit), "
                            + "e.g. 'checkout'");
                } else {
                    identity = Optional.of(value);
                }
            } else if (RESOURCE_ANNOTATIONS.containsKey(key)) {
                Optional<Quantity> quantity = Quantity.parse(value);
                if (quantity.isEmpty()) {
                    problems.add(key + ": '" + value + "' is not a resource quantity; write e.g. "
                            + (key.contains("cpu") ? "'100m' or '1'" : "'256Mi' or '1Gi'"));
                } else {
                    resources.put(RESOURCE_ANNOTATIONS.get(key), quantity.get());
                }
            } else {
                problems.add(key + " is not a Keybroker annotation; known ones are " + known());
            }
        }
        if (!problems.isEmpty()) {
            throw new InvalidOverrideException(String.join("; ", problems));
        }
        return new PodOverrides(identity, resources);
    }

    private static String known() {
        List<String> names = new ArrayList<>(OTHERS);
        names.remove(STATUS);
        names.addAll(RESOURCE_ANNOTATIONS.keySet());
        names.sort(null);
        return String.join(", ", names);
    }
}
