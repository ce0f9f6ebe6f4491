package io.keybroker.inject;

import io.keybroker.identity.WorkloadIdentity;
import io.keybroker.inject.InjectionTemplate.ClientCertificate;
import io.keybroker.inject.InjectionTemplate.IdentitySource;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Base64;
import java.util.HashMap;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;
import java.util.Set;
import tools.jackson.databind.JsonNode;
import tools.jackson.databind.node.ArrayNode;
import tools.jackson.databind.node.JsonNodeFactory;
import tools.jackson.databind.node.ObjectNode;

/**
 * Decides what happens to one pod and writes it as a JSON Patch: a pure function of the pod and the
 * {@link InjectionTemplate}, so tests feed it real pod specs and apply its patch with a real JSON Patch
 * implementation.
 *
 * <p>A pod annotated {@code keybroker.io/inject: "true"} gets, in one patch:
 * <ul>
 * <li>the sidecar as the FIRST init container, with {@code restartPolicy: Always} from the template, so it runs
 *     before the pod's own init containers and they can read keys too;</li>
 * <li>the sidecar's volumes and the client-certificate volume, each renamed ({@code -kb}, {@code -kb2}, ...)
 *     when the pod already has a volume of that name, with the sidecar's mounts renamed to match;</li>
 * <li>{@code KEYBROKER_URL}, {@code KEYBROKER_CA_FILE}, {@code KEYBROKER_CERT_FILE} and
 *     {@code KEYBROKER_KEY_FILE} and the client-certificate mount in every other container (a variable or mount
 *     path the container already has is left as the owner set it);</li>
 * <li>the template's pod labels and the annotation {@code keybroker.io/status: injected};</li>
 * <li>in the sidecar, {@code KEYBROKER_CACHE_WARMIDENTITIES} ({@code keybroker.cache.warm-identities}): the
 *     SPIFFE ID the pod's workload presents, {@code spiffe://<trustDomain>/ns/<namespace>/sa/<identity>}, so the
 *     sidecar warms only the names granted to its own pod (unless the template sets the variable itself).</li>
 * </ul>
 * A pod that already has the sidecar (injected before, or written by hand from the chart's template) is left as
 * it is, which makes injecting twice a no-op. A pod without the annotation is never changed.
 */
public final class PodMutator {

    static final String ENV_URL = "KEYBROKER_URL";
    static final String ENV_CA = "KEYBROKER_CA_FILE";
    static final String ENV_CERT = "KEYBROKER_CERT_FILE";
    static final String ENV_KEY = "KEYBROKER_KEY_FILE";
    /** keybroker.cache.warm-identities as Spring binds an environment variable: dots to '_', dashes dropped. */
    static final String ENV_WARM_IDENTITIES = "KEYBROKER_CACHE_WARMIDENTITIES";
    // Spring binds this spelling of the property too; a template that sets it has made its own choice.
    private static final Set<String> WARM_IDENTITIES_NAMES = Set.of(ENV_WARM_IDENTITIES,
            "KEYBROKER_CACHE_WARM_IDENTITIES");

    private static final JsonNodeFactory NODES = JsonNodeFactory.instance;

    private final InjectionTemplate template;

    public PodMutator(InjectionTemplate template) {
        this.template = Objects.requireNonNull(template, "template must not be null");
    }

    /**
     * Answers an {@code admission.k8s.io/v1} AdmissionReview.
     * @throws IllegalArgumentException when the input is not an AdmissionReview with a request uid
     */
    public ObjectNode review(JsonNode admissionReview) {
        JsonNode request = admissionReview.path("request");
        String uid = request.path("uid").stringValue("");
        if (uid.isEmpty()) {
            throw new IllegalArgumentException("not an AdmissionReview: request.uid is missing");
        }
        Mutation mutation = "Pod".equals(request.path("kind").path("kind").stringValue(""))
                ? mutate(request.path("object"), request.path("namespace").stringValue(""))
                : Mutation.untouched(NODES.arrayNode(), "not a pod");
        ObjectNode response = NODES.objectNode();
        response.put("uid", uid);
        response.put("allowed", mutation.allowed());
        if (!mutation.allowed()) {
            ObjectNode status = response.putObject("status");
            status.put("code", 400);
            status.put("reason", "BadRequest");
            status.put("message", "keybroker sidecar injection: " + mutation.message());
        } else if (mutation.changesPod()) {
            response.put("patchType", "JSONPatch");
            response.put("patch", Base64.getEncoder().encodeToString(
                    mutation.patch().toString().getBytes(StandardCharsets.UTF_8)));
        }
        ObjectNode answer = NODES.objectNode();
        answer.put("apiVersion", admissionReview.path("apiVersion").stringValue("admission.k8s.io/v1"));
        answer.put("kind", "AdmissionReview");
        answer.set("response", response);
        return answer;
    }

