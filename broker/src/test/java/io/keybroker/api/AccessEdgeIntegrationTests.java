package io.keybroker.api;

import static org.assertj.core.api.Assertions.assertThat;

import io.keybroker.backend.BackendLocation;
import io.keybroker.cache.CacheLookup;
import io.keybroker.cache.EncryptedSecretCache;
import io.keybroker.cache.RotationEvent;
import io.keybroker.cache.SecretCache;
import io.keybroker.cache.Watch;
import io.keybroker.testsupport.BrokerFixture;
import io.keybroker.testsupport.PolicyFixtures;
import io.keybroker.testsupport.RunningBroker;
import io.keybroker.testsupport.TestPki;
import io.keybroker.testsupport.SecretsYaml;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.time.Duration;
import java.time.Instant;
import java.time.temporal.ChronoUnit;
import java.util.ArrayList;
import java.util.Collection;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;
import java.util.UUID;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import org.springframework.context.annotation.Bean;
import org.springframework.context.annotation.Configuration;
import org.springframework.context.annotation.Primary;
import org.springframework.http.ResponseEntity;
import org.springframework.web.bind.annotation.GetMapping;
import org.springframework.web.bind.annotation.RestController;
import org.springframework.web.reactive.result.method.RequestMappingInfo;
import org.springframework.web.reactive.result.method.annotation.RequestMappingHandlerMapping;
import reactor.core.publisher.Flux;
import reactor.core.publisher.Mono;
import tools.jackson.databind.JsonNode;
import tools.jackson.databind.json.JsonMapper;

/**
 * The one edge, over real mTLS against a whole broker: every route the application exposes (read from the
 * handler mapping, not from a list here) answers an unknown exception, a format error and a backend failure
 * with the status {@link Outcomes} maps it to and exactly one audit record whose decision matches; no route
 * serves a caller the policy does not know; a handler that skips the access check sends nothing.
 *
 * <p>The failures are real where a real backend can produce them: the format error comes from the real file
 * backend (a mapped field of a value that is not JSON), the backend failure from a real AWS Secrets Manager
 * backend whose endpoint refuses connections (one name is mapped to it), and a second broker walks every route
 * against a file backend whose secrets file became malformed ({@link MalformedSecretsFileEdgeIntegrationTests}:
 * brokers in one JVM share Reactor Netty's resources, so it runs alone). Only the unknown exception (a 500) is injected at
 * the cache seam, for one name, because no backend raises one on demand.
 */
class AccessEdgeIntegrationTests {

    private static final JsonMapper JSON = JsonMapper.builder().build();
    static final String EDGE = "spiffe://cluster.local/ns/edge/sa/";
    private static final String STRANGER = "spiffe://cluster.local/ns/edge/sa/stranger";

    private static BrokerFixture fixture;
    private static RunningBroker broker;

    @BeforeAll
    static void start() throws Exception {
        // Credentials for the SDK's default chain; the endpoint never answers, so they are never checked.
        System.setProperty("aws.accessKeyId", "testing");
        System.setProperty("aws.secretAccessKey", "testing");
        fixture = BrokerFixture.create();
        StringBuilder workloads = new StringBuilder();
        for (String fault : List.of("boom", "down", "format", "json")) {
            workloads.append("""
                        - identity: %s%s
                          application: %s
                          allow:
                            - secrets: [edge/%s]
                              stages: [current, previous]
                    """.formatted(EDGE, fault, fault, fault));
        }
        Files.writeString(fixture.dir().resolve("policy/edge.yaml"), PolicyFixtures.policy("edge", workloads.toString()),
                StandardCharsets.UTF_8);
        Instant now = Instant.now().truncatedTo(ChronoUnit.SECONDS);
        fixture.writeSecrets(SecretsYaml.empty()
                .version("test/edge/format", "1", "not json at all", now)
                .version("test/edge/boom", "1", "sk_test_boom", now)
                .version("test/edge/json", "1", "{\"a\":\"sk_test_fieldA\",\"b\":\"sk_test_fieldB\"}", now));
        Map<String, String> properties = fixture.properties();
        properties.put("keybroker.mappings[0].name", "edge/format");
        properties.put("keybroker.mappings[0].field", "key");
        // edge/field owns field a of test/edge/json; the default name edge/json would reach the whole JSON.
        properties.put("keybroker.mappings[1].name", "edge/field");
        properties.put("keybroker.mappings[1].path", "{environment}/edge/json");
        properties.put("keybroker.mappings[1].field", "a");
        // edge/down lives in Secrets Manager behind an endpoint where nothing listens: a real backend failure.
        properties.put("keybroker.mappings[2].name", "edge/down");
        properties.put("keybroker.mappings[2].backend", "aws");
        properties.put("keybroker.aws.region", "us-east-1");
        properties.put("keybroker.aws.endpoint", "http://127.0.0.1:" + closedPort());
        broker = RunningBroker.start(properties, FaultsAtTheCacheSeam.class, RogueController.class);
    }

