package io.keybroker.backend.vault;

import io.keybroker.backend.SecretFormatException;
import io.keybroker.secret.SecretName;
import io.keybroker.secret.SecretValue;
import java.nio.ByteBuffer;
import java.nio.CharBuffer;
import java.nio.charset.CharacterCodingException;
import java.nio.charset.CharsetEncoder;
import java.nio.charset.CodingErrorAction;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import org.jspecify.annotations.Nullable;
import tools.jackson.core.JacksonException;
import tools.jackson.core.JsonParser;
import tools.jackson.core.JsonToken;
import tools.jackson.core.ObjectReadContext;
import tools.jackson.core.json.JsonFactory;
import tools.jackson.core.util.JsonRecyclerPools;
import tools.jackson.databind.JsonNode;
import tools.jackson.databind.json.JsonMapper;

/**
 * The JSON of Vault answers and requests that carry values, handled without ever making a {@code String} of a
 * value: a field is streamed out of the raw answer bytes into a {@code byte[]}, and a write body is built byte
 * by byte. The parser does not recycle its buffers (a recycled buffer would keep plaintext reachable for the
 * next parse), and the character buffer holding a decoded value is zeroed after it was encoded.
 */
final class KvJson {

    private static final JsonFactory STREAMING = JsonFactory.builder()
            .recyclerPool(JsonRecyclerPools.nonRecyclingPool())
            .build();
    private static final JsonMapper TREE = JsonMapper.builder().build();
    private static final byte[] HEX = "0123456789abcdef".getBytes(StandardCharsets.US_ASCII);

    private KvJson() {
    }

    /**
     * Picks one field out of the answer of {@code GET <kv-mount>/data/<path>?version=N}.
     *
     * @param body the raw answer; the caller wipes it
     * @param field the field of {@code data.data} to return
     * @param where the location for error messages (backend path and version, never a value)
     * @return the field's UTF-8 bytes, or {@code null} when {@code data.data} is {@code null} (the version was
     *     deleted or destroyed after the metadata was read)
     * @throws SecretFormatException when the field is missing or not a string
     * @throws IllegalArgumentException when the answer is not a KV v2 data answer
     */
    static @Nullable SecretValue field(byte[] body, String field, String where) {
        try (JsonParser parser = STREAMING.createParser(ObjectReadContext.empty(), body, 0, body.length)) {
            if (parser.nextToken() != JsonToken.START_OBJECT || !seek(parser, "data")
                    || parser.nextToken() != JsonToken.START_OBJECT || !seek(parser, "data")) {
                throw new IllegalArgumentException("the data answer has no data.data (is the mount a KV version 2 "
                        + "engine?)");
            }
            JsonToken data = parser.nextToken();
            if (data == JsonToken.VALUE_NULL) {
                return null;
            }
            if (data != JsonToken.START_OBJECT) {
                throw new IllegalArgumentException("the data answer's data.data is not an object");
            }
            List<String> seen = new ArrayList<>();
            while (parser.nextToken() == JsonToken.PROPERTY_NAME) {
                String name = parser.currentName();
                JsonToken value = parser.nextToken();
                if (name.equals(field)) {
                    if (value != JsonToken.VALUE_STRING) {
                        throw new SecretFormatException("the vault secret " + where + " has a field '"
                                + SecretName.printable(field) + "' that is " + describe(value) + ", not a string; "
                                + "store the value as a string (e.g. bao kv put <path> " + SecretName.printable(field)
                                + "=...)");
                    }
                    return SecretValue.adopt(utf8(parser, where));
                }
                if (seen.size() < 10) {
                    seen.add(SecretName.printable(name));
                }
                parser.skipChildren();
            }
            throw new SecretFormatException("the vault secret " + where + " has no field '"
                    + SecretName.printable(field) + "' (its fields: "
                    + (seen.isEmpty() ? "none" : String.join(", ", seen))
                    + "); write the value under '" + SecretName.printable(field) + "' or set the mapping's field "
                    + "(keybroker.mappings[i].field)");
        } catch (JacksonException ex) {
            throw new IllegalArgumentException("the data answer is not valid JSON");
        }
    }

    /** The {@code errors} Vault lists in an error answer, for a message; empty when there are none. */
    static String errors(byte[] body) {
        if (body.length == 0) {
            return "";
        }
        try {
            JsonNode errors = TREE.readTree(body).path("errors");
            List<String> texts = new ArrayList<>();
            for (JsonNode error : errors) {
                if (error.isString() && !error.asString().isBlank()) {
                    texts.add(printable(error.asString(), 160));
                }
            }
            return String.join("; ", texts);
        } catch (JacksonException ex) {
            return "";
        }
    }

    /** A top-level number of {@code data} in a write answer ({@code data.version}), or -1. */
    static long dataNumber(byte[] body, String name) {
        try {
            JsonNode node = TREE.readTree(body).path("data").path(name);
            return node.isIntegralNumber() ? node.asLong() : -1;
        } catch (JacksonException ex) {
            return -1;
        }
    }

