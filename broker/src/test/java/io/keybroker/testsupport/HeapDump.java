package io.keybroker.testsupport;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * A minimal reader of HPROF heap dumps ({@code jcmd PID GC.heap_dump}), enough to say whether a text occurs in a
 * dump and, when it does, which object holds it and who holds that object, up to a GC root.
 *
 * <p>The search runs over the raw bytes of the whole file, in every encoding the JVM may keep a text in: Latin-1
 * / UTF-8 (a compact {@code String}'s {@code byte[]}, any buffer), UTF-16 little-endian (a non-Latin-1
 * {@code String}'s {@code byte[]} on x86) and UTF-16 big-endian (a {@code char[]}, which HPROF writes as big-endian
 * {@code u2}). Only then is the file parsed, to explain each hit: the primitive array it lies in and the chain
 * of referrers (class and field names) that keeps that array alive. Nothing else of the format is interpreted.
 */
public final class HeapDump {

    private static final int STRING = 0x01;
    private static final int LOAD_CLASS = 0x02;
    private static final int HEAP_DUMP = 0x0C;
    private static final int HEAP_DUMP_SEGMENT = 0x1C;

    private static final int CLASS_DUMP = 0x20;
    private static final int INSTANCE_DUMP = 0x21;
    private static final int OBJ_ARRAY_DUMP = 0x22;
    private static final int PRIM_ARRAY_DUMP = 0x23;

    private static final Map<Integer, String> ROOTS = Map.of(0xFF, "unknown root", 0x01, "JNI global",
            0x02, "JNI local", 0x03, "Java frame", 0x04, "native stack", 0x05, "system class", 0x06, "thread block",
            0x07, "monitor", 0x08, "thread object");

    private final byte[] bytes;
    private final ByteBuffer buffer;
    private final int idSize;
    private final int firstRecord;

    private final Map<Long, String> strings = new HashMap<>();
    private final Map<Long, String> classNames = new HashMap<>();
    private final Map<Long, ClassInfo> classes = new HashMap<>();
    private final Map<Long, String> roots = new HashMap<>();
    /** Start offsets (in the file) of every instance and array record, with their ids, sorted by offset. */
    private long[] objectStarts = new long[1 << 16];
    private long[] objectIds = new long[1 << 16];
    private int objectCount;

    private record ClassInfo(long superId, List<Field> fields) {
    }

    private record StaticReference(long classId, String field, long value) {
    }

    private final List<StaticReference> statics = new ArrayList<>();

    private record Field(String name, int type) {
    }

    /** One occurrence of a text in the dump, explained. */
    public record Hit(String text, String encoding, long offset, String holder) {

        @Override
        public String toString() {
            return encoding + " at offset " + offset + " in " + holder;
        }
    }

    private HeapDump(byte[] bytes) {
        this.bytes = bytes;
        this.buffer = ByteBuffer.wrap(bytes);
        int zero = 0;
        while (bytes[zero] != 0) {
            zero++;
        }
        String header = new String(bytes, 0, zero, StandardCharsets.US_ASCII);
        if (!header.startsWith("JAVA PROFILE")) {
            throw new IllegalArgumentException("not an HPROF file: " + header);
        }
        this.idSize = buffer.getInt(zero + 1);
        this.firstRecord = zero + 1 + 4 + 8;
    }

    /** Reads a dump into memory (a live-object dump of a small service is tens of MB). */
    public static HeapDump read(Path file) throws IOException {
        return new HeapDump(Files.readAllBytes(file));
    }

    public long size() {
        return bytes.length;
    }

    /** The encodings a Java text can take in a heap dump, by name. */
    public static Map<String, byte[]> encodings(String text) {
        Map<String, byte[]> encodings = new LinkedHashMap<>();
        encodings.put("UTF-8", text.getBytes(StandardCharsets.UTF_8));
        byte[] latin1 = text.getBytes(StandardCharsets.ISO_8859_1);
        if (!Arrays.equals(latin1, encodings.get("UTF-8"))) {
            encodings.put("Latin-1", latin1);
        }
        encodings.put("UTF-16LE", text.getBytes(StandardCharsets.UTF_16LE));
        encodings.put("UTF-16BE", text.getBytes(StandardCharsets.UTF_16BE));
        return encodings;
    }

    /** Whether the raw dump holds {@code text} in any of its {@linkplain #encodings encodings}. */
    public boolean contains(String text) {
        return encodings(text).values().stream().anyMatch(needle -> indexOf(needle, 0) >= 0);
    }

    /**
     * Every occurrence of {@code text}; the first {@value #TRACED} with the object that holds each and that
     * object's referrers (tracing costs a pass over the dump per step, and a leak tends to repeat one chain).
     */
    public List<Hit> find(String text) {
        List<Hit> hits = new ArrayList<>();
        for (Map.Entry<String, byte[]> encoding : encodings(text).entrySet()) {
            for (int at = indexOf(encoding.getValue(), 0); at >= 0; at = indexOf(encoding.getValue(), at + 1)) {
                hits.add(new Hit(text, encoding.getKey(), at, hits.size() < TRACED ? explain(at) : "(not traced)"));
            }
        }
        return hits;
    }

