package io.keybroker.policy;

import static io.keybroker.yaml.SafeYaml.describe;
import static io.keybroker.yaml.SafeYaml.line;
import static io.keybroker.yaml.SafeYaml.printableMessage;

import io.keybroker.config.NearestName;
import io.keybroker.secret.InvalidSecretNameException;
import io.keybroker.secret.SecretName;
import io.keybroker.secret.Stage;
import io.keybroker.yaml.SafeYaml;
import java.nio.charset.CharacterCodingException;
import java.util.ArrayList;
import java.util.EnumSet;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.regex.Pattern;
import org.jspecify.annotations.Nullable;
import org.yaml.snakeyaml.error.Mark;
import org.yaml.snakeyaml.error.MarkedYAMLException;
import org.yaml.snakeyaml.error.YAMLException;
import org.yaml.snakeyaml.events.AliasEvent;
import org.yaml.snakeyaml.events.DocumentStartEvent;
import org.yaml.snakeyaml.events.Event;
import org.yaml.snakeyaml.nodes.MappingNode;
import org.yaml.snakeyaml.nodes.Node;
import org.yaml.snakeyaml.nodes.NodeTuple;
import org.yaml.snakeyaml.nodes.ScalarNode;
import org.yaml.snakeyaml.nodes.SequenceNode;
import org.yaml.snakeyaml.nodes.Tag;

/**
 * Reads one policy file into a {@link PolicyDocument}, reporting every problem with its line and field path.
 *
 * <p>The YAML is composed into SnakeYAML's node tree (which keeps line numbers) and validated by hand rather than
 * bound to classes, so that each message can say exactly which field is wrong and what to write instead. Aliases
 * are refused before the tree is built (no "billion laughs"), nesting is limited, duplicate keys and YAML tags are
 * errors, and the caller limits the file size.
 */
final class PolicyParser {

    static final String API_VERSION = "keybroker/v1";
    static final String KIND = "Policy";

    private static final Pattern METADATA_NAME = Pattern.compile("[a-z0-9](?:[a-z0-9.-]{0,61}[a-z0-9])?");
    private static final Pattern APPLICATION = Pattern.compile("[A-Za-z0-9][A-Za-z0-9._-]{0,63}");
    // The caller limits files to MAX_FILE_BYTES, and a code point is at least one byte; a policy needs no alias.
    private static final SafeYaml.Limits LIMITS = new SafeYaml.Limits((int) PolicyLoader.MAX_FILE_BYTES + 1, 0, 20);
    private static final Set<String> TOP_KEYS = keys("apiVersion", "kind", "metadata", "spec");
    private static final Set<String> METADATA_KEYS = keys("name", "labels", "annotations");
    private static final Set<String> SPEC_KEYS = keys("workloads");
    private static final Set<String> WORKLOAD_KEYS = keys("identity", "application", "rateLimit", "allow", "stripe");
    private static final Set<String> STRIPE_KEYS = keys("key", "calls", "webhookSecrets");
    private static final Set<String> ALLOW_KEYS = keys("secrets", "stages");

    /**
     * Where a workload entry's identity was written, collected even from entries with other errors so that a
     * duplicate identity is reported in the same run.
     *
     * @param identity the identity pattern as written
     * @param file the file
     * @param line the line of the identity
     * @param index the entry's index in spec.workloads
     */
    record IdentityOccurrence(String identity, String file, int line, int index) {
    }