    /**
     * Builds {@code {"options":{"cas":N},"data":{name:value,...}}} straight into an array of the exact size,
     * which the caller wipes after the request was sent.
     *
     * @throws IllegalArgumentException when a value is not valid UTF-8 (Vault would silently replace the bad
     *     bytes, corrupting the secret)
     */
    static byte[] writeBody(long cas, Map<String, SecretValue> fields) {
        for (Map.Entry<String, SecretValue> entry : fields.entrySet()) {
            if (!isValidUtf8(entry.getValue().bytes())) {
                throw new IllegalArgumentException("the value for field '" + SecretName.printable(entry.getKey())
                        + "' is not valid UTF-8 text; Vault KV stores text");
            }
        }
        byte[] head = ("{\"options\":{\"cas\":" + cas + "},\"data\":{").getBytes(StandardCharsets.US_ASCII);
        int size = head.length + 2;
        for (Map.Entry<String, SecretValue> entry : fields.entrySet()) {
            size += quotedLength(entry.getKey().getBytes(StandardCharsets.UTF_8)) + 1
                    + quotedLength(entry.getValue().bytes()) + 1;
        }
        size -= fields.isEmpty() ? 0 : 1;
        byte[] out = new byte[size];
        System.arraycopy(head, 0, out, 0, head.length);
        int at = head.length;
        boolean first = true;
        for (Map.Entry<String, SecretValue> entry : fields.entrySet()) {
            if (!first) {
                out[at++] = ',';
            }
            first = false;
            at = quote(entry.getKey().getBytes(StandardCharsets.UTF_8), out, at);
            out[at++] = ':';
            at = quote(entry.getValue().bytes(), out, at);
        }
        out[at++] = '}';
        out[at++] = '}';
        if (at != out.length) {
            throw new IllegalStateException("write body size mismatch");
        }
        return out;
    }

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

    /** Encodes the parser's current string to UTF-8 and zeroes the characters it was decoded into. */
    private static byte[] utf8(JsonParser parser, String where) {
        char[] chars = parser.getStringCharacters();
        int offset = parser.getStringOffset();
        int length = parser.getStringLength();
        ByteBuffer scratch = ByteBuffer.allocate(length * 3);
        try {
            CharsetEncoder encoder = StandardCharsets.UTF_8.newEncoder()
                    .onMalformedInput(CodingErrorAction.REPORT)
                    .onUnmappableCharacter(CodingErrorAction.REPORT);
            encoder.reset();
            if (encoder.encode(CharBuffer.wrap(chars, offset, length), scratch, true).isError()
                    || encoder.flush(scratch).isError()) {
                throw new CharacterCodingException();
            }
            return Arrays.copyOf(scratch.array(), scratch.position());
        } catch (CharacterCodingException ex) {
            throw new SecretFormatException("the vault secret " + where + " holds a value that is not valid Unicode "
                    + "text (an unpaired surrogate escape); write it again");
        } finally {
            Arrays.fill(chars, offset, offset + length, '\0');
            Arrays.fill(scratch.array(), (byte) 0);
        }
    }

    private static String describe(JsonToken token) {
        return switch (token) {
            case START_OBJECT -> "an object";
            case START_ARRAY -> "an array";
            case VALUE_NUMBER_INT, VALUE_NUMBER_FLOAT -> "a number";
            case VALUE_TRUE, VALUE_FALSE -> "a boolean";
            case VALUE_NULL -> "null";
            default -> "not a string";
        };
    }

    private static int quotedLength(byte[] utf8) {
        int length = 2;
        for (byte b : utf8) {
            length += b == '"' || b == '\\' ? 2 : (b >= 0 && b < 0x20) ? 6 : 1;
        }
        return length;
    }

    private static int quote(byte[] utf8, byte[] out, int at) {
        out[at++] = '"';
        for (byte b : utf8) {
            if (b == '"' || b == '\\') {
                out[at++] = '\\';
                out[at++] = b;
            } else if (b >= 0 && b < 0x20) {
                out[at++] = '\\';
                out[at++] = 'u';
                out[at++] = '0';
                out[at++] = '0';
                out[at++] = HEX[b >> 4];
                out[at++] = HEX[b & 0xf];
            } else {
                out[at++] = b;
            }
        }
        out[at++] = '"';
        return at;
    }

    static boolean isValidUtf8(byte[] bytes) {
        int i = 0;
        while (i < bytes.length) {
            int lead = bytes[i] & 0xff;
            if (lead < 0x80) {
                i++;
                continue;
            }
            int continuation;
            int min;
            if (lead >= 0xc2 && lead <= 0xdf) {
                continuation = 1;
                min = 0x80;
            } else if (lead >= 0xe0 && lead <= 0xef) {
                continuation = 2;
                min = 0x800;
            } else if (lead >= 0xf0 && lead <= 0xf4) {
                continuation = 3;
                min = 0x10000;
            } else {
                return false;
            }
            int codePoint = lead & (0x3f >> continuation);
            for (int k = 1; k <= continuation; k++) {
                if (i + k >= bytes.length || (bytes[i + k] & 0xc0) != 0x80) {
                    return false;
                }
                codePoint = (codePoint << 6) | (bytes[i + k] & 0x3f);
            }
            if (codePoint < min || codePoint > 0x10ffff || (codePoint >= 0xd800 && codePoint <= 0xdfff)) {
                return false;
            }
            i += continuation + 1;
        }
        return true;
    }

    private static String printable(String text, int max) {
        StringBuilder out = new StringBuilder();
        for (int i = 0; i < text.length() && out.length() < max; i++) {
            char c = text.charAt(i);
            out.append(c >= 0x20 && c < 0x7f ? c : ' ');
        }
        return out.toString().trim();
    }
}
