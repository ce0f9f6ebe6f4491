package io.keybroker.audit;

import java.io.FileDescriptor;
import java.io.FileOutputStream;
import java.io.IOException;
import java.io.RandomAccessFile;
import java.io.UncheckedIOException;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.time.Clock;
import java.time.ZoneOffset;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.time.format.DateTimeFormatter;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.atomic.LongAdder;
import org.jspecify.annotations.Nullable;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import tools.jackson.core.JsonGenerator;
import tools.jackson.databind.json.JsonMapper;

/**
 * Writes the hash-chained audit trail ({@link AuditChain}) to a file, or to standard output when no file is
 * configured. Each line is written with one {@code write} call before the request is answered, so it reaches
 * the operating system at once; with {@code fsync} it also reaches the device.
 *
 * <p>On start it continues the chain of an existing file from its last line. A last line cut short by a crash
 * (no line break after it) never answered a request: it is cut off, and a {@code recovery} record in the chain
 * says how many bytes were removed and their SHA-256, so the chain continues and the cut is visible. A last
 * line that is complete but does not verify (tampering, or damage) is different: the file is set aside under a
 * timestamped name, untouched for {@code audit verify} to report on, an error is logged and a new chain starts.
 *
 * <p>All files of the trail together stay under {@code maxTotalSize}: after each rotation, and at start, the
 * oldest rotated files are deleted until the rotated files plus a full live file fit, and a {@code prune} record
 * names them with the {@code seq} and hash of the last line they held, so {@code audit verify} can tell a pruned
 * start from files deleted by hand.
 */
public final class ChainedAuditLog implements AuditLog, AutoCloseable {

    private static final Logger log = LoggerFactory.getLogger(ChainedAuditLog.class);
    /** Members the chain writes itself; a record's field of the same name is dropped, never allowed to shadow them. */
    private static final Set<String> HEAD_KEYS = Set.of("type", "seq", "prev", "hash");
    private static final DateTimeFormatter SUFFIX =
            DateTimeFormatter.ofPattern("yyyyMMdd'T'HHmmss.SSS'Z'").withZone(ZoneOffset.UTC);

    /** Room kept under max-total-size for the line that crosses max-file-size and the prune record after it. */
    private static final long SLACK = 16 * 1024;

    private final Path file;
    private final boolean fsync;
    private final long maxFileSize;
    private final long maxTotalSize;
    private final Clock clock;
    private final JsonMapper json = JsonMapper.builder().build();
    private final LongAdder prunedFiles = new LongAdder();
    private final LongAdder writeFailures = new LongAdder();
    /** Where each line is assembled; used only under this log's lock. */
    private byte[] line = new byte[1024];
    /** Hashes each line; used only under this log's lock. */
    private final MessageDigest digest = AuditChain.newDigest();

    /**
     * The live file, written through a stream rather than a {@code FileChannel}: a channel is interruptible and
     * closes itself for good when the writing thread is interrupted, and Reactor cancels work on another thread
     * by interrupting it, so one cancelled request could have left the trail unwritable (every request refused).
     * A stream's write ignores interrupts.
     */
    private FileOutputStream out;
    private long seq;
    private String prev;
    private long size;

    /** A trail without a limit on its total size. */
    public ChainedAuditLog(Path file, boolean fsync, long maxFileSize, Clock clock) {
        this(file, fsync, maxFileSize, Long.MAX_VALUE, clock);
    }

    /**
     * @param maxFileSize the live file is rotated when it reaches this size; capped at a quarter of
     *     {@code maxTotalSize}, so at least three rotated files are kept under the total
     * @param maxTotalSize all files of the trail together stay under this size ({@code Long.MAX_VALUE}: no limit)
     */
    public ChainedAuditLog(Path file, boolean fsync, long maxFileSize, long maxTotalSize, Clock clock) {
        if (maxTotalSize < 4 * SLACK) {
            throw new IllegalArgumentException("the audit trail's total size limit must be at least " + 4 * SLACK
                    + " bytes");
        }
        this.file = file;
        this.fsync = fsync;
        this.maxTotalSize = maxTotalSize;
        this.maxFileSize = Math.min(maxFileSize, maxTotalSize / 4);
        this.clock = clock;
        open();
    }

