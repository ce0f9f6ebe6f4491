package io.keybroker.inject;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import jakarta.json.Json;
import jakarta.json.JsonArray;
import jakarta.json.JsonObject;
import java.io.IOException;
import java.io.InputStream;
import java.io.StringReader;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Base64;
import java.util.List;
import org.junit.jupiter.api.Test;
import tools.jackson.databind.JsonNode;
import tools.jackson.databind.json.JsonMapper;
import tools.jackson.databind.node.ObjectNode;
import tools.jackson.dataformat.yaml.YAMLMapper;

/**
 * The injector as a pure function: real pod specs in (as the API server sends them), an AdmissionReview answer
 * out, and its JSON Patch applied with an independent RFC 6902 implementation (Eclipse Parsson) to check the
 * pod that would be stored.
 */
class PodMutatorUnitTests {

    private static final JsonMapper JSON = JsonMapper.builder().build();
    private static final YAMLMapper YAML = YAMLMapper.builder().build();
    private static final String CLIENT_DIR = "/var/run/keybroker/client";
    private static final String WARM = "KEYBROKER_CACHE_WARMIDENTITIES";

    private final InjectionTemplate template = InjectionTemplate.fromJson(resource("injection.json"));
    private final PodMutator mutator = new PodMutator(template);

    @Test
    void shouldInjectNativeSidecarIntoAPodCreatedFromADeploymentTemplate() {
        JsonNode pod = resource("deployment-pod.yaml");

        JsonNode result = apply(pod, answer(review(pod)));

        JsonNode sidecar = result.at("/spec/initContainers/0");
        assertThat(sidecar.path("name").stringValue()).isEqualTo("keybroker");
        assertThat(sidecar.path("restartPolicy").stringValue()).isEqualTo("Always");
        assertThat(sidecar.path("image").stringValue()).isEqualTo("keybroker:0.1.0");
        assertThat(sidecar.at("/resources/requests/memory").stringValue()).isEqualTo("192Mi");
        assertThat(env(sidecar, WARM)).as("the sidecar warms only its own workload's grants")
                .isEqualTo("spiffe://cluster.local/ns/payments/sa/checkout");
        assertThat(volumeNames(result)).containsExactly("kube-api-access-x2m4q", "keybroker-config",
                "keybroker-policy", "keybroker-server-tls", "keybroker-audit", "keybroker-tmp",
                "keybroker-file-secrets", "keybroker-client-tls");
        assertThat(volume(result, "keybroker-client-tls").at("/secret/secretName").stringValue())
                .isEqualTo("kb-keybroker-client-checkout");
        JsonNode app = result.at("/spec/containers/0");
        assertThat(env(app, "SPRING_PROFILES_ACTIVE")).isEqualTo("prod");
        assertThat(env(app, "KEYBROKER_URL")).isEqualTo("https://127.0.0.1:8443");
        assertThat(env(app, "KEYBROKER_CA_FILE")).isEqualTo(CLIENT_DIR + "/ca.crt");
        assertThat(env(app, "KEYBROKER_CERT_FILE")).isEqualTo(CLIENT_DIR + "/tls.crt");
        assertThat(env(app, "KEYBROKER_KEY_FILE")).isEqualTo(CLIENT_DIR + "/tls.key");
        assertThat(mountOf(app, CLIENT_DIR)).isEqualTo("keybroker-client-tls");
        assertThat(result.at("/metadata/labels/keybroker.io~1sidecar").stringValue()).isEqualTo("true");
        assertThat(result.at("/metadata/labels/app").stringValue()).isEqualTo("checkout");
        assertThat(result.at("/metadata/annotations/keybroker.io~1status").stringValue()).isEqualTo("injected");
        assertThat(result.at("/metadata/ownerReferences/0/kind").stringValue()).isEqualTo("ReplicaSet");
    }