    @Nullable PolicyDocument parse(String file, byte[] bytes, List<PolicyError> errors, List<String> warnings,
            List<IdentityOccurrence> identities) {
        Walker walker = new Walker(file, errors, warnings, identities);
        int before = errors.size();
        char[] text;
        try {
            text = SafeYaml.decodeUtf8(bytes);
        } catch (CharacterCodingException ex) {
            walker.error(0, "", "the file is not valid UTF-8 text; save it as UTF-8");
            return null;
        }
        SafeYaml yaml = new SafeYaml(LIMITS);
        int documents = 0;
        try {
            for (Event event : yaml.events(text)) {
                if (event instanceof AliasEvent alias) {
                    walker.error(line(alias.getStartMark()), "", "YAML aliases (*" + SecretName.printable(
                            alias.getAnchor()) + ") are not allowed in policy files; write the value out in full");
                    return null;
                }
                if (event instanceof DocumentStartEvent) {
                    documents++;
                }
            }
            if (documents == 0) {
                walker.error(0, "", "the file holds no policy; write a document starting with 'apiVersion: "
                        + API_VERSION + "', or remove the file");
                return null;
            }
            if (documents > 1) {
                walker.error(0, "", "the file holds " + documents + " YAML documents; put exactly one Policy in each "
                        + "file (split it at the '---' lines into separate files)");
                return null;
            }
            Node root = yaml.compose(text);
            PolicyDocument document = walker.document(root);
            return errors.size() == before ? document : null;
        } catch (MarkedYAMLException ex) {
            Mark mark = ex.getProblemMark() != null ? ex.getProblemMark() : ex.getContextMark();
            String problem = ex.getProblem() != null ? ex.getProblem() : "cannot be parsed";
            String context = ex.getContext() != null ? " (" + ex.getContext() + ")" : "";
            walker.error(line(mark), "", "YAML syntax error: " + printableMessage(problem + context)
                    + "; fix the YAML (check indentation, quotes and ':' after keys)");
            return null;
        } catch (YAMLException ex) {
            walker.error(0, "", "YAML error: " + printableMessage(String.valueOf(ex.getMessage())) + "; fix the YAML");
            return null;
        } catch (IllegalArgumentException | IndexOutOfBoundsException ex) {
            // SnakeYAML's scanner lets these escape on some malformed input (found by PolicyParserFuzzTests): a
            // NumberFormatException for an escape such as "\x" without its hex digits, an IllegalArgumentException
            // for a tag with a space. Still a YAML mistake in the file, not a crash.
            walker.error(0, "", "YAML syntax error: a malformed escape sequence (\\x, \\u or \\U needs its hex "
                    + "digits) or a malformed tag; fix the YAML or use single quotes");
            return null;
        }
    }

    private static Set<String> keys(String... keys) {
        return new java.util.LinkedHashSet<>(List.of(keys));
    }

    /** Walks one document's node tree. */
    private static final class Walker {

        private final String file;
        private final List<PolicyError> errors;
        private final List<String> warnings;
        private final List<IdentityOccurrence> identities;

        Walker(String file, List<PolicyError> errors, List<String> warnings, List<IdentityOccurrence> identities) {
            this.file = file;
            this.errors = errors;
            this.warnings = warnings;
            this.identities = identities;
        }

        void error(int line, String path, String problem) {
            errors.add(new PolicyError(file, line, path, problem));
        }

        void error(Node node, String path, String problem) {
            error(line(node.getStartMark()), path, problem);
        }

        @Nullable PolicyDocument document(Node root) {
            Map<String, Node> top = mapping(root, "", TOP_KEYS, "the file must be a mapping with apiVersion, kind, "
                    + "metadata and spec");
            if (top == null) {
                return null;
            }
            String apiVersion = required(top, root, "", "apiVersion", "apiVersion: " + API_VERSION);
            if (apiVersion != null) {
                String v = text(top.get("apiVersion"), "apiVersion", "apiVersion: " + API_VERSION);
                if (v != null && !v.equals(API_VERSION)) {
                    error(top.get("apiVersion"), "apiVersion", "unsupported apiVersion '" + SecretName.printable(v)
                            + "'; write apiVersion: " + API_VERSION);
                }
            }
            if (required(top, root, "", "kind", "kind: " + KIND) != null) {
                String kind = text(top.get("kind"), "kind", "kind: " + KIND);
                if (kind != null && !kind.equals(KIND)) {
                    error(top.get("kind"), "kind", "unsupported kind '" + SecretName.printable(kind) + "'; write kind: "
                            + KIND);
                }
            }
            String name = null;
            if (required(top, root, "", "metadata", "metadata: {name: payments}") != null) {
                name = metadata(top.get("metadata"));
            }
            List<PolicyDocument.Workload> workloads = List.of();
            if (required(top, root, "", "spec", "spec: {workloads: [...]}") != null) {
                workloads = spec(top.get("spec"), name == null ? "?" : name);
            }
            return name == null || workloads == null ? null : new PolicyDocument(file, name, workloads);
        }