    private void open() {
        try {
            if (file == null) {
                out = new FileOutputStream(FileDescriptor.out);
                startChain(AuditChain.GENESIS, 0, "new trail on standard output");
                return;
            }
            Path parent = file.toAbsolutePath().getParent();
            if (parent != null) {
                Files.createDirectories(parent);
            }
            if (Files.exists(file) && Files.size(file) > 0) {
                continueExisting();
                prune();
                return;
            }
            out = new FileOutputStream(file.toFile(), true);
            startChain(AuditChain.GENESIS, 0, "new trail");
            prune();
        } catch (IOException ex) {
            throw new UncheckedIOException("cannot open the audit file " + file + " (keybroker.audit.file): "
                    + ex.getMessage() + "; make sure its directory exists and is writable by the broker", ex);
        }
    }

    /** Continues the chain of a non-empty live file; see the class comment for a torn or unverifiable end. */
    private void continueExisting() throws IOException {
        long length = Files.size(file);
        long end = length;
        String torn = null;
        long tornBytes = 0;
        String tornHash = null;
        if (lastByte(file, length) != '\n') {
            // A crash cut the last write short, or the line is whole but its line break is missing.
            long lineStart = lineStart(file, length);
            String fragment = readString(file, lineStart, length);
            if (fragment != null && AuditChain.check(fragment) != null) {
                end = length;
                torn = "\n";
            } else {
                end = lineStart;
                tornBytes = length - lineStart;
                tornHash = sha256Of(file, lineStart, length);
            }
        }
        String last = end == 0 ? null : lastLine(file, end);
        AuditChain.Link link = last == null ? null : AuditChain.check(last);
        if (link == null && end > 0) {
            Path aside = setAside();
            log.error("The audit file {} ends with a complete line that does not verify (edited or damaged); it was "
                    + "moved to {} for 'keybroker audit verify' and a new chain was started", file, aside);
            out = createNew(file);
            startChain(AuditChain.GENESIS, 0, "previous file " + aside.getFileName() + " ended unverifiable");
            return;
        }
        if (end < length) {
            try (FileChannel truncating = FileChannel.open(file, StandardOpenOption.WRITE)) {
                truncating.truncate(end);
            }
        }
        out = new FileOutputStream(file.toFile(), true);
        size = end;
        if ("\n".equals(torn)) {
            writeRaw("\n".getBytes(StandardCharsets.UTF_8));
        }
        if (link == null) {
            startChain(AuditChain.GENESIS, 0, "new trail; the file held only an unterminated first line");
        } else {
            seq = link.seq() + 1;
            prev = link.hash();
        }
        if (tornBytes > 0) {
            log.warn("The audit file {} ended with {} bytes of a line cut short (a crash during a write); they were "
                    + "removed and the chain continues from seq {} (recorded as a 'recovery' line)", file, tornBytes,
                    seq - 1);
            Map<String, Object> fields = new LinkedHashMap<>();
            fields.put("reason", "removed the unterminated end of the file, a line cut short by a crash");
            fields.put("removedBytes", tornBytes);
            fields.put("removedSha256", tornHash);
            event("recovery", fields);
        }
    }