    private static final int TRACED = 3;

    private int indexOf(byte[] needle, int from) {
        byte first = needle[0];
        int last = bytes.length - needle.length;
        outer:
        for (int i = from; i <= last; i++) {
            if (bytes[i] != first) {
                continue;
            }
            for (int j = 1; j < needle.length; j++) {
                if (bytes[i + j] != needle[j]) {
                    continue outer;
                }
            }
            return i;
        }
        return -1;
    }

    private boolean parsed;

    private void parse() {
        if (parsed) {
            return;
        }
        parsed = true;
        int at = firstRecord;
        while (at < bytes.length) {
            int tag = bytes[at] & 0xFF;
            long length = Integer.toUnsignedLong(buffer.getInt(at + 5));
            int body = at + 9;
            if (tag == STRING) {
                strings.put(id(body), new String(bytes, body + idSize, (int) length - idSize, StandardCharsets.UTF_8));
            } else if (tag == LOAD_CLASS) {
                classNames.put(id(body + 4), strings.getOrDefault(id(body + 8 + idSize), "?"));
            } else if (tag == HEAP_DUMP || tag == HEAP_DUMP_SEGMENT) {
                parseHeap(body, (int) (body + length));
            }
            at = (int) (body + length);
        }
    }

    private void parseHeap(int from, int to) {
        int at = from;
        while (at < to) {
            int tag = bytes[at] & 0xFF;
            int start = at;
            at++;
            switch (tag) {
                case 0xFF, 0x05, 0x07 -> {
                    roots.putIfAbsent(id(at), ROOTS.get(tag));
                    at += idSize;
                }
                case 0x01 -> {
                    roots.putIfAbsent(id(at), ROOTS.get(tag));
                    at += 2 * idSize;
                }
                case 0x02, 0x03, 0x08 -> {
                    roots.putIfAbsent(id(at), ROOTS.get(tag));
                    at += idSize + 8;
                }
                case 0x04, 0x06 -> {
                    roots.putIfAbsent(id(at), ROOTS.get(tag));
                    at += idSize + 4;
                }
                case CLASS_DUMP -> at = classDump(at);
                case INSTANCE_DUMP -> {
                    remember(start, id(at));
                    at += idSize + 4 + idSize;
                    at += 4 + buffer.getInt(at);
                }
                case OBJ_ARRAY_DUMP -> {
                    remember(start, id(at));
                    at += idSize + 4;
                    int count = buffer.getInt(at);
                    at += 4 + idSize + count * idSize;
                }
                case PRIM_ARRAY_DUMP -> {
                    remember(start, id(at));
                    at += idSize + 4;
                    int count = buffer.getInt(at);
                    int type = bytes[at + 4];
                    at += 5 + count * size(type);
                }
                default -> throw new IllegalStateException("unknown heap dump sub-record 0x"
                        + Integer.toHexString(tag) + " at " + start);
            }
        }
    }

    private int classDump(int at) {
        long classId = id(at);
        long superId = id(at + idSize + 4);
        at += idSize + 4 + 6 * idSize + 4;
        int constants = Short.toUnsignedInt(buffer.getShort(at));
        at += 2;
        for (int i = 0; i < constants; i++) {
            int type = bytes[at + 2];
            at += 3 + size(type);
        }
        int statics = Short.toUnsignedInt(buffer.getShort(at));
        at += 2;
        for (int i = 0; i < statics; i++) {
            int type = bytes[at + idSize];
            if (type == 2 && id(at + idSize + 1) != 0) {
                this.statics.add(new StaticReference(classId, strings.getOrDefault(id(at), "?"),
                        id(at + idSize + 1)));
            }
            at += idSize + 1 + size(type);
        }
        int fieldCount = Short.toUnsignedInt(buffer.getShort(at));
        at += 2;
        List<Field> fields = new ArrayList<>(fieldCount);
        for (int i = 0; i < fieldCount; i++) {
            fields.add(new Field(strings.getOrDefault(id(at), "?"), bytes[at + idSize]));
            at += idSize + 1;
        }
        classes.put(classId, new ClassInfo(superId, fields));
        return at;
    }

    private void remember(int start, long id) {
        if (objectCount == objectStarts.length) {
            objectStarts = Arrays.copyOf(objectStarts, objectCount * 2);
            objectIds = Arrays.copyOf(objectIds, objectCount * 2);
        }
        objectStarts[objectCount] = start;
        objectIds[objectCount++] = id;
    }

    private int size(int type) {
        return switch (type) {
            case 2 -> idSize;
            case 4, 8 -> 1;
            case 5, 9 -> 2;
            case 6, 10 -> 4;
            case 7, 11 -> 8;
            default -> throw new IllegalStateException("unknown basic type " + type);
        };
    }

    private long id(int at) {
        return idSize == 8 ? buffer.getLong(at) : Integer.toUnsignedLong(buffer.getInt(at));
    }