    @Test
    void shouldPutTheSidecarBeforeExistingInitContainersAndGiveThemTheEnvironmentToo() {
        JsonNode pod = resource("pod-with-init-containers.yaml");

        JsonNode result = apply(pod, answer(review(pod)));

        assertThat(containerNames(result.at("/spec/initContainers"))).containsExactly("keybroker", "migrate");
        JsonNode migrate = result.at("/spec/initContainers/1");
        assertThat(env(migrate, "KEYBROKER_URL")).as("a variable the owner set stays as set")
                .isEqualTo("https://127.0.0.1:9443");
        assertThat(env(migrate, "KEYBROKER_KEY_FILE")).isEqualTo(CLIENT_DIR + "/tls.key");
        for (JsonNode container : result.at("/spec/containers")) {
            assertThat(env(container, "KEYBROKER_CERT_FILE")).isEqualTo(CLIENT_DIR + "/tls.crt");
            assertThat(mountOf(container, CLIENT_DIR)).isEqualTo("keybroker-client-tls");
        }
        assertThat(volume(result, "keybroker-client-tls").at("/secret/secretName").stringValue())
                .isEqualTo("kb-keybroker-client-billing");
        assertThat(env(result.at("/spec/initContainers/0"), WARM))
                .isEqualTo("spiffe://cluster.local/ns/payments/sa/billing");
        assertThat(env(migrate, WARM)).as("only the sidecar reads it").isNull();
        assertThat(result.at("/metadata/labels/keybroker.io~1sidecar").stringValue()).isEqualTo("true");
    }

    @Test
    void shouldRenameTheSidecarsVolumesWhoseNamesThePodAlreadyUses() {
        JsonNode pod = resource("pod-with-clashing-volume.yaml");

        JsonNode result = apply(pod, answer(review(pod)));

        assertThat(volume(result, "keybroker-config").at("/configMap/name").stringValue())
                .as("the pod's own volume is untouched").isEqualTo("reports-settings");
        assertThat(volume(result, "keybroker-config-kb").at("/configMap/name").stringValue())
                .isEqualTo("kb-keybroker-config");
        assertThat(volume(result, "keybroker-client-tls").has("emptyDir")).isTrue();
        assertThat(volume(result, "keybroker-client-tls-kb").at("/secret/secretName").stringValue())
                .as("no service account: the identity is 'default'").isEqualTo("kb-keybroker-client-default");
        assertThat(mountOf(result.at("/spec/initContainers/0"), "/etc/keybroker/config"))
                .isEqualTo("keybroker-config-kb");
        assertThat(env(result.at("/spec/initContainers/0"), WARM))
                .as("no service account: the pod runs as 'default'")
                .isEqualTo("spiffe://cluster.local/ns/payments/sa/default");
        JsonNode app = result.at("/spec/containers/0");
        assertThat(mountOf(app, "/etc/reports")).isEqualTo("keybroker-config");
        assertThat(mountOf(app, CLIENT_DIR)).isEqualTo("keybroker-client-tls-kb");
        assertThat(volumeNames(result)).doesNotHaveDuplicates();
    }

    @Test
    void shouldChangeNothingWhenInjectingAnInjectedPodAgain() {
        for (String fixture : List.of("deployment-pod.yaml", "pod-with-init-containers.yaml",
                "pod-with-clashing-volume.yaml")) {
            JsonNode once = apply(resource(fixture), answer(review(resource(fixture))));

            JsonNode again = answer(review(once));

            assertThat(again.path("allowed").booleanValue()).isTrue();
            assertThat(again.has("patch")).as(fixture).isFalse();
        }
    }

    @Test
    void shouldLeaveAPodWithoutTheAnnotationAsItIs() {
        ObjectNode pod = (ObjectNode) resource("deployment-pod.yaml");
        ((ObjectNode) pod.path("metadata")).remove("annotations");
        assertThat(answer(review(pod)).has("patch")).isFalse();
        assertThat(answer(review(pod)).path("allowed").booleanValue()).isTrue();

        ((ObjectNode) pod.path("metadata")).putObject("annotations").put("keybroker.io/inject", "false");
        assertThat(answer(review(pod)).has("patch")).isFalse();
    }

    @Test
    void shouldTakeSidecarResourcesFromAnnotations() {
        ObjectNode pod = annotated("deployment-pod.yaml", "keybroker.io/sidecar-memory-request", "300Mi",
                "keybroker.io/sidecar-memory-limit", "512Mi", "keybroker.io/sidecar-cpu-request", "0.2");

        JsonNode sidecar = apply(pod, answer(review(pod))).at("/spec/initContainers/0/resources");

        assertThat(sidecar.at("/requests/memory").stringValue()).isEqualTo("300Mi");
        assertThat(sidecar.at("/limits/memory").stringValue()).isEqualTo("512Mi");
        assertThat(sidecar.at("/requests/cpu").stringValue()).isEqualTo("0.2");
        assertThat(sidecar.at("/limits/cpu").stringValue()).as("not overridden: from values").isEqualTo("1");
    }