    /** The decision for one pod object, in the namespace its metadata names. */
    public Mutation mutate(JsonNode pod) {
        return mutate(pod, "");
    }

    /**
     * The decision for one pod object.
     * @param namespace the namespace the pod is created in (the AdmissionReview's {@code request.namespace}, which
     *     a pod created from a controller's template may not carry in its metadata); empty: the pod's metadata
     */
    public Mutation mutate(JsonNode pod, String namespace) {
        JsonNode annotations = pod.path("metadata").path("annotations");
        if (!"true".equals(annotations.path(PodOverrides.INJECT).stringValue(""))) {
            return Mutation.untouched(NODES.arrayNode(), "no " + PodOverrides.INJECT + ": \"true\" annotation");
        }
        JsonNode spec = pod.path("spec");
        for (JsonNode init : spec.path("initContainers")) {
            if (template.sidecarName().equals(init.path("name").stringValue(""))) {
                return Mutation.untouched(NODES.arrayNode(), "the sidecar is already there");
            }
        }
        try {
            PodOverrides overrides = PodOverrides.from(annotations);
            checkPorts(spec);
            String where = namespace.isEmpty() ? pod.path("metadata").path("namespace").stringValue("") : namespace;
            return Mutation.injected(patch(pod, overrides, where));
        } catch (InvalidOverrideException ex) {
            return Mutation.refused(NODES.arrayNode(), ex.getMessage());
        }
    }

    private void checkPorts(JsonNode spec) {
        if (spec.path("hostNetwork").asBoolean(false)) {
            throw new InvalidOverrideException("the pod uses hostNetwork: true, so the sidecar would listen on the "
                    + "node's loopback, shared with every other host-network pod there; remove hostNetwork or the "
                    + PodOverrides.INJECT + " annotation");
        }
        List<String> clashes = new ArrayList<>();
        for (String list : List.of("initContainers", "containers")) {
            for (JsonNode container : spec.path(list)) {
                for (JsonNode port : container.path("ports")) {
                    int number = port.path("containerPort").asInt(-1);
                    if (template.reservedPorts().contains(number)) {
                        clashes.add("container '" + container.path("name").stringValue("") + "' declares port "
                                + number);
                    }
                }
            }
        }
        if (!clashes.isEmpty()) {
            throw new InvalidOverrideException(String.join(", ", clashes) + ", which the Keybroker sidecar "
                    + "listens on in the pod's shared network namespace (ports " + template.reservedPorts()
                    + "); move the application to another port, or change listen.port / management.port in the "
                    + "keybroker chart's values");
        }
    }

