package io.keybroker.audit;

import java.io.FileDescriptor;
import java.io.FileOutputStream;
import java.io.IOException;
import java.io.RandomAccessFile;
import java.io.UncheckedIOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.time.Clock;
import java.time.ZoneOffset;
import java.time.format.DateTimeFormatter;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Set;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import tools.jackson.databind.json.JsonMapper;

/**
 * Writes the hash-chained audit trail ({@link AuditChain}) to a file, or to standard output when no file is
 * configured. Each line is written with one {@code write} call before the request is answered, so it reaches
 * the operating system at once; with {@code fsync} it also reaches the device.
 *
 * <p>On start it continues the chain of an existing file from its last line. If that line does not verify (a
 * crash mid-write, or tampering), the file is set aside under a timestamped name, untouched for
 * {@code audit verify} to report on, and a new chain starts.
 */
public final class ChainedAuditLog implements AuditLog, AutoCloseable {

    private static final Logger log = LoggerFactory.getLogger(ChainedAuditLog.class);
    /** Members the chain writes itself; a record's field of the same name is dropped, never allowed to shadow them. */
    private static final Set<String> HEAD_KEYS = Set.of("type", "seq", "prev", "hash");
    private static final DateTimeFormatter SUFFIX =
            DateTimeFormatter.ofPattern("yyyyMMdd'T'HHmmss.SSS'Z'").withZone(ZoneOffset.UTC);

    private final Path file;
    private final boolean fsync;
    private final long maxFileSize;
    private final Clock clock;
    private final JsonMapper json = JsonMapper.builder().build();

    private FileChannel channel;
    private long seq;
    private String prev;
    private long size;

    public ChainedAuditLog(Path file, boolean fsync, long maxFileSize, Clock clock) {
        this.file = file;
        this.fsync = fsync;
        this.maxFileSize = maxFileSize;
        this.clock = clock;
        open();
    }

    private void open() {
        try {
            if (file == null) {
                channel = new FileOutputStream(FileDescriptor.out).getChannel();
                startChain(AuditChain.GENESIS, 0, "new trail on standard output");
                return;
            }
            Path parent = file.toAbsolutePath().getParent();
            if (parent != null) {
                Files.createDirectories(parent);
            }
            if (Files.exists(file) && Files.size(file) > 0) {
                String last = lastLine(file);
                AuditChain.Link link = last == null ? null : AuditChain.check(last);
                if (link != null) {
                    channel = FileChannel.open(file, StandardOpenOption.WRITE, StandardOpenOption.APPEND);
                    size = channel.size();
                    seq = link.seq() + 1;
                    prev = link.hash();
                    return;
                }
                Path aside = setAside();
                log.error("The audit file {} ends with a line that does not verify; it was moved to {} for "
                        + "'keybroker audit verify' and a new chain was started", file, aside);
                channel = FileChannel.open(file, StandardOpenOption.CREATE_NEW, StandardOpenOption.WRITE);
                startChain(AuditChain.GENESIS, 0, "previous file " + aside.getFileName() + " ended unverifiable");
                return;
            }
            channel = FileChannel.open(file, StandardOpenOption.CREATE, StandardOpenOption.WRITE,
                    StandardOpenOption.APPEND);
            startChain(AuditChain.GENESIS, 0, "new trail");
        } catch (IOException ex) {
            throw new UncheckedIOException("cannot open the audit file " + file + " (keybroker.audit.file): "
                    + ex.getMessage() + "; make sure its directory exists and is writable by the broker", ex);
        }
    }

    private void startChain(String previousHash, long firstSeq, String reason) {
        prev = previousHash;
        seq = firstSeq;
        Map<String, Object> fields = new LinkedHashMap<>();
        fields.put("time", clock.instant().toString());
        fields.put("reason", reason);
        append("anchor", fields);
    }