    /**
     * Deletes the oldest rotated files until the rotated files and a full live file fit under max-total-size,
     * and records what it deleted. Runs after each rotation and at start.
     */
    private void prune() {
        if (file == null || maxTotalSize == Long.MAX_VALUE) {
            return;
        }
        List<Path> rotated = AuditFiles.rotated(file);
        long total = 0;
        for (Path p : rotated) {
            total += sizeOf(p);
        }
        long budget = maxTotalSize - maxFileSize - SLACK;
        List<String> removed = new ArrayList<>();
        String throughHash = null;
        long throughSeq = -1;
        long freed = 0;
        for (Path oldest : rotated) {
            if (total <= budget) {
                break;
            }
            long bytes = sizeOf(oldest);
            AuditChain.Link last = null;
            try {
                String line = lastLine(oldest, bytes);
                last = line == null ? null : AuditChain.check(line);
                Files.delete(oldest);
            } catch (IOException ex) {
                log.warn("cannot prune the audit file {}: {}", oldest, ex.getMessage());
                break;
            }
            removed.add(oldest.getFileName().toString());
            throughHash = last == null ? null : last.hash();
            throughSeq = last == null ? -1 : last.seq();
            total -= bytes;
            freed += bytes;
        }
        if (removed.isEmpty()) {
            return;
        }
        prunedFiles.add(removed.size());
        log.info("Pruned {} audit file(s) ({} bytes) to keep the trail under keybroker.audit.max-total-size={} "
                + "bytes: {}", removed.size(), freed, maxTotalSize, removed);
        Map<String, Object> fields = new LinkedHashMap<>();
        fields.put("reason", "keybroker.audit.max-total-size");
        fields.put("files", removed);
        fields.put("bytes", freed);
        fields.put("throughSeq", throughSeq);
        fields.put("throughHash", throughHash);
        event("prune", fields);
    }

    private static long sizeOf(Path path) {
        try {
            return Files.size(path);
        } catch (IOException ex) {
            return 0;
        }
    }

    /** Bytes of all files of the trail (the live file and the rotated ones); 0 on standard output. */
    public long trailBytes() {
        if (file == null) {
            return 0;
        }
        long total;
        synchronized (this) {
            total = size;
        }
        for (Path p : AuditFiles.rotated(file)) {
            total += sizeOf(p);
        }
        return total;
    }

    /** Rotated files deleted to respect max-total-size since start. */
    public long prunedFiles() {
        return prunedFiles.sum();
    }

    /** Lines that could not be written since start (each refused a request). */
    public long writeFailures() {
        return writeFailures.sum();
    }

    /** The audit file, or {@code null} on standard output. */
    public Path file() {
        return file;
    }

    private void startChain(String previousHash, long firstSeq, String reason) {
        prev = previousHash;
        seq = firstSeq;
        Map<String, Object> fields = new LinkedHashMap<>();
        fields.put("time", clock.instant().toString());
        fields.put("reason", reason);
        append("anchor", fields);
    }

    /**
     * Writes the same members, in the same order, as {@link #event} would for them, but through Jackson's streaming
     * generator: one record per request, and the map-based serialiser (a map, its copy and a serialiser lookup per
     * value) was a measurable part of a cached read's CPU.
     */
    @Override
    public void access(AccessRecord r) {
        Utf8Buffer rest = new Utf8Buffer();
        try (JsonGenerator g = json.createGenerator(rest)) {
            g.writeStartObject();
            g.writeStringProperty("time", r.time().toString());
            g.writeStringProperty("requestId", r.requestId());
            g.writeStringProperty("endpoint", r.endpoint());
            g.writeStringProperty("identity", r.identity());
            g.writeStringProperty("secret", r.secret());
            g.writeName("stages");
            g.writeStartArray();
            for (String stage : r.stages()) {
                g.writeString(stage);
            }
            g.writeEndArray();
            g.writeStringProperty("decision", r.decision().id());
            g.writeStringProperty("rule", r.rule());
            g.writeStringProperty("reason", r.reason());
            g.writeName("versions");
            g.writeStartObject();
            for (Map.Entry<String, String> version : r.versions().entrySet()) {
                g.writeStringProperty(version.getKey(), version.getValue());
            }
            g.writeEndObject();
            g.writeStringProperty("source", r.source());
            g.writeNumberProperty("latencyMs", r.latencyMicros() / 1000.0);
            g.writeEndObject();
        }
        appendSerialized("access", rest.bytes(), rest.size());
    }