    /** A loopback port nothing listens on: it was free a moment ago and is closed again. */
    static int closedPort() throws java.io.IOException {
        try (java.net.ServerSocket socket = new java.net.ServerSocket(0, 1, java.net.InetAddress.getLoopbackAddress())) {
            return socket.getLocalPort();
        }
    }

    @AfterAll
    static void stop() {
        if (broker != null) {
            broker.close();
        }
        System.clearProperty("aws.accessKeyId");
        System.clearProperty("aws.secretAccessKey");
    }

    /** Fails one name with an unknown exception at the cache seam; everything else goes to the real cache. */
    @Configuration(proxyBeanMethods = false)
    static class FaultsAtTheCacheSeam {

        @Bean
        @Primary
        SecretCache faultyCache(EncryptedSecretCache real) {
            return new SecretCache() {
                @Override
                public Mono<CacheLookup> get(BackendLocation location) {
                    return fault(location).orElse(real.get(location));
                }

                @Override
                public Mono<CacheLookup> refresh(BackendLocation location) {
                    return fault(location).orElse(real.refresh(location));
                }

                @Override
                public Flux<RotationEvent> rotations() {
                    return real.rotations();
                }

                @Override
                public Watch watch(Collection<BackendLocation> locations) {
                    return real.watch(locations);
                }

                private java.util.Optional<Mono<CacheLookup>> fault(BackendLocation location) {
                    if (location.path().endsWith("/boom")) {
                        // A message with a server path: it must reach neither the client nor the audit reason.
                        return java.util.Optional.of(Mono.error(new IllegalStateException("/etc/keybroker/x")));
                    }
                    return java.util.Optional.empty();
                }
            };
        }
    }

    /** An endpoint added without the access check: the edge must not let it answer. */
    @RestController
    static class RogueController {

        @GetMapping("/v1/rogue")
        Mono<ResponseEntity<String>> rogue() {
            return Mono.just(ResponseEntity.ok("served without a check"));
        }
    }

    /** A concrete request for each route of the API, and the application the config routes need. */
    record Route(String method, String pattern) {

        String path(String secret, String application) {
            return switch (method + " " + pattern) {
                case "GET /v1/secrets/**" -> "/v1/secrets/" + secret;
                case "POST /v1/secrets/**" -> "/v1/secrets/" + secret + "/refresh";
                case "GET /v1/watch" -> "/v1/watch?name=" + secret;
                case "GET /secretsmanager/get" -> "/secretsmanager/get?secretId=" + secret;
                case "GET /{application:(?!v1$|secretsmanager$|actuator$|stripe$).+}/{profile}" -> "/"
                        + application + "/default";
                case "GET /{application:(?!v1$|secretsmanager$|actuator$|stripe$).+}/{profile}/{label}" -> "/"
                        + application + "/default/main";
                case "POST /v1/webhooks/stripe/verify" -> "/v1/webhooks/stripe/verify?secret=" + secret;
                case "GET /v1/rogue" -> "/v1/rogue";
                default -> pattern.startsWith("/stripe") ? "/stripe/v1/balance" : fail();
            };
        }

        private String fail() {
            throw new AssertionError("route " + method + " " + pattern + " has no example request "
                        + "in this test: add one, so the new endpoint is held to the edge's rules");
        }

        /**
         * Watch streams do not read values when they open, so read faults do not reach them; the Stripe proxy and
         * the webhook check read only names a policy's stripe section grants, and write their own records.
         */
        boolean reads() {
            return !pattern.equals("/v1/watch") && !pattern.equals("/v1/rogue") && !pattern.startsWith("/stripe")
                    && !pattern.startsWith("/v1/webhooks");
        }
    }

    private static List<Route> routes() {
        return routes(broker);
    }

    static List<Route> routes(RunningBroker broker) {
        Set<String> seen = new TreeSet<>();
        List<Route> routes = new ArrayList<>();
        RequestMappingHandlerMapping mapping = broker.context().getBean(RequestMappingHandlerMapping.class);
        for (RequestMappingInfo info : mapping.getHandlerMethods().keySet()) {
            String pattern = info.getPatternsCondition().getPatterns().stream()
                    .map(Object::toString).filter(p -> !p.equals("/v1/secrets") && !p.equals("/v1/secrets/"))
                    .findFirst().orElseThrow();
            for (var method : info.getMethodsCondition().getMethods()) {
                if (seen.add(method.name() + " " + pattern)) {
                    routes.add(new Route(method.name(), pattern));
                }
            }
        }
        assertThat(routes).as("routes read from the handler mapping").hasSizeGreaterThanOrEqualTo(7);
        return routes;
    }

    private static HttpResponse<String> send(String identity, Route route, String path, String requestId)
            throws Exception {
        return send(fixture, broker, identity, route, path, requestId);
    }

