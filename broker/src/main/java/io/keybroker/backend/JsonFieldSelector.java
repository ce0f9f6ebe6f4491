package io.keybroker.backend;

import io.keybroker.secret.SecretValue;
import java.nio.ByteBuffer;
import java.nio.CharBuffer;
import java.nio.charset.CharacterCodingException;
import java.nio.charset.CharsetEncoder;
import java.nio.charset.CoderResult;
import java.nio.charset.CodingErrorAction;
import java.nio.charset.StandardCharsets;
import java.util.Arrays;
import tools.jackson.core.JacksonException;
import tools.jackson.core.JsonParser;
import tools.jackson.core.JsonToken;
import tools.jackson.core.StreamReadFeature;
import tools.jackson.core.json.JsonFactory;
import tools.jackson.core.util.JsonRecyclerPools;
import tools.jackson.databind.json.JsonMapper;

/**
 * Picks one top-level field out of a value that is a JSON object, for a mapping with {@code field}.
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
     * The field's value as UTF-8 bytes. {@code json} is not modified; the caller wipes it.
     *
     * @throws SecretFormatException naming the location, version and field (never the value) when the value is
     *     not a JSON object, has no such field, or the field is not a string, number or boolean
     */
    public SecretValue select(byte[] json, BackendLocation location, String version) {
        String field = location.field();
        try (JsonParser parser = mapper.createParser(json)) {
            if (parser.nextToken() != JsonToken.START_OBJECT) {
                throw notAnObject(location, version);
            }
            SecretValue found = null;
            try {
                for (JsonToken token = parser.nextToken(); token == JsonToken.PROPERTY_NAME;
                        token = parser.nextToken()) {
                    String name = parser.currentName();
                    JsonToken value = parser.nextToken();
                    if (!field.equals(name)) {
                        parser.skipChildren();
                        continue;
                    }
                    if (value == JsonToken.VALUE_STRING || value == JsonToken.VALUE_NUMBER_INT
                            || value == JsonToken.VALUE_NUMBER_FLOAT || value == JsonToken.VALUE_TRUE
                            || value == JsonToken.VALUE_FALSE) {
                        char[] chars = parser.getStringCharacters();
                        int offset = parser.getStringOffset();
                        int length = parser.getStringLength();
                        found = encode(chars, offset, length);
                        if (value == JsonToken.VALUE_STRING) {
                            // The parser's own text buffer; for other tokens this may be a shared constant.
                            Arrays.fill(chars, offset, offset + length, '\0');
                        }
                    } else {
                        throw new SecretFormatException("field '" + field + "' of version " + version + " at "
                                + location + " is " + describe(value) + ", not a string; point the mapping's "
                                + "field at a string member");
                    }
                }
                // Read to the end so that trailing garbage or a duplicate key after the field is refused too.
                if (parser.nextToken() != null) {
                    throw notAnObject(location, version);
                }
            } catch (RuntimeException ex) {
                if (found != null) {
                    found.wipe();
                }
                throw ex;
            }
            if (found == null) {
                throw new SecretFormatException("version " + version + " at " + location + " is a JSON object "
                        + "without the field '" + field + "'; add it to the stored value or fix the field in "
                        + "keybroker.mappings");
            }
            return found;
        } catch (JacksonException ex) {
            throw new SecretFormatException("version " + version + " at " + location + " is not valid JSON ("
                    + ex.getClass().getSimpleName() + "), but keybroker.mappings asks for its field '" + field
                    + "'; store a JSON object or remove the field from the mapping");
        }
    }

    private static SecretFormatException notAnObject(BackendLocation location, String version) {
        return new SecretFormatException("version " + version + " at " + location + " is not a JSON object, but "
                + "keybroker.mappings asks for its field '" + location.field() + "'; store a JSON object or remove "
                + "the field from the mapping");
    }

    private static String describe(JsonToken token) {
        return switch (token) {
            case START_OBJECT -> "an object";
            case START_ARRAY -> "an array";
            case VALUE_NULL -> "null";
            default -> "not a scalar";
        };
    }

    private static SecretValue encode(char[] chars, int offset, int length) {
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
            throw new SecretFormatException("a JSON field holds text that is not valid Unicode");
        } finally {
            Arrays.fill(out.array(), (byte) 0);
        }
    }
}