        private @Nullable String metadata(Node node) {
            Map<String, Node> metadata = mapping(node, "metadata", METADATA_KEYS, "write metadata: {name: payments}");
            if (metadata == null) {
                return null;
            }
            for (String optional : List.of("labels", "annotations")) {
                if (metadata.containsKey(optional)) {
                    stringMap(metadata.get(optional), "metadata." + optional);
                }
            }
            if (required(metadata, node, "metadata", "name", "name: payments") == null) {
                return null;
            }
            String name = text(metadata.get("name"), "metadata.name", "name: payments");
            if (name != null && !METADATA_NAME.matcher(name).matches()) {
                error(metadata.get("name"), "metadata.name", "invalid name '" + SecretName.printable(name)
                        + "'; use 1 to 63 lower-case letters, digits, '.' and '-', starting and ending with a letter "
                        + "or digit, e.g. payments");
                return null;
            }
            return name;
        }

        private @Nullable List<PolicyDocument.Workload> spec(Node node, String name) {
            Map<String, Node> spec = mapping(node, "spec", SPEC_KEYS, "write spec: {workloads: [...]}");
            if (spec == null || required(spec, node, "spec", "workloads", "workloads: [...]") == null) {
                return null;
            }
            List<Node> items = list(spec.get("workloads"), "spec.workloads",
                    "a list of workload entries, each starting with '- identity: spiffe://...'");
            if (items == null) {
                return null;
            }
            if (items.isEmpty()) {
                warnings.add(file + ": spec.workloads is empty, so this file grants nothing");
            }
            List<PolicyDocument.Workload> workloads = new ArrayList<>();
            for (int i = 0; i < items.size(); i++) {
                workloads.add(workload(items.get(i), i, file + "#" + name + "/workloads[" + i + "]"));
            }
            return workloads.contains(null) ? null : workloads;
        }

        private PolicyDocument.@Nullable Workload workload(Node node, int index, String id) {
            String path = "spec.workloads[" + index + "]";
            Map<String, Node> entry = mapping(node, path, WORKLOAD_KEYS, "a workload entry is a mapping with "
                    + "identity, application, allow and optionally rateLimit and stripe");
            if (entry == null) {
                return null;
            }
            boolean ok = true;
            IdentityPattern identity = null;
            if (required(entry, node, path, "identity", "identity: spiffe://cluster.local/ns/NAMESPACE/sa/ACCOUNT")
                    != null) {
                String raw = text(entry.get("identity"), path + ".identity", "spiffe://cluster.local/ns/NS/sa/SA");
                if (raw != null) {
                    try {
                        identity = IdentityPattern.parse(raw);
                        identities.add(new IdentityOccurrence(identity.text(), file,
                                line(entry.get("identity").getStartMark()), index));
                    } catch (IllegalArgumentException ex) {
                        error(entry.get("identity"), path + ".identity", ex.getMessage());
                    }
                }
            }
            String application = null;
            if (required(entry, node, path, "application", "application: checkout (the workload's "
                    + "spring.application.name)") != null) {
                application = text(entry.get("application"), path + ".application", "application: checkout");
                if (application != null && !APPLICATION.matcher(application).matches()) {
                    error(entry.get("application"), path + ".application", "invalid application name '"
                            + SecretName.printable(application) + "'; use 1 to 64 letters, digits, '.', '_' and '-', "
                            + "starting with a letter or digit (it is the Spring application name, e.g. checkout)");
                    application = null;
                }
            }
            Optional<RateLimit> rateLimit = Optional.empty();
            if (entry.containsKey("rateLimit")) {
                String raw = text(entry.get("rateLimit"), path + ".rateLimit", "rateLimit: 100/s");
                if (raw == null) {
                    ok = false;
                } else {
                    try {
                        rateLimit = Optional.of(RateLimit.parse(raw));
                    } catch (IllegalArgumentException ex) {
                        error(entry.get("rateLimit"), path + ".rateLimit", ex.getMessage());
                        ok = false;
                    }
                }
            }
            Optional<StripePolicy> stripe = Optional.empty();
            if (entry.containsKey("stripe")) {
                stripe = Optional.ofNullable(stripe(entry.get("stripe"), path + ".stripe"));
                ok &= stripe.isPresent();
            }
            List<PolicyDocument.Allow> allow = null;
            if (!entry.containsKey("allow") && entry.containsKey("stripe")) {
                // A workload that only calls Stripe or verifies webhooks through the broker reads nothing itself.
                allow = List.of();
            } else if (required(entry, node, path, "allow", "allow: [{secrets: [stripe/secret-key], stages: "
                    + "[current]}] (or a stripe section, for a workload that only calls Stripe through the broker)")
                    != null) {
                List<Node> rules = list(entry.get("allow"), path + ".allow",
                        "a list of rules, each '- secrets: [...]' with 'stages: [...]'");
                if (rules != null) {
                    if (rules.isEmpty()) {
                        error(entry.get("allow"), path + ".allow", "the entry grants nothing; add at least one rule "
                                + "({secrets: [stripe/secret-key], stages: [current]}) or remove the entry");
                    } else {
                        allow = new ArrayList<>();
                        for (int j = 0; j < rules.size(); j++) {
                            allow.add(allow(rules.get(j), path + ".allow[" + j + "]", id + "/allow[" + j + "]"));
                        }
                        if (allow.contains(null)) {
                            allow = null;
                        }
                    }
                }
            }
            if (!ok || identity == null || application == null || allow == null) {
                return null;
            }
            return new PolicyDocument.Workload(id, identity, application, rateLimit, allow, stripe);
        }

