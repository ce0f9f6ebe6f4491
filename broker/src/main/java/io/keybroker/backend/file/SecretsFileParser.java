package io.keybroker.backend.file;

import io.keybroker.backend.BackendSecret;
import io.keybroker.backend.BackendVersion;
import io.keybroker.backend.ChangeMarker;
import io.keybroker.secret.SecretValue;
import io.keybroker.yaml.SafeYaml;
import java.nio.ByteBuffer;
import java.nio.charset.CharacterCodingException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Instant;
import java.time.OffsetDateTime;
import java.time.format.DateTimeParseException;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Base64;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import javax.crypto.Mac;
import org.jspecify.annotations.Nullable;
import org.yaml.snakeyaml.error.Mark;
import org.yaml.snakeyaml.error.MarkedYAMLException;
import org.yaml.snakeyaml.error.YAMLException;
import org.yaml.snakeyaml.nodes.MappingNode;
import org.yaml.snakeyaml.nodes.Node;
import org.yaml.snakeyaml.nodes.NodeTuple;
import org.yaml.snakeyaml.nodes.ScalarNode;
import org.yaml.snakeyaml.nodes.SequenceNode;

/**
 * Parses the secrets file: validates all of it, returns the metadata of every path, and the plaintext of the one
 * path asked for (if any) as {@link SecretValue}s.
 *
 * <p>What plaintext exists while parsing, and for how long: the file's bytes and the decoded characters, which
 * are wiped in {@code finally}; SnakeYAML's internal read buffers and the {@code String} of each scalar in its
 * node tree, which cannot be wiped and become garbage when this method returns (nothing keeps the tree). Values
 * are turned into byte arrays at once. This is the honest limit of a YAML parser on the JVM; see docs/cache.md.
 *
 * <p>Error messages name the file, the line, the path and the field, and never quote content: SnakeYAML's own
 * messages include a snippet of the offending line, which could be a value, so only its problem description and
 * position are used, and its exception is not kept as a cause.
 */
final class SecretsFileParser {

    /** A development file; a larger one is a mistake (or an attack on memory). */
    static final int MAX_FILE_BYTES = 4 * 1024 * 1024;

    // SnakeYAML's own nesting limit (50); a few aliases, as the format has always accepted.
    private static final SafeYaml.Limits LIMITS = new SafeYaml.Limits(MAX_FILE_BYTES, 10, 50);
    private static final Set<String> VERSION_KEYS = Set.of("version", "value", "createdAt");

    private final Path file;
    private final Mac markerMac;

    /**
     * @param file the file, for messages
     * @param markerMac an initialised HMAC under a per-process key: markers are keyed digests, so they reveal
     *     nothing about a value even to someone who sees one
     */
    SecretsFileParser(Path file, Mac markerMac) {
        this.file = file;
        this.markerMac = markerMac;
    }

    /** One version's metadata. */
    record VersionInfo(String version, Instant createdAt) {
    }

    /** One path's metadata: its versions oldest first and the marker of this state. */
    record PathInfo(List<VersionInfo> versions, ChangeMarker marker) {
    }

    /**
     * The result of one parse.
     *
     * @param paths the metadata of every path
     * @param secret the current and previous value of the path asked for, or {@code null} when none was asked for
     *     or the file does not have it; the caller owns and wipes it
     */
    record Parsed(Map<String, PathInfo> paths, @Nullable BackendSecret secret) {
    }

    /** The file content is invalid; the message says where and what, never a value. */
    static final class InvalidFileException extends Exception {
        InvalidFileException(String message) {
            super(message, null, false, false);
        }
    }

    /**
     * Parses {@code content} (not modified; the caller wipes it).
     *
     * @param wanted the backend path whose values to return, or {@code null} for metadata only
     */
    Parsed parse(byte[] content, @Nullable String wanted) throws InvalidFileException {
        if (content.length > MAX_FILE_BYTES) {
            throw invalid("is " + content.length + " bytes; the file backend is for development and reads at most "
                    + MAX_FILE_BYTES + " bytes");
        }
        char[] chars = decode(content);
        Node root;
        try {
            root = new SafeYaml(LIMITS).compose(chars);
        } catch (MarkedYAMLException ex) {
            throw invalid(position(ex.getProblemMark()) + "is not valid YAML: " + ex.getProblem());
        } catch (YAMLException ex) {
            throw invalid("is not valid YAML (" + ex.getClass().getSimpleName() + ")");
        } finally {
            Arrays.fill(chars, '\0');
        }
        return walk(root, wanted);
    }

