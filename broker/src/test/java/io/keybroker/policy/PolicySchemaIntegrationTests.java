package io.keybroker.policy;

import static org.assertj.core.api.Assertions.assertThat;

import io.keybroker.testsupport.OpenBaoServer;
import io.keybroker.testsupport.PolicyFixtures;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.provider.Arguments;
import tools.jackson.databind.JsonNode;
import tools.jackson.databind.json.JsonMapper;

/**
 * Keeps {@code docs/policy.schema.json} and the policy parser from drifting apart, with the real validator editors
 * and CI use, {@code check-jsonschema} from PyPI (installed by scripts/install-tools.sh into .tools/bin):
 * <ul>
 *   <li>every policy file the docs show, and every valid input of the parser's test corpus, is valid under the
 *       schema (the schema never refuses what the broker accepts);</li>
 *   <li>every file of the parser's test corpus ({@link PolicyLoaderTests#brokenFiles()}, the fuzz regression inputs,
 *       the Stripe section's mistakes) that {@code policy check} refuses for a structural reason is refused by the
 *       schema too. Structural means keys, types, lists, enumerations and name syntax; what stays with
 *       {@code policy check} alone is listed in {@link #SEMANTIC}.</li>
 * </ul>
 */
class PolicySchemaIntegrationTests {

    private static final Path SCHEMA = Path.of("..", "docs", "policy.schema.json");
    private static final Path DOCS = Path.of("..", "docs");
    private static final Path FUZZ_INPUTS = Path.of("src", "test", "resources", "io", "keybroker", "policy",
            "PolicyParserFuzzTestsInputs", "shouldYieldAPolicySetOrErrorsNamingFileLineAndField");

    /**
     * Refusals that are the parser's alone, each with the reason: a problem matching one of these does not make a
     * file structurally wrong. SPIFFE ID syntax and duplicate identities are semantic (the issue keeps them in
     * {@code policy check}, whose messages are better); YAML-level rules (aliases, tags, duplicate keys, several
     * documents, encoding, size) are the loader's, not a schema's; SnakeYAML reads YAML 1.1, where {@code yes} is a
     * boolean and {@code 2024-01-01} a timestamp, while editors read YAML 1.2 text; a Stripe call's segment rules
     * beyond its method and characters are checked by {@code policy check}.
     */
    private static final List<Pattern> SEMANTIC = List.of(
            Pattern.compile("^identity '.*"),
            Pattern.compile(".*already has a workload entry.*"),
            Pattern.compile("^YAML .*"),
            Pattern.compile(".*YAML documents.*"),
            Pattern.compile(".*not valid UTF-8.*"),
            Pattern.compile("^duplicate key.*"),
            Pattern.compile(".*the YAML tag.*"),
            Pattern.compile(".*larger than.*"),
            Pattern.compile(".*found a (timestamp|boolean).*"),
            Pattern.compile("^call '.*"));

    @TempDir
    Path tmp;

    private final PolicyLoader loader = new PolicyLoader();

    @Test
    void shouldBeAValidDraft202012Schema() throws IOException {
        Result result = checkJsonschema("--check-metaschema", SCHEMA.toString());
        assertThat(result.status()).as(result.output()).isZero();
    }