        /** The {@code stripe} section of a workload entry, or null after reporting its problems. */
        private @Nullable StripePolicy stripe(Node node, String path) {
            Map<String, Node> section = mapping(node, path, STRIPE_KEYS, "write stripe: {key: stripe/secret-key, "
                    + "calls: [POST /v1/payment_intents], webhookSecrets: [stripe/webhook-secret]}");
            if (section == null) {
                return null;
            }
            boolean ok = true;
            Optional<SecretName> key = Optional.empty();
            if (section.containsKey("key")) {
                String raw = text(section.get("key"), path + ".key", "stripe/secret-key");
                if (raw == null) {
                    ok = false;
                } else {
                    try {
                        key = Optional.of(SecretName.parse(raw));
                    } catch (InvalidSecretNameException ex) {
                        error(section.get("key"), path + ".key", "invalid secret name: " + ex.getMessage()
                                + "; stripe.key names exactly one secret (no '*'), e.g. stripe/secret-key");
                        ok = false;
                    }
                }
            }
            List<StripeCallPattern> calls = new ArrayList<>();
            if (section.containsKey("calls")) {
                List<Node> items = list(section.get("calls"), path + ".calls", "a list of calls such as "
                        + "['POST /v1/payment_intents', 'GET /v1/payment_intents/*']");
                if (items == null) {
                    ok = false;
                } else {
                    Set<String> seen = new HashSet<>();
                    for (int k = 0; k < items.size(); k++) {
                        String itemPath = path + ".calls[" + k + "]";
                        String raw = text(items.get(k), itemPath, "POST /v1/payment_intents");
                        if (raw == null) {
                            ok = false;
                            continue;
                        }
                        try {
                            StripeCallPattern call = StripeCallPattern.parse(raw);
                            if (!seen.add(call.text())) {
                                error(items.get(k), itemPath, "'" + call.text() + "' is listed twice in stripe.calls; "
                                        + "remove the duplicate");
                                ok = false;
                            }
                            calls.add(call);
                        } catch (IllegalArgumentException ex) {
                            error(items.get(k), itemPath, ex.getMessage());
                            ok = false;
                        }
                    }
                }
            }
            List<SecretPattern> webhookSecrets = new ArrayList<>();
            if (section.containsKey("webhookSecrets")) {
                List<Node> items = list(section.get("webhookSecrets"), path + ".webhookSecrets", "a list of secret "
                        + "names, e.g. [stripe/webhook-secret]");
                if (items == null) {
                    ok = false;
                } else {
                    Set<String> seen = new HashSet<>();
                    for (int k = 0; k < items.size(); k++) {
                        String itemPath = path + ".webhookSecrets[" + k + "]";
                        String raw = text(items.get(k), itemPath, "stripe/webhook-secret");
                        if (raw == null) {
                            ok = false;
                            continue;
                        }
                        if (!seen.add(raw)) {
                            error(items.get(k), itemPath, "'" + SecretName.printable(raw) + "' is listed twice in "
                                    + "stripe.webhookSecrets; remove the duplicate");
                            ok = false;
                            continue;
                        }
                        try {
                            webhookSecrets.add(SecretPattern.parse(raw));
                        } catch (IllegalArgumentException ex) {
                            error(items.get(k), itemPath, ex.getMessage());
                            ok = false;
                        }
                    }
                }
            }
            if (!ok) {
                return null;
            }
            if (key.isPresent() && calls.isEmpty()) {
                error(node, path + ".calls", "stripe.key is set but no call is listed, so the key is never used; "
                        + "list the calls the workload makes, e.g. calls: ['POST /v1/payment_intents'], or remove "
                        + "stripe.key");
                return null;
            }
            if (key.isEmpty() && !calls.isEmpty()) {
                error(node, path + ".key", "stripe.calls are listed but stripe.key is missing; add key: "
                        + "stripe/secret-key (the secret the broker sends to Stripe for these calls)");
                return null;
            }
            if (calls.isEmpty() && webhookSecrets.isEmpty()) {
                error(node, path, "the stripe section grants nothing; add key and calls (to call Stripe through the "
                        + "broker) or webhookSecrets (to verify webhooks), or remove the section");
                return null;
            }
            return new StripePolicy(key, calls, webhookSecrets);
        }