    static HttpResponse<String> send(BrokerFixture fixture, RunningBroker broker, String identity, Route route,
            String path, String requestId) throws Exception {
        HttpClient client = TestPki.httpClient(fixture.ca(), TestPki.workload(fixture.ca(), identity));
        HttpRequest.Builder request = HttpRequest.newBuilder(broker.uri(path)).timeout(Duration.ofSeconds(10))
                .header("X-Request-Id", requestId);
        request.method(route.method(), HttpRequest.BodyPublishers.noBody());
        if (route.pattern().equals("/v1/watch")) {
            // The stream stays open: the status line and the audit record are what this test checks.
            return client.send(request.build(), info -> HttpResponse.BodySubscribers.replacing(""));
        }
        return client.send(request.build(), HttpResponse.BodyHandlers.ofString());
    }

    private static List<JsonNode> records(String requestId) throws Exception {
        return records(fixture, requestId);
    }

    static List<JsonNode> records(BrokerFixture fixture, String requestId) throws Exception {
        List<JsonNode> found = new ArrayList<>();
        for (String line : Files.readAllLines(fixture.auditFile())) {
            JsonNode node = JSON.readTree(line);
            // A Stripe call's one record is its stripe-call record.
            String type = node.path("type").asString();
            if (("access".equals(type) || "stripe-call".equals(type))
                    && requestId.equals(node.path("requestId").asString())) {
                found.add(node);
            }
        }
        return found;
    }

    @ParameterizedTest
    @CsvSource({"boom, 500, error", "down, 503, unavailable", "format, 502, unavailable"})
    void shouldAnswerEveryFaultOnEveryReadingRouteWithItsMappedStatusAndOneRecord(String fault, int status,
            String decision) throws Exception {
        for (Route route : routes()) {
            if (!route.reads()) {
                continue;
            }
            String requestId = "edge-" + UUID.randomUUID();
            HttpResponse<String> response = send(EDGE + fault, route, route.path("edge/" + fault, fault), requestId);
            String what = route + " with " + fault;
            assertThat(response.statusCode()).as(what).isEqualTo(status);
            JsonNode problem = JSON.readTree(response.body());
            assertThat(problem.path("requestId").asString()).as(what).isEqualTo(requestId);
            assertThat(response.body()).as(what).doesNotContain("/etc/", "/var/run", "test/edge", "sk_test");
            assertThat(records(requestId)).as(what).singleElement().satisfies(record -> {
                assertThat(record.path("decision").asString()).isEqualTo(decision);
                assertThat(record.path("secret").asString()).isEqualTo("edge/" + fault);
                assertThat(record.path("reason").asString()).doesNotContain("/etc/", "/var/run");
            });
        }
    }

    @Test
    void shouldRefuseOnEveryRouteACallerThePolicyDoesNotKnowWithOneDenyRecord() throws Exception {
        for (Route route : routes()) {
            String requestId = "edge-" + UUID.randomUUID();
            HttpResponse<String> response = send(STRANGER, route, route.path("edge/boom", "stranger"), requestId);
            assertThat(response.statusCode()).as(route.toString()).isIn(403, 500);
            if (route.pattern().equals("/v1/rogue")) {
                continue;
            }
            assertThat(response.statusCode()).as(route.toString()).isEqualTo(403);
            assertThat(records(requestId)).as(route.toString()).singleElement()
                    .satisfies(record -> assertThat(record.path("decision").asString()).isEqualTo("deny"));
        }
    }

    @Test
    void shouldNotLetAHandlerThatSkipsTheAccessCheckAnswer() throws Exception {
        String requestId = "edge-" + UUID.randomUUID();
        HttpResponse<String> response;
        try {
            response = send(EDGE + "boom", new Route("GET", "/v1/rogue"), "/v1/rogue", requestId);
        } catch (java.io.IOException closed) {
            response = null; // the connection was closed instead: nothing was served either
        }
        if (response != null) {
            assertThat(response.statusCode()).isEqualTo(500);
            assertThat(response.body()).doesNotContain("served without a check");
        }
        assertThat(records(requestId)).singleElement()
                .satisfies(record -> assertThat(record.path("decision").asString()).isEqualTo("error"));
    }

    @Test
    void shouldRefuseTheDefaultNameThatAliasesAFieldMappingOnEveryRoute() throws Exception {
        for (Route route : routes()) {
            if (!route.reads() && !route.pattern().equals("/v1/watch")) {
                continue;
            }
            String requestId = "edge-" + UUID.randomUUID();
            HttpResponse<String> response = send(EDGE + "json", route, route.path("edge/json", "json"), requestId);
            assertThat(response.statusCode()).as(route.toString()).isEqualTo(403);
            assertThat(response.body()).as(route.toString()).doesNotContain("sk_test_field", "test/edge/json");
            assertThat(records(requestId)).as(route.toString()).singleElement().satisfies(record -> {
                assertThat(record.path("decision").asString()).isEqualTo("deny");
                assertThat(record.path("rule").asString()).isEqualTo("mapping-alias");
            });
        }
    }
}