    @Test
    void shouldAcceptEveryPolicyOfTheDocsAndEveryValidInputOfTheParser() throws IOException {
        Map<String, String> valid = new LinkedHashMap<>();
        try (Stream<Path> docs = Files.list(DOCS)) {
            for (Path doc : docs.filter(p -> p.toString().endsWith(".md")).sorted().toList()) {
                List<String> examples = policyExamples(Files.readString(doc));
                for (int i = 0; i < examples.size(); i++) {
                    valid.put(doc.getFileName() + "-" + i, examples.get(i));
                }
            }
        }
        assertThat(valid).as("policy examples found in docs/").hasSizeGreaterThanOrEqualTo(5);
        valid.put("docs-example", PolicyFixtures.PAYMENTS);
        valid.put("stripe-example", StripePolicyTests.EXAMPLE);
        try (Stream<Path> inputs = Files.list(FUZZ_INPUTS)) {
            for (Path input : inputs.filter(p -> p.getFileName().toString().startsWith("valid-")).toList()) {
                valid.put("fuzz-" + input.getFileName(), Files.readString(input));
            }
        }
        List<String> files = new ArrayList<>();
        for (Map.Entry<String, String> example : valid.entrySet()) {
            byte[] bytes = example.getValue().getBytes(StandardCharsets.UTF_8);
            assertThat(errors(bytes)).as("the parser accepts %s:%n%s", example.getKey(), example.getValue()).isEmpty();
            files.add(write(example.getKey(), bytes).toString());
        }
        List<String> args = new ArrayList<>(List.of("--schemafile", SCHEMA.toString()));
        args.addAll(files);
        Result result = checkJsonschema(args.toArray(String[]::new));
        assertThat(result.status()).as(result.output()).isZero();
    }

    @Test
    void shouldRefuseEveryFileThatPolicyCheckRefusesForAStructuralReason() throws IOException {
        Map<String, byte[]> corpus = new LinkedHashMap<>();
        PolicyLoaderTests.brokenFiles().map(Arguments::get).forEach(args ->
                corpus.put("broken " + args[0], ((String) args[1]).getBytes(StandardCharsets.UTF_8)));
        stripeMistakes().forEach((name, yaml) -> corpus.put("stripe " + name, yaml.getBytes(StandardCharsets.UTF_8)));
        try (Stream<Path> inputs = Files.list(FUZZ_INPUTS)) {
            for (Path input : inputs.sorted().toList()) {
                corpus.put("fuzz " + input.getFileName(), Files.readAllBytes(input));
            }
        }
        Map<String, String> structural = new LinkedHashMap<>();
        Map<String, String> byFile = new LinkedHashMap<>();
        for (Map.Entry<String, byte[]> input : corpus.entrySet()) {
            List<PolicyError> errors = errors(input.getValue());
            if (errors.stream().anyMatch(PolicySchemaIntegrationTests::isStructural)) {
                Path file = write(input.getKey(), input.getValue());
                structural.put(file.toString(), input.getKey());
                byFile.put(file.toString(), errors.stream().filter(PolicySchemaIntegrationTests::isStructural)
                        .map(PolicyError::toString).findFirst().orElseThrow());
            }
        }
        // Not vacuous: most of the corpus is structural.
        assertThat(structural).hasSizeGreaterThanOrEqualTo(30);
        List<String> args = new ArrayList<>(List.of("--schemafile", SCHEMA.toString(), "-o", "JSON"));
        args.addAll(structural.keySet());
        Result result = checkJsonschema(args.toArray(String[]::new));
        assertThat(result.status()).as(result.output()).isNotZero();
        JsonNode report = JsonMapper.builder().build().readTree(result.output());
        Set<String> refused = new TreeSet<>();
        for (String list : List.of("errors", "parse_errors")) {
            report.get(list).forEach(error -> refused.add(error.get("filename").asString()));
        }
        List<String> missed = new ArrayList<>();
        structural.forEach((file, name) -> {
            if (!refused.contains(file)) {
                missed.add(name + " (policy check: " + byFile.get(file) + ")");
            }
        });
        assertThat(missed).as("refused by policy check for a structural reason, accepted by the schema").isEmpty();
    }

    private static boolean isStructural(PolicyError error) {
        return SEMANTIC.stream().noneMatch(p -> p.matcher(error.problem()).matches());
    }