        private PolicyDocument.@Nullable Allow allow(Node node, String path, String id) {
            Map<String, Node> rule = mapping(node, path, ALLOW_KEYS, "an allow rule is a mapping with secrets and "
                    + "stages");
            if (rule == null) {
                return null;
            }
            List<SecretPattern> secrets = null;
            if (required(rule, node, path, "secrets", "secrets: [stripe/secret-key]") != null) {
                secrets = new ArrayList<>();
                List<Node> items = list(rule.get("secrets"), path + ".secrets", "a list of secret names or patterns, "
                        + "e.g. [stripe/secret-key] or [stripe/*]");
                if (items == null) {
                    secrets = null;
                } else if (items.isEmpty()) {
                    error(rule.get("secrets"), path + ".secrets", "the list is empty; name at least one secret, e.g. "
                            + "[stripe/secret-key], or remove the rule");
                    secrets = null;
                } else {
                    Set<String> seen = new HashSet<>();
                    for (int k = 0; k < items.size(); k++) {
                        String itemPath = path + ".secrets[" + k + "]";
                        String raw = text(items.get(k), itemPath, "stripe/secret-key");
                        if (raw == null) {
                            secrets = null;
                            continue;
                        }
                        if (!seen.add(raw)) {
                            error(items.get(k), itemPath, "'" + SecretName.printable(raw) + "' is listed twice in "
                                    + "this rule; remove the duplicate");
                            secrets = null;
                            continue;
                        }
                        try {
                            SecretPattern pattern = SecretPattern.parse(raw);
                            if (secrets != null) {
                                secrets.add(pattern);
                            }
                        } catch (IllegalArgumentException ex) {
                            error(items.get(k), itemPath, ex.getMessage());
                            secrets = null;
                        }
                    }
                }
            }
            Set<Stage> stages = null;
            if (required(rule, node, path, "stages", "stages: [current] (or [current, previous] during key "
                    + "rotation)") != null) {
                stages = EnumSet.noneOf(Stage.class);
                List<Node> items = list(rule.get("stages"), path + ".stages", "a list of stages, e.g. [current] or "
                        + "[current, previous]");
                if (items == null) {
                    stages = null;
                } else if (items.isEmpty()) {
                    error(rule.get("stages"), path + ".stages", "the list is empty; write [current] or [current, "
                            + "previous]");
                    stages = null;
                } else {
                    for (int k = 0; k < items.size(); k++) {
                        String itemPath = path + ".stages[" + k + "]";
                        String raw = text(items.get(k), itemPath, "current");
                        if (raw == null) {
                            stages = null;
                            continue;
                        }
                        Stage stage;
                        try {
                            stage = Stage.parse(raw);
                        } catch (IllegalArgumentException ex) {
                            error(items.get(k), itemPath, ex.getMessage());
                            stages = null;
                            continue;
                        }
                        if (stages != null && !stages.add(stage)) {
                            error(items.get(k), itemPath, "stage '" + raw + "' is listed twice; remove the "
                                    + "duplicate");
                            stages = null;
                        }
                    }
                }
            }
            return secrets == null || stages == null ? null : new PolicyDocument.Allow(id, secrets, stages);
        }