    @Test
    void shouldRefuseAMalformedResourceOverrideSayingWhatToWrite() {
        ObjectNode pod = annotated("deployment-pod.yaml", "keybroker.io/sidecar-memory-limit", "512MB!");

        JsonNode answer = answer(review(pod));

        assertThat(answer.path("allowed").booleanValue()).isFalse();
        assertThat(answer.has("patch")).isFalse();
        assertThat(answer.at("/status/message").stringValue())
                .contains("keybroker.io/sidecar-memory-limit: '512MB!' is not a resource quantity")
                .contains("'256Mi'");
    }

    @Test
    void shouldRefuseARequestAboveItsLimit() {
        ObjectNode pod = annotated("deployment-pod.yaml", "keybroker.io/sidecar-memory-request", "1Gi");

        assertThat(answer(review(pod)).at("/status/message").stringValue())
                .contains("memory request 1Gi is above its limit 256Mi")
                .contains("set keybroker.io/sidecar-memory-limit too");
    }

    @Test
    void shouldRefuseARequestAboveItsLimitFromTheChartsValuesNamingThem() {
        ObjectNode json = (ObjectNode) resource("injection.json");
        ((ObjectNode) json.at("/sidecar/resources/requests")).put("memory", "300Mi");
        PodMutator mutator = new PodMutator(InjectionTemplate.fromJson(json));

        assertThat(answer(mutator.review(reviewJson(resource("deployment-pod.yaml")))).at("/status/message")
                .stringValue()).contains("memory request 300Mi is above its limit 256Mi")
                .contains("fix sidecar.resources in the keybroker chart's values");
    }

    @Test
    void shouldMountTheCertificateOfTheIdentityNamedByAnnotation() {
        ObjectNode pod = annotated("deployment-pod.yaml", "keybroker.io/identity", "checkout-canary");

        JsonNode result = apply(pod, answer(review(pod)));

        assertThat(volume(result, "keybroker-client-tls").at("/secret/secretName").stringValue())
                .isEqualTo("kb-keybroker-client-checkout-canary");
        assertThat(env(result.at("/spec/initContainers/0"), WARM))
                .as("the workload presents the certificate it mounts")
                .isEqualTo("spiffe://cluster.local/ns/payments/sa/checkout-canary");
    }

    @Test
    void shouldRefuseAnIdentityThatIsNotAServiceAccountName() {
        ObjectNode pod = annotated("deployment-pod.yaml", "keybroker.io/identity", "Checkout/Prod");

        JsonNode answer = answer(review(pod));

        assertThat(answer.path("allowed").booleanValue()).isFalse();
        assertThat(answer.at("/status/message").stringValue())
                .contains("keybroker.io/identity: 'Checkout/Prod' is not a service-account name")
                .contains("lower-case letters, digits and '-'");
    }

    @Test
    void shouldRefuseAMisspelledKeybrokerAnnotationInsteadOfIgnoringIt() {
        ObjectNode pod = annotated("deployment-pod.yaml", "keybroker.io/sidecar-memory-limt", "512Mi");

        assertThat(answer(review(pod)).at("/status/message").stringValue())
                .contains("keybroker.io/sidecar-memory-limt is not a Keybroker annotation")
                .contains("keybroker.io/sidecar-memory-limit");
    }

    @Test
    void shouldRefuseAPodWhoseContainerUsesTheSidecarsPort() {
        ObjectNode pod = (ObjectNode) resource("deployment-pod.yaml");
        ((ObjectNode) pod.at("/spec/containers/0/ports/0")).put("containerPort", 9090);

        assertThat(answer(review(pod)).at("/status/message").stringValue())
                .contains("container 'app' declares port 9090")
                .contains("listen.port / management.port");
    }

    @Test
    void shouldRefuseAHostNetworkPodWhoseLoopbackIsTheNodes() {
        ObjectNode pod = (ObjectNode) resource("deployment-pod.yaml");
        ((ObjectNode) pod.path("spec")).put("hostNetwork", true);

        assertThat(answer(review(pod)).at("/status/message").stringValue()).contains("hostNetwork: true")
                .contains("remove hostNetwork or the keybroker.io/inject annotation");
    }