    /** Mistakes in the stripe section, as StripePolicyTests makes them, that a schema can see. */
    private static Map<String, String> stripeMistakes() {
        String example = StripePolicyTests.EXAMPLE;
        Map<String, String> mistakes = new LinkedHashMap<>();
        mistakes.put("lower-case method", example.replace("- POST /v1/payment_intents", "- post /v1/payment_intents"));
        mistakes.put("unknown method", example.replace("- POST /v1/payment_intents", "- PATCH /v1/payment_intents"));
        mistakes.put("no path", example.replace("- POST /v1/payment_intents", "- POST"));
        mistakes.put("query string", example.replace("- POST /v1/payment_intents", "- GET /v1/customers?limit=3"));
        mistakes.put("duplicate call", example.replace("- GET /v1/payment_intents/*", "- GET /v1/customers/**"));
        mistakes.put("key is a pattern", example.replace("key: stripe/secret-key ", "key: stripe/* "));
        mistakes.put("unknown key", example.replace("webhookSecrets:", "webhookSecret:"));
        mistakes.put("calls without key", example.replace(
                "        key: stripe/secret-key            # added to the calls below\n", ""));
        mistakes.put("key without calls", example.replaceAll("(?s)        calls:.*?\\*\\*\n", ""));
        mistakes.put("grants nothing", example.replaceAll("(?s)        key:.*?\\*\\*\n", "").replace(
                "        webhookSecrets: [stripe/webhook-secret]   # may verify against, never read\n",
                "        webhookSecrets: []\n"));
        mistakes.put("webhook secret pattern", example.replace("[stripe/webhook-secret]", "[stripe/*/x]"));
        mistakes.put("no allow and no stripe", example.replaceAll("(?s)      stripe:.*?never read\n", ""));
        return mistakes;
    }

    /**
     * The policy files of a Markdown page: each {@code apiVersion: keybroker/v1} document of {@code kind: Policy} in
     * a yaml block (also one indented under a Helm value), and each bare workload entry ({@code - identity: ...}),
     * completed into a file.
     */
    static List<String> policyExamples(String markdown) {
        List<String> examples = new ArrayList<>();
        Matcher blocks = Pattern.compile("```yaml\\n(.*?)```", Pattern.DOTALL).matcher(markdown);
        while (blocks.find()) {
            List<String> lines = blocks.group(1).lines().toList();
            for (int i = 0; i < lines.size(); i++) {
                String line = lines.get(i);
                int indent = line.length() - line.stripLeading().length();
                if (line.strip().equals("apiVersion: keybroker/v1")) {
                    StringBuilder doc = new StringBuilder();
                    for (int j = i; j < lines.size(); j++) {
                        String l = lines.get(j);
                        if (!l.isBlank() && l.length() - l.stripLeading().length() < indent) {
                            break;
                        }
                        doc.append(l.isBlank() ? "" : l.substring(indent)).append('\n');
                    }
                    if (doc.toString().contains("\nkind: Policy\n")) {
                        examples.add(doc.toString());
                    }
                } else if (i == 0 && line.stripLeading().startsWith("- identity:")) {
                    StringBuilder doc = new StringBuilder("apiVersion: keybroker/v1\nkind: Policy\nmetadata:\n"
                            + "  name: example\nspec:\n  workloads:\n");
                    for (String l : lines) {
                        doc.append(l.isBlank() ? "" : "    " + l.substring(Math.min(indent, l.length() - l.stripLeading().length())))
                                .append('\n');
                    }
                    examples.add(doc.toString());
                }
            }
        }
        return examples;
    }

    private List<PolicyError> errors(byte[] content) {
        try {
            loader.compile(new PolicyLoader.Snapshot(tmp, Map.of("policy.yaml", content), List.of(), List.of(),
                    "digest"));
            return List.of();
        } catch (InvalidPolicyException ex) {
            return ex.errors();
        }
    }

    private Path write(String name, byte[] content) throws IOException {
        Path file = tmp.resolve(name.replaceAll("[^A-Za-z0-9.-]+", "-") + ".yaml");
        Files.write(file, content);
        return file;
    }

    private record Result(int status, String output) {
    }

    private Result checkJsonschema(String... args) throws IOException {
        List<String> command = new ArrayList<>(List.of(OpenBaoServer.tool("check-jsonschema").toString()));
        command.addAll(List.of(args));
        Process process = new ProcessBuilder(command).redirectError(ProcessBuilder.Redirect.INHERIT).start();
        process.getOutputStream().close();
        String output = new String(process.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        try {
            return new Result(process.waitFor(), output);
        } catch (InterruptedException ex) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException(ex);
        }
    }
}