        /**
         * The keys and values of a mapping node; reports a wrong type, non-text keys, duplicate and unknown keys.
         * Returns null when the node is not a mapping.
         */
        private @Nullable Map<String, Node> mapping(Node node, String path, Set<String> allowed, String expected) {
            if (!(node instanceof MappingNode mapping) || !Tag.MAP.equals(node.getTag())) {
                error(node, path, "expected a mapping (key: value lines) but found " + describe(node) + "; "
                        + expected);
                return null;
            }
            Map<String, Node> values = new LinkedHashMap<>();
            for (NodeTuple tuple : mapping.getValue()) {
                Node keyNode = tuple.getKeyNode();
                if (!(keyNode instanceof ScalarNode scalar) || !Tag.STR.equals(keyNode.getTag())) {
                    error(keyNode, path, "a key must be plain text but found " + describe(keyNode) + "; allowed keys "
                            + "here: " + String.join(", ", allowed));
                    continue;
                }
                String key = scalar.getValue();
                // An unknown or duplicate key is the writer's text, so the field path quotes it like any other
                // input: shortened and printable (a 300-character key used to make a 300-character field).
                String keyPath = path.isEmpty() ? SecretName.printable(key) : path + "." + SecretName.printable(key);
                if (values.containsKey(key)) {
                    error(keyNode, keyPath, "duplicate key '" + SecretName.printable(key) + "' (first on line "
                            + line(values.get(key).getStartMark()) + "); keep one");
                    continue;
                }
                if (!allowed.contains(key)) {
                    error(keyNode, keyPath, "unknown key '" + SecretName.printable(key) + "'" + suggest(key, allowed)
                            + "; allowed keys here: " + String.join(", ", allowed));
                    continue;
                }
                values.put(key, tuple.getValueNode());
            }
            return values;
        }

        /** Returns the key if present, else reports it missing and returns null. */
        private @Nullable String required(Map<String, Node> values, Node parent, String path, String key, String example) {
            if (values.containsKey(key)) {
                return key;
            }
            error(parent, path.isEmpty() ? key : path + "." + key, "missing required key '" + key + "'; add "
                    + example);
            return null;
        }

        private @Nullable String text(Node node, String path, String example) {
            if (node instanceof ScalarNode scalar && Tag.STR.equals(node.getTag())) {
                if (scalar.getValue().isEmpty()) {
                    error(node, path, "is empty; write e.g. " + example);
                    return null;
                }
                return scalar.getValue();
            }
            String hint = node instanceof ScalarNode && !Tag.NULL.equals(node.getTag())
                    ? " (put it in quotes if you meant it as text)" : "";
            error(node, path, "expected text but found " + describe(node) + hint + "; write e.g. " + example);
            return null;
        }

        private @Nullable List<Node> list(Node node, String path, String expected) {
            if (node instanceof SequenceNode sequence && Tag.SEQ.equals(node.getTag())) {
                return sequence.getValue();
            }
            error(node, path, "expected a list but found " + describe(node) + "; write " + expected);
            return null;
        }

        private void stringMap(Node node, String path) {
            Map<String, Node> values;
            if (!(node instanceof MappingNode mapping) || !Tag.MAP.equals(node.getTag())) {
                error(node, path, "expected a mapping of text keys to text values but found " + describe(node));
                return;
            }
            values = new LinkedHashMap<>();
            for (NodeTuple tuple : mapping.getValue()) {
                Node keyNode = tuple.getKeyNode();
                if (!(keyNode instanceof ScalarNode scalar) || !Tag.STR.equals(keyNode.getTag())) {
                    error(keyNode, path, "a key must be plain text but found " + describe(keyNode));
                    continue;
                }
                String key = scalar.getValue();
                if (values.put(key, tuple.getValueNode()) != null) {
                    error(keyNode, path + "." + SecretName.printable(key), "duplicate key '"
                            + SecretName.printable(key) + "'; keep one");
                    continue;
                }
                text(tuple.getValueNode(), path + "." + SecretName.printable(key), "\"some text\"");
            }
        }

        private static String suggest(String key, Set<String> allowed) {
            return NearestName.among(key, allowed, 2).map(best -> " (did you mean '" + best + "'?)").orElse("");
        }
    }
}