    /** The object whose record spans {@code offset}, described with the chain that holds it. */
    private String explain(int offset) {
        parse();
        int index = Arrays.binarySearch(objectStarts, 0, objectCount, offset);
        if (index < 0) {
            index = -index - 2;
        }
        if (index < 0 || !spans((int) objectStarts[index], offset)) {
            return "no heap object (HPROF metadata, e.g. a class or symbol name)";
        }
        long target = objectIds[index];
        StringBuilder chain = new StringBuilder(describe((int) objectStarts[index]));
        Set<Long> seen = new HashSet<>(Set.of(target));
        for (int depth = 0; depth < 12; depth++) {
            String root = roots.get(target);
            if (root != null) {
                chain.append(" <- GC root (").append(root).append(')');
                return chain.toString();
            }
            Referrer referrer = referrer(target, seen);
            if (referrer == null) {
                return chain.append(" <- (no referrer: unreachable, kept only in a dump with -all)").toString();
            }
            chain.append(" <- ").append(referrer.description());
            seen.add(referrer.id());
            target = referrer.id();
        }
        return chain.append(" <- ...").toString();
    }

    private boolean spans(int start, int offset) {
        int tag = bytes[start] & 0xFF;
        int at = start + 1 + idSize + 4;
        int end = switch (tag) {
            case INSTANCE_DUMP -> at + idSize + 4 + buffer.getInt(at + idSize);
            case OBJ_ARRAY_DUMP -> at + 4 + idSize + buffer.getInt(at) * idSize;
            case PRIM_ARRAY_DUMP -> at + 5 + buffer.getInt(at) * size(bytes[at + 4]);
            default -> start;
        };
        return offset < end;
    }

    private String describe(int start) {
        int tag = bytes[start] & 0xFF;
        int at = start + 1 + idSize + 4;
        return switch (tag) {
            case PRIM_ARRAY_DUMP -> primitiveName(bytes[at + 4]) + "[" + buffer.getInt(at) + "]";
            case OBJ_ARRAY_DUMP -> className(id(at + 4)).replaceFirst("\\[]$", "[" + buffer.getInt(at) + "]");
            default -> className(id(at));
        };
    }

    private record Referrer(long id, String description) {
    }

    /** A static field, else the first object (in dump order), that references {@code target}. */
    private Referrer referrer(long target, Set<Long> seen) {
        for (StaticReference reference : statics) {
            if (reference.value() == target && !seen.contains(reference.classId())) {
                return new Referrer(reference.classId(), "static " + className(reference.classId()) + "."
                        + reference.field());
            }
        }
        for (int i = 0; i < objectCount; i++) {
            int start = (int) objectStarts[i];
            long id = objectIds[i];
            if (seen.contains(id)) {
                continue;
            }
            int tag = bytes[start] & 0xFF;
            int at = start + 1 + idSize + 4;
            if (tag == OBJ_ARRAY_DUMP) {
                int count = buffer.getInt(at);
                long arrayClass = id(at + 4);
                int elements = at + 4 + idSize;
                for (int e = 0; e < count; e++) {
                    if (id(elements + e * idSize) == target) {
                        return new Referrer(id, className(arrayClass) + "[" + e + "]");
                    }
                }
            } else if (tag == INSTANCE_DUMP) {
                long classId = id(at);
                int values = at + idSize + 4;
                String field = referencingField(classId, values, target);
                if (field != null) {
                    return new Referrer(id, className(classId) + "." + field);
                }
            }
        }
        return null;
    }

    private String referencingField(long classId, int values, long target) {
        int at = values;
        for (long c = classId; c != 0 && classes.containsKey(c); c = classes.get(c).superId()) {
            for (Field field : classes.get(c).fields()) {
                if (field.type() == 2 && id(at) == target) {
                    return field.name();
                }
                at += size(field.type());
            }
        }
        return null;
    }

    /** {@code java.util.HashMap}, {@code java.lang.Object[]}, {@code byte[][]}. */
    private String className(long classId) {
        String name = classNames.getOrDefault(classId, "class@" + Long.toHexString(classId)).replace('/', '.');
        int dimensions = 0;
        while (dimensions < name.length() && name.charAt(dimensions) == '[') {
            dimensions++;
        }
        if (dimensions == 0) {
            return name;
        }
        String element = name.substring(dimensions);
        element = element.startsWith("L") && element.endsWith(";") ? element.substring(1, element.length() - 1)
                : switch (element) {
                    case "Z" -> "boolean";
                    case "C" -> "char";
                    case "F" -> "float";
                    case "D" -> "double";
                    case "B" -> "byte";
                    case "S" -> "short";
                    case "I" -> "int";
                    case "J" -> "long";
                    default -> element;
                };
        return element + "[]".repeat(dimensions);
    }

    private static String primitiveName(int type) {
        return switch (type) {
            case 4 -> "boolean";
            case 5 -> "char";
            case 6 -> "float";
            case 7 -> "double";
            case 8 -> "byte";
            case 9 -> "short";
            case 10 -> "int";
            case 11 -> "long";
            default -> "?";
        };
    }
}