    @Override
    public void event(String type, Map<String, ?> fields) {
        Map<String, Object> all = new LinkedHashMap<>();
        all.put("time", clock.instant().toString());
        all.putAll(fields);
        append(type, all);
    }

    private void append(String type, Map<String, ?> fields) {
        // The record's own fields are serialised before taking the lock: under load every event loop appends,
        // and only the chain head (seq, prev), the hash and the write have to be in order.
        Map<String, Object> rest = new LinkedHashMap<>(fields);
        rest.keySet().removeAll(HEAD_KEYS);
        byte[] restJson = json.writeValueAsBytes(rest);
        appendSerialized(type, restJson, restJson.length);
    }

    /**
     * Appends one line: the head, then the members of {@code rest} (a JSON object, UTF-8, {@code length} bytes),
     * then the hash of the two. The body is hashed in its parts and the line assembled in one reused buffer, so a
     * record costs no copy of its text beyond the one write.
     */
    private synchronized void appendSerialized(String type, byte[] rest, int length) {
        // The head is written by hand in the fixed order AuditChain.HEAD expects; type is one of our constants
        // ([a-z-]) and prev is always 64 hex digits, so neither needs escaping.
        byte[] head = ("{\"type\":\"" + type + "\",\"seq\":" + seq + ",\"prev\":\"" + prev + "\"")
                .getBytes(StandardCharsets.US_ASCII);
        boolean members = length > 2;
        // body = head + ("," + rest without its '{') or "}"; the line is the body without its final '}', then
        // ,"hash":"..."} and a newline.
        digest.reset();
        digest.update(head);
        if (members) {
            digest.update((byte) ',');
            digest.update(rest, 1, length - 1);
        } else {
            digest.update((byte) '}');
        }
        String hash = AuditChain.HEX.formatHex(digest.digest());
        byte[] tail = (",\"hash\":\"" + hash + "\"}\n").getBytes(StandardCharsets.US_ASCII);
        int lineLength = head.length + (members ? length - 1 : 0) + tail.length;
        if (line.length < lineLength) {
            line = new byte[Math.max(lineLength, 2 * line.length)];
        }
        System.arraycopy(head, 0, line, 0, head.length);
        int at = head.length;
        if (members) {
            line[at++] = ',';
            System.arraycopy(rest, 1, line, at, length - 2);
            at += length - 2;
        }
        System.arraycopy(tail, 0, line, at, tail.length);
        try {
            writeRaw(line, lineLength);
        } catch (IOException ex) {
            writeFailures.increment();
            throw new AuditUnavailableException("cannot write the audit file " + file + ": " + ex.getMessage()
                    + "; requests are refused until the audit trail can be written (check disk space and "
                    + "permissions of keybroker.audit.file)", ex);
        }
        prev = hash;
        seq++;
        if (file != null && size >= maxFileSize && !"anchor".equals(type)) {
            rotate();
        }
    }

    private void writeRaw(byte[] bytes) throws IOException {
        writeRaw(bytes, bytes.length);
    }

    private void writeRaw(byte[] bytes, int length) throws IOException {
        out.write(bytes, 0, length);
        if (fsync && file != null) {
            out.getFD().sync();
        }
        size += length;
    }

    /** A new, empty live file, opened for appending; fails if the name is taken. */
    private static FileOutputStream createNew(Path file) throws IOException {
        Files.createFile(file);
        return new FileOutputStream(file.toFile(), true);
    }

    /** Renames the full file and starts a new one whose anchor continues the chain. */
    private void rotate() {
        try {
            out.close();
            Path aside = setAside();
            out = createNew(file);
            size = 0;
            startChain(prev, seq, "continues " + aside.getFileName());
            prune();
        } catch (IOException ex) {
            throw new AuditUnavailableException("cannot rotate the audit file " + file + ": " + ex.getMessage(), ex);
        }
    }

