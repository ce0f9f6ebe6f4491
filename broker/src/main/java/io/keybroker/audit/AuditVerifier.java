package io.keybroker.audit;

import java.io.BufferedReader;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;

/**
 * Verifies audit files written by {@link ChainedAuditLog}: every line's own hash, the link to the line before,
 * the sequence, and the continuity between consecutive files (the anchor of each file carries the last hash of
 * the file before it). Files are given oldest first.
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
    public record Result(boolean intact, long lines, String problem) {
    }

    public Result verify(List<Path> files) throws IOException {
        String prevHash = null;
        long prevSeq = -1;
        long total = 0;
        for (int f = 0; f < files.size(); f++) {
            Path file = files.get(f);
            try (BufferedReader reader = Files.newBufferedReader(file, StandardCharsets.UTF_8)) {
                String line;
                long number = 0;
                while ((line = reader.readLine()) != null) {
                    number++;
                    total++;
                    String where = file + ":" + number;
                    AuditChain.Link link = AuditChain.check(line);
                    if (link == null) {
                        return new Result(false, total, where + ": the line was edited or damaged (its hash does "
                                + "not match its content)");
                    }
                    if (number == 1 && !link.anchor()) {
                        return new Result(false, total, where + ": the file does not start with an anchor line; "
                                + "lines were deleted from its start, or it is not a Keybroker audit file");
                    }
                    if (prevHash == null) {
                        // The first anchor given: trusted as the start of what is being verified.
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
                    prevHash = link.hash();
                    prevSeq = link.seq();
                }
                if (number == 0) {
                    return new Result(false, total, file + ": the file is empty");
                }
            }
        }
        return new Result(true, total, null);
    }
}
