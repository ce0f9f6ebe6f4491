package io.keybroker.backend;

import io.keybroker.secret.SecretValue;
import java.nio.ByteBuffer;
import java.nio.CharBuffer;
import java.nio.charset.CharacterCodingException;
import java.nio.charset.CharsetEncoder;
import java.nio.charset.CoderResult;
import java.nio.charset.CodingErrorAction;
import java.nio.charset.StandardCharsets;
import io.keybroker.secret.SecretName;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import org.jspecify.annotations.Nullable;
import tools.jackson.core.JacksonException;
import tools.jackson.core.JsonParser;
import tools.jackson.core.JsonToken;
import tools.jackson.core.StreamReadFeature;
import tools.jackson.core.json.JsonFactory;
import tools.jackson.core.util.JsonRecyclerPools;
import tools.jackson.databind.json.JsonMapper;

/**
 * Picks one field out of a value that is a JSON object, for a mapping with {@code field}: the one selector of
 * every backend, so that a value means the same whichever store holds it (strings, numbers and booleans are
 * served, a repeated key is refused).
 *
 * <p>Streams the JSON with Jackson instead of building a tree: the selected field's characters are read from
 * the parser's buffer, encoded straight into bytes and then zeroed in that buffer, so no {@code String} of the
 * value is made. The parser gets fresh buffers ({@link JsonRecyclerPools#nonRecyclingPool()}) instead of
 * Jackson's default shared pool, which would keep buffers holding value characters alive for the next parse.
 * Jackson's error messages quote the input, so they are replaced by messages that name the location and field.
 */
public final class JsonFieldSelector {

    private final JsonMapper mapper = JsonMapper.builder(JsonFactory.builder()
                    .recyclerPool(JsonRecyclerPools.nonRecyclingPool())
                    .enable(StreamReadFeature.STRICT_DUPLICATE_DETECTION)
                    .disable(StreamReadFeature.INCLUDE_SOURCE_IN_LOCATION)
                    .build())
            .build();

    /**
     * The field's value as UTF-8 bytes, from a value that is one JSON object (file and AWS values). {@code json} is
     * not modified; the caller wipes it.
     *
     * @throws SecretFormatException naming the location, version and field (never the value) when the value is
     *     not one JSON object, repeats a key, has no such field, or the field is not a string, number or boolean
     */
    public SecretValue select(byte[] json, BackendLocation location, String version) {
        String field = location.field();
        String where = "version " + version + " at " + location;
        try (JsonParser parser = mapper.createParser(json)) {
            if (parser.nextToken() != JsonToken.START_OBJECT) {
                throw notAnObject(where, field);
            }
            SecretValue found = selectInObject(parser, field, where);
            try {
                // Read to the end so that trailing garbage after the object is refused too.
                if (parser.nextToken() != null) {
                    throw notAnObject(where, field);
                }
            } catch (RuntimeException ex) {
                found.wipe();
                throw ex;
            }
            return found;
        } catch (JacksonException ex) {
            throw new SecretFormatException(where + " is not valid JSON (" + ex.getClass().getSimpleName()
                    + "), but keybroker.mappings asks for its field '" + field + "'; store a JSON object or remove "
                    + "the field from the mapping");
        }
    }

    /**
     * The field's value as UTF-8 bytes, from the JSON object found under {@code objectPath} in an answer that
     * wraps it (a Vault KV version 2 data answer keeps it in {@code data.data}), with the same rules as
     * {@link #select}.
     *
     * @param where the location for messages (backend path and version, never a value)
     * @return {@code null} when the object is JSON {@code null} (Vault: the version was deleted meanwhile)
     * @throws SecretFormatException for a problem of the stored value, as {@link #select}
     * @throws IllegalArgumentException when the answer itself is not JSON or has no object under
     *     {@code objectPath}: an answer of another kind, not a problem of the value
     */
    public @Nullable SecretValue selectNested(byte[] json, List<String> objectPath, String field, String where) {
        String path = String.join(".", objectPath);
        try (JsonParser parser = mapper.createParser(json)) {
            JsonToken token = parser.nextToken();
            for (String name : objectPath) {
                if (token != JsonToken.START_OBJECT || !seek(parser, name)) {
                    throw new IllegalArgumentException("the answer has no " + path);
                }
                token = parser.nextToken();
            }
            if (token == JsonToken.VALUE_NULL) {
                return null;
            }
            if (token != JsonToken.START_OBJECT) {
                throw new IllegalArgumentException("the answer's " + path + " is not an object");
            }
            return selectInObject(parser, field, where);
        } catch (JacksonException ex) {
            throw new IllegalArgumentException("the answer is not valid JSON");
        }
    }