    private Path setAside() throws IOException {
        String base = file.getFileName() + "." + SUFFIX.format(clock.instant());
        // Within one millisecond the counter goes past every file that has it, never into a gap left by
        // pruning, so the names keep sorting in the order the files were written (AuditFiles).
        int next = AuditFiles.nextCounter(file, base);
        Path aside = file.resolveSibling(next == 0 ? base : base + "-" + next);
        // rename(2) replaces an existing target silently: never overwrite an older audit file.
        for (int n = Math.max(next, 1); Files.exists(aside); n++) {
            aside = file.resolveSibling(base + "-" + n);
        }
        return Files.move(file, aside, StandardCopyOption.ATOMIC_MOVE);
    }

    /** The last non-empty line of a file, read from its end. */
    static @Nullable String lastLine(Path path) throws IOException {
        return lastLine(path, Files.size(path));
    }

    /** The last non-empty line among the first {@code length} bytes of a file, or {@code null}. */
    static @Nullable String lastLine(Path path, long length) throws IOException {
        try (RandomAccessFile raf = new RandomAccessFile(path.toFile(), "r")) {
            long end = length;
            while (end > 0) {
                raf.seek(end - 1);
                if (raf.read() != '\n') {
                    break;
                }
                end--;
            }
            long start = end;
            while (start > 0 && end - start < MAX_LINE) {
                raf.seek(start - 1);
                if (raf.read() == '\n') {
                    break;
                }
                start--;
            }
            if (end == 0 || end - start >= MAX_LINE) {
                return null;
            }
            return read(raf, start, end);
        }
    }

    private static final int MAX_LINE = 1 << 20;

    private static int lastByte(Path path, long length) throws IOException {
        try (RandomAccessFile raf = new RandomAccessFile(path.toFile(), "r")) {
            raf.seek(length - 1);
            return raf.read();
        }
    }

    /** Where the line that ends at {@code end} starts: just after the line break before it, or 0. */
    private static long lineStart(Path path, long end) throws IOException {
        try (RandomAccessFile raf = new RandomAccessFile(path.toFile(), "r")) {
            long start = end;
            while (start > 0) {
                raf.seek(start - 1);
                if (raf.read() == '\n') {
                    break;
                }
                start--;
            }
            return start;
        }
    }

    /** The bytes {@code [start, end)} as UTF-8, or {@code null} when longer than a line can be. */
    private static @Nullable String readString(Path path, long start, long end) throws IOException {
        if (end - start >= MAX_LINE) {
            return null;
        }
        try (RandomAccessFile raf = new RandomAccessFile(path.toFile(), "r")) {
            return read(raf, start, end);
        }
    }

    private static String read(RandomAccessFile raf, long start, long end) throws IOException {
        byte[] bytes = new byte[(int) (end - start)];
        raf.seek(start);
        raf.readFully(bytes);
        return new String(bytes, StandardCharsets.UTF_8);
    }

    private static String sha256Of(Path path, long start, long end) throws IOException {
        try (RandomAccessFile raf = new RandomAccessFile(path.toFile(), "r")) {
            MessageDigest digest = MessageDigest.getInstance("SHA-256");
            byte[] buffer = new byte[8192];
            raf.seek(start);
            long left = end - start;
            while (left > 0) {
                int n = raf.read(buffer, 0, (int) Math.min(buffer.length, left));
                if (n < 0) {
                    break;
                }
                digest.update(buffer, 0, n);
                left -= n;
            }
            return HexFormat.of().formatHex(digest.digest());
        } catch (NoSuchAlgorithmException ex) {
            throw new IllegalStateException("SHA-256 is not available in this JVM", ex);
        }
    }

    @Override
    public synchronized void close() {
        try {
            if (file != null) {
                out.close();
            }
        } catch (IOException ex) {
            log.warn("closing the audit file {} failed: {}", file, ex.getMessage());
        }
    }

    /** The bytes a generator writes, readable in place (no copy as {@code toByteArray} would make). */
    private static final class Utf8Buffer extends java.io.ByteArrayOutputStream {

        Utf8Buffer() {
            super(384);
        }

        byte[] bytes() {
            return buf;
        }
    }
}
