package io.keybroker.inject;

import io.keybroker.identity.SpiffeIdGrammar;
import io.keybroker.secret.SecretName;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import tools.jackson.databind.JsonNode;
import tools.jackson.databind.node.ObjectNode;

/**
 * What the injector adds to a pod, as the Helm chart rendered it (ConfigMap {@code <release>-injector}, key
 * {@code injection.json}) from the same named templates that a workload chart includes by hand.
 *
 * @param sidecar the native sidecar container (its {@code name} also marks a pod as already injected)
 * @param volumes the sidecar's volumes (configuration, policy, server certificate, audit, ...)
 * @param client how the workload's own SPIFFE certificate is mounted into the app containers
 * @param url the broker's address as the app containers see it ({@code KEYBROKER_URL})
 * @param reservedPorts the ports the sidecar listens on in the pod's shared network namespace
 * @param podLabels labels given to an injected pod (the chart's NetworkPolicy selects them)
 * @param trustDomain the chart's {@code trustDomain}, from which the pod's SPIFFE ID is written; empty in a
 *     template of a chart from before it was rendered, and then the sidecar is not told its pod's identity
 */
public record InjectionTemplate(ObjectNode sidecar, List<ObjectNode> volumes, ClientCertificate client,
        String url, List<Integer> reservedPorts, Map<String, String> podLabels, String trustDomain) {

    /** Where the workload's client certificate comes from. */
    public enum IdentitySource {
        /** A Secret per identity, issued by cert-manager: {@code <secretPrefix><identity>}. */
        CERT_MANAGER,
        /** A CSI volume of csi-driver-spiffe, which issues the pod's own SVID from its service account. */
        CSI_DRIVER_SPIFFE
    }

    /**
     * @param volumeName name of the client-certificate volume
     * @param mountPath where app containers find {@code tls.crt}, {@code tls.key} and {@code ca.crt}
     * @param source cert-manager Secrets or csi-driver-spiffe
     * @param secretPrefix prefix of the per-identity Secret (cert-manager)
     * @param csiDriver the CSI driver name (csi-driver-spiffe)
     */
    public record ClientCertificate(String volumeName, String mountPath, IdentitySource source, String secretPrefix,
            String csiDriver) {
    }

    public InjectionTemplate {
        Objects.requireNonNull(sidecar, "sidecar must not be null");
        volumes = List.copyOf(volumes);
        reservedPorts = List.copyOf(reservedPorts);
        podLabels = Map.copyOf(podLabels);
        Objects.requireNonNull(trustDomain, "trustDomain must not be null");
    }

    /** The sidecar container's name; a pod whose init containers already have it is left as it is. */
    public String sidecarName() {
        return sidecar.path("name").stringValue("");
    }

    /**
     * Reads the chart's {@code injection.json}.
     * @throws IllegalArgumentException saying which field is missing or wrong
     */
    public static InjectionTemplate fromJson(JsonNode json) {
        List<String> problems = new ArrayList<>();
        JsonNode sidecar = json.path("sidecar");
        if (!sidecar.isObject() || sidecar.path("name").stringValue("").isEmpty()) {
            problems.add("'sidecar' must be a container object with a name");
        }
        List<ObjectNode> volumes = new ArrayList<>();
        for (JsonNode volume : json.path("volumes")) {
            if (!volume.isObject() || volume.path("name").stringValue("").isEmpty()) {
                problems.add("every item of 'volumes' must be a volume object with a name");
            } else {
                volumes.add((ObjectNode) volume.deepCopy());
            }
        }
        JsonNode client = json.path("client");
        String source = client.path("source").stringValue("");
        IdentitySource identitySource = switch (source) {
            case "cert-manager" -> IdentitySource.CERT_MANAGER;
            case "csi-driver-spiffe" -> IdentitySource.CSI_DRIVER_SPIFFE;
            default -> {
                problems.add("'client.source' must be cert-manager or csi-driver-spiffe, not '" + source + "'");
                yield null;
            }
        };
        String volumeName = required(client, "volumeName", "client.volumeName", problems);
        String mountPath = required(client, "mountPath", "client.mountPath", problems);
        String secretPrefix = client.path("secretPrefix").stringValue("");
        String csiDriver = client.path("csiDriver").stringValue("");
        if (identitySource == IdentitySource.CERT_MANAGER && secretPrefix.isEmpty()) {
            problems.add("'client.secretPrefix' is required with client.source cert-manager");
        }
        if (identitySource == IdentitySource.CSI_DRIVER_SPIFFE && csiDriver.isEmpty()) {
            problems.add("'client.csiDriver' is required with client.source csi-driver-spiffe");
        }
        String url = required(json, "url", "url", problems);
        List<Integer> ports = new ArrayList<>();
        for (JsonNode port : json.path("reservedPorts")) {
            if (!port.isInt()) {
                problems.add("'reservedPorts' must be a list of port numbers");
            } else {
                ports.add(port.intValue());
            }
        }
        Map<String, String> labels = new LinkedHashMap<>();
        for (Map.Entry<String, JsonNode> label : json.path("podLabels").properties()) {
            labels.put(label.getKey(), label.getValue().stringValue(""));
        }
        String trustDomain = json.path("trustDomain").stringValue("");
        if (!trustDomain.isEmpty()) {
            checkTrustDomain(trustDomain, problems);
        }
        if (!problems.isEmpty()) {
            throw new IllegalArgumentException("invalid injection template: " + String.join("; ", problems));
        }
        return new InjectionTemplate((ObjectNode) sidecar.deepCopy(), volumes,
                new ClientCertificate(volumeName, mountPath, identitySource, secretPrefix, csiDriver), url, ports,
                labels, trustDomain);
    }

    /** Checked by the rule certificates are judged by, so every ID written from it is one the broker accepts. */
    private static void checkTrustDomain(String trustDomain, List<String> problems) {
        boolean valid = trustDomain.indexOf('/') < 0;
        if (valid) {
            try {
                // A bare trust domain passes only as the stem of a prefix; the path the injector adds is made of
                // Kubernetes names, which SPIFFE path segments accept.
                SpiffeIdGrammar.checkSpiffeId("spiffe://" + trustDomain, trustDomain, true);
            } catch (IllegalArgumentException ex) {
                valid = false;
            }
        }
        if (!valid) {
            problems.add("'trustDomain' is '" + SecretName.printable(trustDomain) + "', which is not a SPIFFE trust "
                    + "domain; use lower-case letters, digits, '.', '_' and '-', with no port, path or final dot "
                    + "(the chart's trustDomain, e.g. cluster.local)");
        }
    }

    private static String required(JsonNode parent, String field, String path, List<String> problems) {
        String value = parent.path(field).stringValue("");
        if (value.isEmpty()) {
            problems.add("'" + path + "' is required");
        }
        return value;
    }
}