    private ArrayNode patch(JsonNode pod, PodOverrides overrides, String namespace) {
        JsonNode spec = pod.path("spec");
        ArrayNode ops = NODES.arrayNode();
        ClientCertificate client = template.client();

        Set<String> taken = new HashSet<>();
        spec.path("volumes").forEach(v -> taken.add(v.path("name").stringValue("")));
        Map<String, String> renames = new HashMap<>();
        List<ObjectNode> volumes = new ArrayList<>();
        for (ObjectNode volume : template.volumes()) {
            volumes.add(renamed(volume.deepCopy(), taken, renames));
        }
        volumes.add(renamed(clientVolume(pod, overrides), taken, renames));
        String clientVolumeName = renames.getOrDefault(client.volumeName(), client.volumeName());

        // Existing init containers first: their indexes shift once the sidecar is inserted at 0.
        int index = 0;
        for (JsonNode init : spec.path("initContainers")) {
            wireContainer(ops, "/spec/initContainers/" + index++, init, clientVolumeName);
        }
        index = 0;
        for (JsonNode container : spec.path("containers")) {
            wireContainer(ops, "/spec/containers/" + index++, container, clientVolumeName);
        }

        ObjectNode sidecar = template.sidecar().deepCopy();
        for (JsonNode mount : sidecar.path("volumeMounts")) {
            String name = mount.path("name").stringValue("");
            if (renames.containsKey(name)) {
                ((ObjectNode) mount).put("name", renames.get(name));
            }
        }
        applyResources(sidecar, overrides);
        warmOwnIdentity(sidecar, namespace, workloadIdentity(pod, overrides));
        if (spec.path("initContainers").isArray() && !spec.path("initContainers").isEmpty()) {
            ops.add(op("add", "/spec/initContainers/0", sidecar));
        } else {
            ops.add(op("add", "/spec/initContainers", NODES.arrayNode().add(sidecar)));
        }

        if (spec.path("volumes").isArray()) {
            volumes.forEach(v -> ops.add(op("add", "/spec/volumes/-", v)));
        } else {
            ArrayNode all = NODES.arrayNode();
            volumes.forEach(all::add);
            ops.add(op("add", "/spec/volumes", all));
        }

        JsonNode labels = pod.path("metadata").path("labels");
        if (labels.isObject()) {
            template.podLabels().forEach((k, v) -> ops.add(op("add", "/metadata/labels/" + escape(k),
                    NODES.stringNode(v))));
        } else if (!template.podLabels().isEmpty()) {
            ObjectNode all = NODES.objectNode();
            template.podLabels().forEach(all::put);
            ops.add(op("add", "/metadata/labels", all));
        }
        // The pod has annotations: the inject annotation brought it here.
        ops.add(op("add", "/metadata/annotations/" + escape(PodOverrides.STATUS), NODES.stringNode("injected")));
        return ops;
    }

    private ObjectNode clientVolume(JsonNode pod, PodOverrides overrides) {
        ClientCertificate client = template.client();
        ObjectNode volume = NODES.objectNode();
        volume.put("name", client.volumeName());
        if (client.source() == IdentitySource.CSI_DRIVER_SPIFFE) {
            if (overrides.identity().isPresent()) {
                throw new InvalidOverrideException(PodOverrides.IDENTITY + " cannot be used with csi-driver-spiffe, "
                        + "which issues the certificate of the pod's own service account; remove the annotation "
                        + "and set spec.serviceAccountName instead");
            }
            ObjectNode csi = volume.putObject("csi");
            csi.put("driver", client.csiDriver());
            csi.put("readOnly", true);
            return volume;
        }
        String secretName = client.secretPrefix() + workloadIdentity(pod, overrides);
        if (secretName.length() > 253) {
            throw new InvalidOverrideException("the client certificate Secret name '" + secretName + "' is longer "
                    + "than 253 characters; use a shorter " + PodOverrides.IDENTITY + " or service-account name");
        }
        ObjectNode secret = volume.putObject("secret");
        secret.put("secretName", secretName);
        ArrayNode items = secret.putArray("items");
        for (String key : List.of("tls.crt", "tls.key", "ca.crt")) {
            items.addObject().put("key", key).put("path", key);
        }
        return volume;
    }

    /**
     * The service account whose SPIFFE ID the workload presents: the {@code keybroker.io/identity} override (the
     * certificate of that identity is the one mounted; never with csi-driver-spiffe, which refuses it), else the
     * pod's service account, else {@code default}, the one Kubernetes gives a pod that names none.
     */
    private static String workloadIdentity(JsonNode pod, PodOverrides overrides) {
        String serviceAccount = pod.path("spec").path("serviceAccountName").stringValue("");
        return overrides.identity().orElse(serviceAccount.isEmpty() ? "default" : serviceAccount);
    }

    /**
     * Tells the sidecar the SPIFFE ID of its pod's workload, so it warms only the names granted to it rather than
     * every exact grant of the namespace's policy. Left out, and everything warmed as before, when the template
     * predates the trust domain, when the namespace is unknown, or when the template sets the variable itself.
     */
    private void warmOwnIdentity(ObjectNode sidecar, String namespace, String serviceAccount) {
        if (template.trustDomain().isEmpty() || namespace.isEmpty()) {
            return;
        }
        for (JsonNode env : sidecar.path("env")) {
            if (WARM_IDENTITIES_NAMES.contains(env.path("name").stringValue(""))) {
                return;
            }
        }
        String id = "spiffe://" + template.trustDomain() + "/ns/" + namespace + "/sa/" + serviceAccount;
        try {
            WorkloadIdentity.parse(id);
        } catch (IllegalArgumentException ex) {
            // Kubernetes names always make a valid ID; should one not, the broker would refuse to start on it, and
            // warming everything is the better failure.
            return;
        }
        ArrayNode env = sidecar.path("env").isArray() ? (ArrayNode) sidecar.get("env") : sidecar.putArray("env");
        env.add(NODES.objectNode().put("name", ENV_WARM_IDENTITIES).put("value", id));
    }