    private char[] decode(byte[] content) throws InvalidFileException {
        try {
            return SafeYaml.decodeUtf8(content);
        } catch (CharacterCodingException ex) {
            throw invalid("is not UTF-8 text");
        }
    }

    private Parsed walk(Node root, String wanted) throws InvalidFileException {
        if (root == null) {
            throw invalid("is empty; it needs a top-level 'secrets:' map (format in docs/file-backend.md)");
        }
        if (!(root instanceof MappingNode top)) {
            throw invalid(position(root) + "must be a map with one key, 'secrets'");
        }
        Node secrets = null;
        for (NodeTuple tuple : top.getValue()) {
            String key = key(tuple, "the top level");
            // Unknown keys are not quoted: a mis-indented line could make a value look like a key.
            if (!"secrets".equals(key)) {
                throw invalid(position(tuple.getKeyNode()) + "has a top-level key other than 'secrets', the only "
                        + "one the file may have");
            }
            if (secrets != null) {
                throw invalid(position(tuple.getKeyNode()) + "has two top-level 'secrets' keys");
            }
            secrets = tuple.getValueNode();
        }
        if (secrets == null) {
            throw invalid(position(root) + "has no top-level 'secrets:' map (format in docs/file-backend.md)");
        }
        Map<String, PathInfo> paths = new LinkedHashMap<>();
        BackendSecret secret = null;
        try {
            if (secrets instanceof ScalarNode scalar && SafeYaml.isNull(scalar)) {
                return new Parsed(Map.of(), null);
            }
            if (!(secrets instanceof MappingNode map)) {
                throw invalid(position(secrets) + "'secrets' must be a map from backend path to a list of versions");
            }
            for (NodeTuple tuple : map.getValue()) {
                String path = key(tuple, "secrets");
                if (path.isBlank()) {
                    throw invalid(position(tuple.getKeyNode()) + "a backend path under 'secrets' is empty");
                }
                if (paths.containsKey(path)) {
                    throw invalid(position(tuple.getKeyNode()) + "path '" + path + "' appears twice under 'secrets'");
                }
                boolean capture = path.equals(wanted);
                Entry entry = entry(path, tuple.getValueNode(), capture);
                paths.put(path, entry.info());
                if (capture) {
                    secret = entry.secret();
                }
            }
            return new Parsed(Map.copyOf(paths), secret);
        } catch (InvalidFileException | RuntimeException ex) {
            if (secret != null) {
                secret.wipe();
            }
            throw ex;
        }
    }

    private record Entry(PathInfo info, BackendSecret secret) {
    }