    /** Moves past properties until {@code name}; false at the end of the object. */
    private static boolean seek(JsonParser parser, String name) {
        while (parser.nextToken() == JsonToken.PROPERTY_NAME) {
            if (name.equals(parser.currentName())) {
                return true;
            }
            parser.nextToken();
            parser.skipChildren();
        }
        return false;
    }

    /**
     * Reads the object the parser has just entered to its end and returns the field. Numbers and booleans are
     * served as their JSON text; a repeated key anywhere in the object is refused, since which of two values a
     * reader takes is up to the reader.
     */
    private SecretValue selectInObject(JsonParser parser, String field, String where) {
        SecretValue found = null;
        List<String> seen = new ArrayList<>();
        try {
            for (JsonToken token = parser.nextToken(); token == JsonToken.PROPERTY_NAME; token = parser.nextToken()) {
                String name = parser.currentName();
                JsonToken value = parser.nextToken();
                if (!field.equals(name)) {
                    if (seen.size() < 10) {
                        seen.add(SecretName.printable(name));
                    }
                    parser.skipChildren();
                    continue;
                }
                if (value == JsonToken.VALUE_STRING || value == JsonToken.VALUE_NUMBER_INT
                        || value == JsonToken.VALUE_NUMBER_FLOAT || value == JsonToken.VALUE_TRUE
                        || value == JsonToken.VALUE_FALSE) {
                    char[] chars = parser.getStringCharacters();
                    int offset = parser.getStringOffset();
                    int length = parser.getStringLength();
                    found = encode(chars, offset, length, where);
                    if (value == JsonToken.VALUE_STRING) {
                        // The parser's own text buffer; for other tokens this may be a shared constant.
                        Arrays.fill(chars, offset, offset + length, '\0');
                    }
                } else {
                    throw new SecretFormatException(where + " has a field '" + SecretName.printable(field)
                            + "' that is " + describe(value) + ", not a string, number or boolean; point the "
                            + "mapping's field (keybroker.mappings[i].field) at one");
                }
            }
        } catch (JacksonException ex) {
            if (found != null) {
                found.wipe();
            }
            throw new SecretFormatException(where + " is not one valid JSON object (" + ex.getClass().getSimpleName()
                    + (String.valueOf(ex.getOriginalMessage()).startsWith("Duplicate") ? ": a key is repeated" : "")
                    + "); store a JSON object with each key once");
        } catch (RuntimeException ex) {
            if (found != null) {
                found.wipe();
            }
            throw ex;
        }
        if (found == null) {
            throw new SecretFormatException(where + " has no field '" + SecretName.printable(field) + "' (its fields: "
                    + (seen.isEmpty() ? "none" : String.join(", ", seen)) + "); add it to the stored value or set the "
                    + "mapping's field (keybroker.mappings[i].field)");
        }
        return found;
    }

    private static SecretFormatException notAnObject(String where, String field) {
        return new SecretFormatException(where + " is not a JSON object, but keybroker.mappings asks for its field '"
                + SecretName.printable(field) + "'; store a JSON object or remove the field from the mapping");
    }

    private static String describe(JsonToken token) {
        return switch (token) {
            case START_OBJECT -> "an object";
            case START_ARRAY -> "an array";
            case VALUE_NULL -> "null";
            default -> "not a scalar";
        };
    }

    private static SecretValue encode(char[] chars, int offset, int length, String where) {
        CharsetEncoder encoder = StandardCharsets.UTF_8.newEncoder()
                .onMalformedInput(CodingErrorAction.REPORT)
                .onUnmappableCharacter(CodingErrorAction.REPORT);
        ByteBuffer out = ByteBuffer.allocate((int) (length * (double) encoder.maxBytesPerChar()));
        try {
            CoderResult encoded = encoder.encode(CharBuffer.wrap(chars, offset, length), out, true);
            CoderResult flushed = encoded.isUnderflow() ? encoder.flush(out) : encoded;
            if (!flushed.isUnderflow()) {
                flushed.throwException();
            }
            return SecretValue.copyOf(out.array(), 0, out.position());
        } catch (CharacterCodingException ex) {
            throw new SecretFormatException(where + " holds a field that is not valid Unicode text (an unpaired "
                    + "surrogate escape); write it again");
        } finally {
            Arrays.fill(out.array(), (byte) 0);
        }
    }
}
