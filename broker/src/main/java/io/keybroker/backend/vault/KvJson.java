package io.keybroker.backend.vault;

import io.keybroker.backend.JsonFieldSelector;
import io.keybroker.backend.SecretFormatException;
import io.keybroker.secret.SecretName;
import io.keybroker.secret.SecretValue;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.jspecify.annotations.Nullable;
import tools.jackson.core.JacksonException;
import tools.jackson.databind.JsonNode;
import tools.jackson.databind.json.JsonMapper;

/**
 * The JSON of Vault answers and requests that carry values, handled without ever making a {@code String} of a
 * value: a field is streamed out of the raw answer bytes into a {@code byte[]}, and a write body is built byte
 * by byte. The parser does not recycle its buffers (a recycled buffer would keep plaintext reachable for the
 * next parse), and the character buffer holding a decoded value is zeroed after it was encoded.
 */
final class KvJson {

    private static final JsonMapper TREE = JsonMapper.builder().build();
    /** Immutable and thread-safe: the same selector as the file and AWS backends. */
    private static final JsonFieldSelector FIELDS = new JsonFieldSelector();
    /** Where a KV version 2 data answer keeps the secret's fields. */
    private static final List<String> DATA = List.of("data", "data");
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
     * @throws SecretFormatException as {@link JsonFieldSelector#select}: the field is missing, or not a string,
     *     number or boolean, or a key is repeated
     * @throws IllegalArgumentException when the answer is not a KV v2 data answer
     */
    static @Nullable SecretValue field(byte[] body, String field, String where) {
        return FIELDS.selectNested(body, DATA, field, "the vault secret " + where);
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

    /**
     * The {@code data.keys} of a list answer: names of secrets, and of folders ending in {@code /}. They are
     * paths, not values, so a tree is fine here.
     *
     * @throws IllegalArgumentException when the answer has no list of keys
     */
    static List<String> listKeys(byte[] body) {
        try {
            JsonNode keys = TREE.readTree(body).path("data").path("keys");
            if (!keys.isArray()) {
                throw new IllegalArgumentException("the list answer has no data.keys array");
            }
            List<String> names = new ArrayList<>();
            for (JsonNode key : keys) {
                if (key.isString()) {
                    names.add(key.asString());
                }
            }
            return names;
        } catch (JacksonException ex) {
            throw new IllegalArgumentException("the list answer is not valid JSON");
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
