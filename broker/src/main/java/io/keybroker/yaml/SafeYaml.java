package io.keybroker.yaml;

import io.keybroker.secret.SecretName;
import java.io.CharArrayReader;
import java.nio.ByteBuffer;
import java.nio.CharBuffer;
import java.nio.charset.CharacterCodingException;
import java.nio.charset.CharsetDecoder;
import java.nio.charset.CoderResult;
import java.nio.charset.CodingErrorAction;
import java.nio.charset.StandardCharsets;
import java.util.Arrays;
import org.jspecify.annotations.Nullable;
import org.yaml.snakeyaml.DumperOptions;
import org.yaml.snakeyaml.LoaderOptions;
import org.yaml.snakeyaml.Yaml;
import org.yaml.snakeyaml.error.Mark;
import org.yaml.snakeyaml.events.Event;
import org.yaml.snakeyaml.nodes.MappingNode;
import org.yaml.snakeyaml.nodes.Node;
import org.yaml.snakeyaml.nodes.ScalarNode;
import org.yaml.snakeyaml.nodes.SequenceNode;
import org.yaml.snakeyaml.nodes.Tag;

/**
 * Reads YAML that a person wrote into SnakeYAML's node tree, never into objects: no tag can name a class (global
 * tags are refused), and every value is checked by the caller against what it expects, with the line it came from.
 *
 * <p>Limits hold for every input: at most {@link Limits#maxCodePoints} code points (the caller also bounds the
 * bytes), at most {@link Limits#maxAliases} aliases to collections (0 for none, against "billion laughs"), nesting
 * at most {@link Limits#nestingDepth} deep, no recursive keys. Duplicate keys stay in the tree (SnakeYAML refuses
 * them only when it builds objects, which this never does): each parser reports them itself, with both lines.
 */
public final class SafeYaml {

    /**
     * What one kind of file may hold.
     *
     * @param maxCodePoints the most code points a document may have
     * @param maxAliases the most aliases to collections; 0 refuses them all
     * @param nestingDepth the deepest nesting of collections
     */
    public record Limits(int maxCodePoints, int maxAliases, int nestingDepth) {

        public Limits {
            if (maxCodePoints <= 0 || maxAliases < 0 || nestingDepth <= 0) {
                throw new IllegalArgumentException("limits must be positive (aliases: zero or more)");
            }
        }
    }

    private final Limits limits;

    public SafeYaml(Limits limits) {
        this.limits = limits;
    }

    /**
     * Decodes strict UTF-8 (malformed or unmappable input is an error, not a replacement character) into a
     * new array the caller owns and wipes; the decoder's own buffer is wiped here, for files that hold secrets.
     * @throws CharacterCodingException when the bytes are not UTF-8
     */
    public static char[] decodeUtf8(byte[] content) throws CharacterCodingException {
        CharsetDecoder decoder = StandardCharsets.UTF_8.newDecoder()
                .onMalformedInput(CodingErrorAction.REPORT)
                .onUnmappableCharacter(CodingErrorAction.REPORT);
        CharBuffer buffer = CharBuffer.allocate((int) (content.length * (double) decoder.maxCharsPerByte()) + 1);
        try {
            CoderResult decoded = decoder.decode(ByteBuffer.wrap(content), buffer, true);
            CoderResult flushed = decoded.isUnderflow() ? decoder.flush(buffer) : decoded;
            if (!flushed.isUnderflow()) {
                flushed.throwException();
            }
            return Arrays.copyOf(buffer.array(), buffer.position());
        } finally {
            Arrays.fill(buffer.array(), '\0');
        }
    }

    /**
     * The parse events of every document in {@code text}, for checks that must run before a tree is built
     * (aliases refused outright, the number of documents).
     * @throws org.yaml.snakeyaml.error.YAMLException on malformed YAML
     */
    public Iterable<Event> events(char[] text) {
        return yaml().parse(new CharArrayReader(text));
    }

    /**
     * The node tree of the one document in {@code text}, or {@code null} when it is empty.
     * @throws org.yaml.snakeyaml.error.YAMLException on malformed YAML, a broken limit, or a duplicate key
     */
    public @Nullable Node compose(char[] text) {
        return yaml().compose(new CharArrayReader(text));
    }

    private Yaml yaml() {
        LoaderOptions options = new LoaderOptions();
        options.setAllowDuplicateKeys(false);
        options.setAllowRecursiveKeys(false);
        options.setMaxAliasesForCollections(limits.maxAliases());
        options.setNestingDepthLimit(limits.nestingDepth());
        options.setCodePointLimit(limits.maxCodePoints());
        options.setProcessComments(false);
        return new Yaml(options);
    }

    /** The 1-based line of a position, or 0 when SnakeYAML gave none. */
    public static int line(@Nullable Mark mark) {
        return mark == null ? 0 : mark.getLine() + 1;
    }

    /** The 1-based line where a node starts, or 0 when unknown. */
    public static int line(Node node) {
        return line(node.getStartMark());
    }

    /** Whether a scalar is YAML's null: {@code null}, {@code ~}, or nothing at all after the colon. */
    public static boolean isNull(ScalarNode scalar) {
        return scalar.getTag().getValue().endsWith(":null") || scalar.getValue().isEmpty()
                && scalar.getScalarStyle() == DumperOptions.ScalarStyle.PLAIN;
    }

    /** What a node is, in words for a message ("a list", "a number", ...); never its content. */
    public static String describe(Node node) {
        if (node instanceof MappingNode) {
            return Tag.MAP.equals(node.getTag()) ? "a mapping" : "a mapping tagged " + node.getTag();
        }
        if (node instanceof SequenceNode) {
            return Tag.SEQ.equals(node.getTag()) ? "a list" : "a list tagged " + node.getTag();
        }
        Tag tag = node.getTag();
        if (Tag.NULL.equals(tag)) {
            return "nothing (an empty value)";
        }
        if (Tag.BOOL.equals(tag)) {
            return "a boolean";
        }
        if (Tag.INT.equals(tag) || Tag.FLOAT.equals(tag)) {
            return "a number";
        }
        if (Tag.TIMESTAMP.equals(tag)) {
            return "a timestamp";
        }
        if (Tag.STR.equals(tag)) {
            return "text";
        }
        return "a value with the YAML tag " + SecretName.printable(tag.getValue()) + " (tags are not allowed)";
    }

    /**
     * SnakeYAML's messages quote the offending character as it is, a line break or control character included
     * (found by fuzzing the policy parser: "expected URI, but found \n"); errors go to logs, the audit log and the
     * terminal, so such characters are replaced and the text is bounded.
     */
    public static String printableMessage(String message) {
        StringBuilder out = new StringBuilder();
        for (int i = 0; i < message.length() && out.length() < 300; i++) {
            char c = message.charAt(i);
            out.append(c < 0x20 || (c >= 0x7f && c < 0xa0) || c == '\u2028' || c == '\u2029' ? '?' : c);
        }
        return out.toString();
    }
}
