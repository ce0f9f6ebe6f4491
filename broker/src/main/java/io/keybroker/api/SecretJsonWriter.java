package io.keybroker.api;

import java.nio.charset.StandardCharsets;
import java.util.Arrays;

/**
 * Builds a JSON document straight from plaintext bytes into a byte array the caller owns and wipes, so a
 * secret value is never turned into a {@code String} and never passes through a pooled buffer of a JSON
 * library. Only what the responses need: objects, string members, escaping.
 */
final class SecretJsonWriter {

    private static final byte[] HEX = "0123456789abcdef".getBytes(StandardCharsets.US_ASCII);

    private byte[] buffer;
    private int length;
    private boolean needComma;

    SecretJsonWriter(int initialCapacity) {
        buffer = new byte[Math.max(64, initialCapacity)];
    }

    SecretJsonWriter beginObject() {
        comma();
        put((byte) '{');
        needComma = false;
        return this;
    }

    SecretJsonWriter beginObject(String name) {
        name(name);
        put((byte) '{');
        needComma = false;
        return this;
    }

    SecretJsonWriter endObject() {
        put((byte) '}');
        needComma = true;
        return this;
    }

    SecretJsonWriter beginArray(String name) {
        name(name);
        put((byte) '[');
        needComma = false;
        return this;
    }

    SecretJsonWriter endArray() {
        put((byte) ']');
        needComma = true;
        return this;
    }

    SecretJsonWriter string(String name, String value) {
        name(name);
        if (value == null) {
            putAscii("null");
        } else {
            quoted(value.getBytes(StandardCharsets.UTF_8));
        }
        needComma = true;
        return this;
    }

    /** A string member whose value is given as UTF-8 bytes; the bytes are escaped into the buffer. */
    SecretJsonWriter bytes(String name, byte[] utf8) {
        name(name);
        quoted(utf8);
        needComma = true;
        return this;
    }

    SecretJsonWriter nullValue(String name) {
        name(name);
        putAscii("null");
        needComma = true;
        return this;
    }

    SecretJsonWriter stringArray(String name, java.util.List<String> values) {
        beginArray(name);
        for (String value : values) {
            comma();
            quoted(value.getBytes(StandardCharsets.UTF_8));
            needComma = true;
        }
        return endArray();
    }

    /** A raw JSON number, written as given (callers pass only numbers they formatted). */
    SecretJsonWriter rawNumber(String name, String number) {
        name(name);
        putAscii(number);
        needComma = true;
        return this;
    }

    SecretJsonWriter number(String name, long value) {
        name(name);
        putAscii(Long.toString(value));
        needComma = true;
        return this;
    }

    /** The document; the array belongs to the caller, who wipes it after writing it out. */
    byte[] toByteArray() {
        byte[] out = Arrays.copyOf(buffer, length);
        wipe();
        return out;
    }

    /** Wipes the working buffer. */
    void wipe() {
        Arrays.fill(buffer, (byte) 0);
        length = 0;
    }

    private void name(String name) {
        comma();
        quoted(name.getBytes(StandardCharsets.UTF_8));
        put((byte) ':');
    }

    private void comma() {
        if (needComma) {
            put((byte) ',');
        }
    }

    private void quoted(byte[] utf8) {
        put((byte) '"');
        for (byte b : utf8) {
            int c = b & 0xff;
            if (c == '"' || c == '\\') {
                put((byte) '\\');
                put(b);
            } else if (c < 0x20 || c == 0x7f) {
                put((byte) '\\');
                put((byte) 'u');
                put((byte) '0');
                put((byte) '0');
                put(HEX[c >> 4]);
                put(HEX[c & 0xf]);
            } else {
                put(b);
            }
        }
        put((byte) '"');
    }

    private void putAscii(String s) {
        for (int i = 0; i < s.length(); i++) {
            put((byte) s.charAt(i));
        }
    }

    private void put(byte b) {
        if (length == buffer.length) {
            byte[] bigger = Arrays.copyOf(buffer, buffer.length * 2);
            // The old array may hold plaintext already: wipe it before it becomes garbage.
            Arrays.fill(buffer, (byte) 0);
            buffer = bigger;
        }
        buffer[length++] = b;
    }
}