    @Test
    void shouldMountACsiDriverSpiffeVolumeWhenThatIsTheIdentitySource() {
        ObjectNode json = (ObjectNode) resource("injection.json");
        ((ObjectNode) json.path("client")).put("source", "csi-driver-spiffe");
        PodMutator csi = new PodMutator(InjectionTemplate.fromJson(json));
        JsonNode pod = resource("deployment-pod.yaml");

        JsonNode result = apply(pod, answer(csi.review(reviewJson(pod))));

        JsonNode volume = volume(result, "keybroker-client-tls");
        assertThat(volume.at("/csi/driver").stringValue()).isEqualTo("spiffe.csi.cert-manager.io");
        assertThat(env(result.at("/spec/initContainers/0"), WARM))
                .isEqualTo("spiffe://cluster.local/ns/payments/sa/checkout");
        assertThat(volume.at("/csi/readOnly").booleanValue()).isTrue();
        assertThat(volume.has("secret")).isFalse();

        ObjectNode named = annotated("deployment-pod.yaml", "keybroker.io/identity", "other");
        assertThat(answer(csi.review(reviewJson(named))).at("/status/message").stringValue())
                .contains("cannot be used with csi-driver-spiffe");
    }

    @Test
    void shouldTakeTheNamespaceOfTheSidecarsIdentityFromTheAdmissionRequest() {
        // A pod created from a controller's template may reach the webhook without metadata.namespace.
        ObjectNode pod = (ObjectNode) resource("deployment-pod.yaml");
        ((ObjectNode) pod.path("metadata")).remove("namespace");

        JsonNode result = apply(pod, answer(mutator.review(reviewJson(pod, "payments-canary"))));

        assertThat(env(result.at("/spec/initContainers/0"), WARM))
                .isEqualTo("spiffe://cluster.local/ns/payments-canary/sa/checkout");
    }

    @Test
    void shouldWriteTheSidecarsIdentityInTheTrustDomainOfTheTemplate() {
        ObjectNode json = (ObjectNode) resource("injection.json");
        json.put("trustDomain", "prod.example.org");
        ((ObjectNode) json.path("sidecar")).putArray("env").addObject().put("name", "JDK_JAVA_OPTIONS")
                .put("value", "-Xss512k");
        PodMutator mutator = new PodMutator(InjectionTemplate.fromJson(json));
        JsonNode pod = resource("deployment-pod.yaml");

        JsonNode sidecar = apply(pod, answer(mutator.review(reviewJson(pod)))).at("/spec/initContainers/0");

        assertThat(env(sidecar, "JDK_JAVA_OPTIONS")).isEqualTo("-Xss512k");
        assertThat(env(sidecar, WARM)).isEqualTo("spiffe://prod.example.org/ns/payments/sa/checkout");
    }

    @Test
    void shouldLeaveTheWarmIdentitiesTheTemplateSetsAlone() {
        ObjectNode json = (ObjectNode) resource("injection.json");
        ((ObjectNode) json.path("sidecar")).putArray("env").addObject().put("name", WARM).put("value", "");
        PodMutator mutator = new PodMutator(InjectionTemplate.fromJson(json));
        JsonNode pod = resource("deployment-pod.yaml");

        JsonNode sidecar = apply(pod, answer(mutator.review(reviewJson(pod)))).at("/spec/initContainers/0");

        assertThat(sidecar.path("env")).hasSize(1);
        assertThat(env(sidecar, WARM)).as("an operator's choice (empty: warm every exact grant)").isEmpty();
    }

    @Test
    void shouldNotNameTheSidecarsIdentityWithATemplateWithoutTrustDomain() {
        // The template of a chart from before the trust domain was rendered into it: warm as before.
        ObjectNode json = (ObjectNode) resource("injection.json");
        json.remove("trustDomain");
        PodMutator mutator = new PodMutator(InjectionTemplate.fromJson(json));
        JsonNode pod = resource("deployment-pod.yaml");

        JsonNode sidecar = apply(pod, answer(mutator.review(reviewJson(pod)))).at("/spec/initContainers/0");

        assertThat(env(sidecar, WARM)).isNull();
    }

    @Test
    void shouldRefuseATemplateWhoseTrustDomainIsNotOne() {
        for (String bad : List.of("Cluster.Local", "cluster.local/ns", "cluster.local:443", "cluster.local.")) {
            ObjectNode json = (ObjectNode) resource("injection.json");
            json.put("trustDomain", bad);

            assertThatThrownBy(() -> InjectionTemplate.fromJson(json)).as(bad)
                    .isInstanceOf(IllegalArgumentException.class)
                    .hasMessageContaining("'trustDomain' is '" + bad + "', which is not a SPIFFE trust domain");
        }
    }

    @Test
    void shouldAnswerWithTheRequestUidAndABase64JsonPatch() {
        JsonNode review = mutator.review(reviewJson(resource("deployment-pod.yaml")));

        assertThat(review.path("apiVersion").stringValue()).isEqualTo("admission.k8s.io/v1");
        assertThat(review.path("kind").stringValue()).isEqualTo("AdmissionReview");
        assertThat(review.at("/response/uid").stringValue()).isEqualTo("6f0c2a4e-1b7d-4c55-9a0e-3f2d8b9c7e10");
        assertThat(review.at("/response/patchType").stringValue()).isEqualTo("JSONPatch");
    }

