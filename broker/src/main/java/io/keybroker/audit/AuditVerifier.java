package io.keybroker.audit;

import java.io.BufferedReader;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.jspecify.annotations.Nullable;
import tools.jackson.databind.JsonNode;
import tools.jackson.databind.json.JsonMapper;

/**
 * Verifies audit files written by {@link ChainedAuditLog}: every line's own hash, the link to the line before,
 * the sequence, and the continuity between consecutive files (the anchor of each file carries the last hash of
 * the file before it). Files are given oldest first.
 *
 * <p>A trail whose oldest files the broker pruned (keybroker.audit.max-total-size) verifies: the first file given
 * must then continue exactly where the newest {@code prune} record in the trail says the pruned files ended
 * ({@code throughSeq}, {@code throughHash}). A trail that starts after the beginning with no prune record that
 * accounts for it had files deleted from its start.
 *
 * <p>What it cannot see on its own: lines cut off the end of the newest file leave a valid, shorter chain. Ship
 * the trail to a store the broker cannot rewrite, or compare the last {@code seq} with a copy, to catch that.
 */
public final class AuditVerifier {

    /**
     * The outcome.
     *
     * @param intact whether every line verified
     * @param lines how many lines were checked
     * @param problem the first problem, naming the file and line, or {@code null}
     */
    public record Result(boolean intact, long lines, @Nullable String problem) {
    }

    private static final String PRUNE_PREFIX = "{\"type\":\"prune\",";

    private final boolean skipOtherLines;
    private final JsonMapper json = JsonMapper.builder().build();

    /** Verifies files that hold audit lines only. */
    public AuditVerifier() {
        this(false);
    }

    /**
     * @param skipOtherLines ignore lines that are not audit lines (do not start with {@code {"type":}), for a
     *     captured standard output where the broker's log lines are interleaved with the trail
     */
    public AuditVerifier(boolean skipOtherLines) {
        this.skipOtherLines = skipOtherLines;
    }

    public Result verify(List<Path> files) throws IOException {
        String prevHash = null;
        long prevSeq = -1;
        long total = 0;
        AuditChain.Link first = null;
        String firstWhere = null;
        JsonNode lastPrune = null;
        for (int f = 0; f < files.size(); f++) {
            Path file = files.get(f);
            try (BufferedReader reader = Files.newBufferedReader(file, StandardCharsets.UTF_8)) {
                String line;
                long number = 0;
                long audited = 0;
                while ((line = reader.readLine()) != null) {
                    number++;
                    if (skipOtherLines && !line.startsWith("{\"type\":")) {
                        continue;
                    }
                    audited++;
                    total++;
                    String where = file + ":" + number;
                    AuditChain.Link link = AuditChain.check(line);
                    if (link == null) {
                        return new Result(false, total, where + ": the line was edited or damaged (its hash does "
                                + "not match its content)");
                    }
                    if (audited == 1 && !link.anchor() && !skipOtherLines) {
                        return new Result(false, total, where + ": the file does not start with an anchor line; "
                                + "lines were deleted from its start, or it is not a Keybroker audit file");
                    }
                    boolean newRun = skipOtherLines && link.anchor() && link.seq() == 0
                            && AuditChain.GENESIS.equals(link.prev());
                    if (prevHash == null) {
                        // The first line given: checked against the prune records once the whole trail is read.
                        first = link;
                        firstWhere = where;
                    } else if (newRun) {
                        // On standard output each start of the broker begins a new chain: there is no file whose
                        // chain it could continue. In files only the first line given may start one.
                    } else if (!link.prev().equals(prevHash)) {
                        return new Result(false, total, where + (number == 1
                                ? ": this file does not continue the file before it (its anchor names another "
                                        + "last hash): a file is missing between them, or they are out of order"
                                : ": the line does not follow the line before it: a line was deleted, inserted "
                                        + "or moved here"));
                    } else if (link.seq() != prevSeq + 1) {
                        return new Result(false, total, where + ": sequence number " + link.seq() + " follows "
                                + prevSeq + ": lines were reordered or removed");
                    }
                    if (line.startsWith(PRUNE_PREFIX)) {
                        lastPrune = json.readTree(line);
                    }
                    prevHash = link.hash();
                    prevSeq = link.seq();
                }
                if (audited == 0) {
                    return new Result(false, total, file + ": the file is empty");
                }
            }
        }
        if (first != null && !(first.seq() == 0 && AuditChain.GENESIS.equals(first.prev()))) {
            boolean accounted = lastPrune != null
                    && first.prev().equals(lastPrune.path("throughHash").asString(""))
                    && first.seq() == lastPrune.path("throughSeq").asLong(-1) + 1;
            if (!accounted) {
                return new Result(false, total, firstWhere + ": the trail starts at seq " + first.seq() + ", after "
                        + "its beginning, and no prune record accounts for the lines before it: files were deleted "
                        + "from the start of the trail outside the broker, or the earlier files were not given "
                        + "(give the directory, or every file oldest first)");
            }
        }
        return new Result(true, total, null);
    }
}