    @Override
    public void access(AccessRecord r) {
        Map<String, Object> fields = new LinkedHashMap<>();
        fields.put("time", r.time().toString());
        fields.put("requestId", r.requestId());
        fields.put("endpoint", r.endpoint());
        fields.put("identity", r.identity());
        fields.put("secret", r.secret());
        fields.put("stages", r.stages());
        fields.put("decision", r.decision().id());
        fields.put("rule", r.rule());
        fields.put("reason", r.reason());
        fields.put("versions", r.versions());
        fields.put("source", r.source());
        fields.put("latencyMs", r.latencyMicros() / 1000.0);
        append("access", fields);
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
        appendSerialized(type, json.writeValueAsString(rest));
    }

    private synchronized void appendSerialized(String type, String restJson) {
        // The head is written by hand in the fixed order AuditChain.HEAD expects; type is one of our constants
        // ([a-z-]) and prev is always 64 hex digits, so neither needs escaping.
        String body = "{\"type\":\"" + type + "\",\"seq\":" + seq + ",\"prev\":\"" + prev + "\""
                + (restJson.length() <= 2 ? "}" : "," + restJson.substring(1));
        String hash = AuditChain.sha256(body);
        String line = AuditChain.seal(body, hash);
        byte[] bytes = (line + "\n").getBytes(StandardCharsets.UTF_8);
        try {
            ByteBuffer buffer = ByteBuffer.wrap(bytes);
            while (buffer.hasRemaining()) {
                channel.write(buffer);
            }
            if (fsync && file != null) {
                channel.force(false);
            }
        } catch (IOException ex) {
            throw new AuditUnavailableException("cannot write the audit file " + file + ": " + ex.getMessage()
                    + "; requests are refused until the audit trail can be written (check disk space and "
                    + "permissions of keybroker.audit.file)", ex);
        }
        prev = hash;
        seq++;
        size += bytes.length;
        if (file != null && size >= maxFileSize && !"anchor".equals(type)) {
            rotate();
        }
    }

    /** Renames the full file and starts a new one whose anchor continues the chain. */
    private void rotate() {
        try {
            channel.close();
            Path aside = setAside();
            channel = FileChannel.open(file, StandardOpenOption.CREATE_NEW, StandardOpenOption.WRITE);
            size = 0;
            startChain(prev, seq, "continues " + aside.getFileName());
        } catch (IOException ex) {
            throw new AuditUnavailableException("cannot rotate the audit file " + file + ": " + ex.getMessage(), ex);
        }
    }

    private Path setAside() throws IOException {
        String base = file.getFileName() + "." + SUFFIX.format(clock.instant());
        Path aside = file.resolveSibling(base);
        // rename(2) replaces an existing target silently: never overwrite an older audit file.
        for (int n = 1; Files.exists(aside); n++) {
            aside = file.resolveSibling(base + "-" + n);
        }
        return Files.move(file, aside, StandardCopyOption.ATOMIC_MOVE);
    }

    /** The last non-empty line of a file, read from its end. */
    static String lastLine(Path path) throws IOException {
        try (RandomAccessFile raf = new RandomAccessFile(path.toFile(), "r")) {
            long end = raf.length();
            while (end > 0) {
                raf.seek(end - 1);
                if (raf.read() != '\n') {
                    break;
                }
                end--;
            }
            long start = end;
            int max = 1 << 20;
            while (start > 0 && end - start < max) {
                raf.seek(start - 1);
                if (raf.read() == '\n') {
                    break;
                }
                start--;
            }
            if (end == 0 || end - start >= max) {
                return null;
            }
            byte[] bytes = new byte[(int) (end - start)];
            raf.seek(start);
            raf.readFully(bytes);
            return new String(bytes, StandardCharsets.UTF_8);
        }
    }

    @Override
    public synchronized void close() {
        try {
            if (file != null) {
                channel.close();
            }
        } catch (IOException ex) {
            log.warn("closing the audit file {} failed: {}", file, ex.getMessage());
        }
    }
}