    private static ObjectNode renamed(ObjectNode volume, Set<String> taken, Map<String, String> renames) {
        String name = volume.path("name").stringValue("");
        String chosen = name;
        for (int n = 1; taken.contains(chosen); n++) {
            chosen = name + "-kb" + (n == 1 ? "" : String.valueOf(n));
        }
        taken.add(chosen);
        if (!chosen.equals(name)) {
            renames.put(name, chosen);
            volume.put("name", chosen);
        }
        return volume;
    }

    private void wireContainer(ArrayNode ops, String path, JsonNode container, String clientVolumeName) {
        String dir = template.client().mountPath();
        Map<String, String> wanted = new LinkedHashMap<>();
        wanted.put(ENV_URL, template.url());
        wanted.put(ENV_CA, dir + "/ca.crt");
        wanted.put(ENV_CERT, dir + "/tls.crt");
        wanted.put(ENV_KEY, dir + "/tls.key");
        container.path("env").forEach(e -> wanted.remove(e.path("name").stringValue("")));
        List<ObjectNode> env = new ArrayList<>();
        wanted.forEach((name, value) -> env.add(NODES.objectNode().put("name", name).put("value", value)));
        appendAll(ops, path + "/env", container.path("env"), env);

        boolean mounted = false;
        for (JsonNode mount : container.path("volumeMounts")) {
            mounted |= dir.equals(mount.path("mountPath").stringValue(""));
        }
        if (!mounted) {
            appendAll(ops, path + "/volumeMounts", container.path("volumeMounts"), List.of(NODES.objectNode()
                    .put("name", clientVolumeName).put("mountPath", dir).put("readOnly", true)));
        }
    }

    private static void appendAll(ArrayNode ops, String path, JsonNode existing, List<ObjectNode> items) {
        if (items.isEmpty()) {
            return;
        }
        if (existing.isArray()) {
            items.forEach(item -> ops.add(op("add", path + "/-", item)));
        } else {
            ArrayNode all = NODES.arrayNode();
            items.forEach(all::add);
            ops.add(op("add", path, all));
        }
    }

    private static void applyResources(ObjectNode sidecar, PodOverrides overrides) {
        ObjectNode resources = sidecar.has("resources") ? (ObjectNode) sidecar.get("resources")
                : sidecar.putObject("resources");
        overrides.resources().forEach((field, quantity) -> {
            String[] parts = field.split("\\.");
            ObjectNode group = resources.has(parts[0]) ? (ObjectNode) resources.get(parts[0])
                    : resources.putObject(parts[0]);
            group.put(parts[1], quantity.text());
        });
        // Checked here, not left to the API server: its refusal would not say which annotation or value to fix.
        for (String kind : List.of("cpu", "memory")) {
            Optional<Quantity> request = Quantity.parse(resources.path("requests").path(kind).asString(""));
            Optional<Quantity> limit = Quantity.parse(resources.path("limits").path(kind).asString(""));
            if (request.isPresent() && limit.isPresent() && request.get().isGreaterThan(limit.get())) {
                boolean overridden = overrides.resources().containsKey("requests." + kind)
                        || overrides.resources().containsKey("limits." + kind);
                throw new InvalidOverrideException("the sidecar's " + kind + " request " + request.get().text()
                        + " is above its limit " + limit.get().text() + (overridden
                        ? "; set keybroker.io/sidecar-" + kind + "-limit too, or lower keybroker.io/sidecar-" + kind
                                + "-request"
                        : "; fix sidecar.resources in the keybroker chart's values"));
            }
        }
    }

    private static ObjectNode op(String op, String path, JsonNode value) {
        ObjectNode node = NODES.objectNode();
        node.put("op", op);
        node.put("path", path);
        node.set("value", value);
        return node;
    }

    /** RFC 6901: '~' becomes '~0' and '/' becomes '~1' in a pointer segment. */
    private static String escape(String segment) {
        return segment.replace("~", "~0").replace("/", "~1");
    }
}