    @Test
    void shouldRejectABodyThatIsNotAnAdmissionReview() {
        assertThatThrownBy(() -> mutator.review(JSON.readTree("{\"kind\":\"Pod\"}")))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("request.uid is missing");
    }

    @Test
    void shouldRefuseATemplateWithoutTheFieldsItNeedsNamingThem() {
        assertThatThrownBy(() -> InjectionTemplate.fromJson(JSON.readTree("{\"client\":{\"source\":\"vault\"}}")))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("'sidecar' must be a container object")
                .hasMessageContaining("'client.source' must be cert-manager or csi-driver-spiffe, not 'vault'")
                .hasMessageContaining("'url' is required");
    }

    // ---- helpers -------------------------------------------------------------------------------------------

    private JsonNode review(JsonNode pod) {
        return mutator.review(reviewJson(pod));
    }

    private static JsonNode reviewJson(JsonNode pod) {
        return reviewJson(pod, "payments");
    }

    private static JsonNode reviewJson(JsonNode pod, String namespace) {
        ObjectNode review = JSON.createObjectNode();
        review.put("apiVersion", "admission.k8s.io/v1");
        review.put("kind", "AdmissionReview");
        ObjectNode request = review.putObject("request");
        request.put("uid", "6f0c2a4e-1b7d-4c55-9a0e-3f2d8b9c7e10");
        request.putObject("kind").put("group", "").put("version", "v1").put("kind", "Pod");
        request.putObject("resource").put("group", "").put("version", "v1").put("resource", "pods");
        request.put("namespace", namespace);
        request.put("operation", "CREATE");
        request.set("object", pod);
        return review;
    }

    private static JsonNode answer(JsonNode review) {
        return review.path("response");
    }

    /** Applies the answer's patch with Parsson's RFC 6902 implementation, not with our own code. */
    private static JsonNode apply(JsonNode pod, JsonNode response) {
        assertThat(response.path("allowed").booleanValue()).as(response.toString()).isTrue();
        assertThat(response.path("patchType").stringValue()).isEqualTo("JSONPatch");
        String patch = new String(Base64.getDecoder().decode(response.path("patch").stringValue()),
                StandardCharsets.UTF_8);
        JsonArray operations = Json.createReader(new StringReader(patch)).readArray();
        JsonObject target = Json.createReader(new StringReader(JSON.writeValueAsString(pod))).readObject();
        return JSON.readTree(Json.createPatch(operations).apply(target).toString());
    }

    private static ObjectNode annotated(String fixture, String... keyValues) {
        ObjectNode pod = (ObjectNode) resource(fixture);
        ObjectNode annotations = (ObjectNode) pod.path("metadata").path("annotations");
        for (int i = 0; i < keyValues.length; i += 2) {
            annotations.put(keyValues[i], keyValues[i + 1]);
        }
        return pod;
    }

    private static List<String> volumeNames(JsonNode pod) {
        return containerNames(pod.at("/spec/volumes"));
    }

    private static List<String> containerNames(JsonNode list) {
        List<String> names = new ArrayList<>();
        list.forEach(item -> names.add(item.path("name").stringValue()));
        return names;
    }

    private static JsonNode volume(JsonNode pod, String name) {
        for (JsonNode volume : pod.at("/spec/volumes")) {
            if (name.equals(volume.path("name").stringValue())) {
                return volume;
            }
        }
        throw new AssertionError("no volume " + name + " in " + volumeNames(pod));
    }

    private static String env(JsonNode container, String name) {
        for (JsonNode env : container.path("env")) {
            if (name.equals(env.path("name").stringValue())) {
                return env.path("value").stringValue();
            }
        }
        return null;
    }

    private static String mountOf(JsonNode container, String path) {
        for (JsonNode mount : container.path("volumeMounts")) {
            if (path.equals(mount.path("mountPath").stringValue())) {
                return mount.path("name").stringValue();
            }
        }
        return null;
    }

    private static JsonNode resource(String name) {
        try (InputStream in = PodMutatorUnitTests.class.getResourceAsStream("/inject/" + name)) {
            return name.endsWith(".json") ? JSON.readTree(in) : YAML.readTree(in);
        } catch (IOException ex) {
            throw new IllegalStateException(ex);
        }
    }
}