    private Entry entry(String path, Node node, boolean capture) throws InvalidFileException {
        if (!(node instanceof SequenceNode list) || list.getValue().isEmpty()) {
            throw invalid(position(node) + "secrets." + path + " must be a non-empty list of versions, oldest first, "
                    + "each with version, value and createdAt");
        }
        List<Node> items = list.getValue();
        List<VersionInfo> versions = new ArrayList<>(items.size());
        Set<String> seen = new HashSet<>();
        BackendVersion current = null;
        BackendVersion previous = null;
        Mac mac = markerMac;
        mac.reset();
        update(mac, path);
        try {
            for (int i = 0; i < items.size(); i++) {
                Node item = items.get(i);
                String where = "secrets." + path + "[" + i + "]";
                if (!(item instanceof MappingNode version)) {
                    throw invalid(position(item) + where + " must be a map with version, value and createdAt");
                }
                Map<String, ScalarNode> fields = new LinkedHashMap<>();
                for (NodeTuple tuple : version.getValue()) {
                    String key = key(tuple, where);
                    if (!VERSION_KEYS.contains(key)) {
                        throw invalid(position(tuple.getKeyNode()) + where + " has a key other than version, "
                                + "value and createdAt (check the indentation)");
                    }
                    if (fields.containsKey(key)) {
                        throw invalid(position(tuple.getKeyNode()) + where + " has two '" + key + "' keys");
                    }
                    if (!(tuple.getValueNode() instanceof ScalarNode scalar) || SafeYaml.isNull(scalar)) {
                        throw invalid(position(tuple.getValueNode()) + where + "." + key + " must be a plain string"
                                + ("value".equals(key) ? " (write a JSON value as a quoted string)" : ""));
                    }
                    fields.put(key, scalar);
                }
                for (String required : List.of("version", "value", "createdAt")) {
                    if (!fields.containsKey(required)) {
                        throw invalid(position(item) + where + " has no " + required
                                + "; each version needs version, value and createdAt");
                    }
                }
                String id = fields.get("version").getValue();
                if (id.isBlank()) {
                    throw invalid(position(fields.get("version")) + where + ".version is empty");
                }
                if (!seen.add(id)) {
                    throw invalid(position(fields.get("version")) + where + ": version '" + id
                            + "' appears twice for " + path + "; version ids must be unique");
                }
                Instant createdAt = instant(fields.get("createdAt"), where);
                // The String below is the parser's; it is turned into bytes at once and not kept.
                byte[] value = fields.get("value").getValue().getBytes(StandardCharsets.UTF_8);
                if (value.length == 0) {
                    throw invalid(position(fields.get("value")) + where + ".value is empty");
                }
                update(mac, id);
                update(mac, createdAt.toString());
                mac.update(value);
                versions.add(new VersionInfo(id, createdAt));
                boolean keep = capture && i >= items.size() - 2;
                if (keep) {
                    BackendVersion kept = new BackendVersion(id, createdAt, SecretValue.adopt(value));
                    if (i == items.size() - 1) {
                        current = kept;
                    } else {
                        previous = kept;
                    }
                } else {
                    Arrays.fill(value, (byte) 0);
                }
            }
        } catch (InvalidFileException | RuntimeException ex) {
            wipe(current, previous);
            throw ex;
        }
        ChangeMarker marker = new ChangeMarker("file:" + Base64.getUrlEncoder().withoutPadding()
                .encodeToString(Arrays.copyOf(mac.doFinal(), 18)));
        PathInfo info = new PathInfo(List.copyOf(versions), marker);
        return new Entry(info, capture ? new BackendSecret(current, previous, marker) : null);
    }

    private static void wipe(BackendVersion... versions) {
        for (BackendVersion version : versions) {
            if (version != null) {
                version.wipe();
            }
        }
    }

    private Instant instant(ScalarNode node, String where) throws InvalidFileException {
        try {
            return OffsetDateTime.parse(node.getValue()).toInstant();
        } catch (DateTimeParseException ex) {
            // The text is not echoed: a misplaced line could put a value here.
            throw invalid(position(node) + where + ".createdAt is not a timestamp with an offset such as "
                    + "2026-11-20T10:00:00Z");
        }
    }

    /** Length-prefixed, so that different tuples of fields never hash alike. */
    private static void update(Mac mac, String text) {
        byte[] bytes = text.getBytes(StandardCharsets.UTF_8);
        mac.update(ByteBuffer.allocate(4).putInt(bytes.length).array());
        mac.update(bytes);
    }

    private String key(NodeTuple tuple, String where) throws InvalidFileException {
        if (!(tuple.getKeyNode() instanceof ScalarNode scalar)) {
            throw invalid(position(tuple.getKeyNode()) + "a key in " + where + " must be a plain string");
        }
        return scalar.getValue();
    }

    private static String position(Node node) {
        return position(node.getStartMark());
    }

    private static String position(Mark mark) {
        return mark == null ? "" : "line " + (mark.getLine() + 1) + ": ";
    }

    private InvalidFileException invalid(String problem) {
        String text = problem.startsWith("line ") ? problem : "the file " + problem;
        return new InvalidFileException(file + ": " + text);
    }
}
