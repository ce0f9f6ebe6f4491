package io.keybroker.audit;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Optional;
import java.util.TreeSet;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;

/**
 * The files of one audit trail: the live file ({@code keybroker.audit.file}) and the files rotated or set aside
 * beside it, named {@code <live name>.<UTC timestamp>} with a {@code -n} counter when two share a millisecond.
 * The writer prunes in this order and {@code audit verify DIR} verifies in it, so both agree on which file is
 * older.
 */
public final class AuditFiles {

    /** The suffix {@link ChainedAuditLog} gives a rotated file: {@code .yyyyMMddTHHmmss.SSSZ[-n]}. */
    private static final Pattern ROTATED = Pattern.compile("^(.+)\\.(\\d{8}T\\d{6}\\.\\d{3}Z)(?:-(\\d{1,9}))?$");

    private AuditFiles() {
    }

    /** The rotated files of the live file {@code live}, oldest first (the live file itself is not included). */
    public static List<Path> rotated(Path live) {
        Path dir = live.toAbsolutePath().getParent();
        String base = live.getFileName().toString();
        List<Path> files = new ArrayList<>();
        try (Stream<Path> listing = Files.list(dir)) {
            listing.filter(Files::isRegularFile)
                    .filter(p -> rotation(p).map(r -> r.base().equals(base)).orElse(false))
                    .forEach(files::add);
        } catch (IOException ex) {
            throw new UncheckedIOException("cannot list the audit directory " + dir + ": " + ex.getMessage(), ex);
        }
        files.sort(Comparator.comparing(p -> rotation(p).orElseThrow()));
        return files;
    }

    /**
     * The counter for a new rotated file named {@code prefix} (live name and timestamp): 0 (no counter) when no
     * file has that timestamp, else one past the highest counter present.
     */
    static int nextCounter(Path live, String prefix) {
        int next = 0;
        for (Path p : rotated(live)) {
            String name = p.getFileName().toString();
            if (name.startsWith(prefix)) {
                next = Math.max(next, rotation(p).orElseThrow().counter() + 1);
            }
        }
        return next;
    }

    /** The whole trail of a live file, oldest first: its rotated files, then the live file when it exists. */
    public static List<Path> trail(Path live) {
        List<Path> files = new ArrayList<>(rotated(live));
        if (Files.isRegularFile(live)) {
            files.add(live);
        }
        return files;
    }

    /**
     * The one trail in a directory, oldest first with the live file last (when present).
     *
     * @throws IllegalArgumentException when the directory holds no trail, or files of more than one trail
     */
    public static List<Path> trailIn(Path dir) throws IOException {
        TreeSet<String> bases = new TreeSet<>();
        try (Stream<Path> listing = Files.list(dir)) {
            listing.filter(Files::isRegularFile).forEach(p -> bases.add(rotation(p)
                    .map(Rotation::base).orElse(p.getFileName().toString())));
        }
        if (bases.size() != 1) {
            throw new IllegalArgumentException(dir + (bases.isEmpty() ? " holds no audit file"
                    : " holds the files of " + bases.size() + " trails " + bases + "; name the files to verify, "
                            + "oldest first, or give a directory that holds one trail"));
        }
        return trail(dir.resolve(bases.first()));
    }

    private static Optional<Rotation> rotation(Path file) {
        Matcher m = ROTATED.matcher(file.getFileName().toString());
        if (!m.matches()) {
            return Optional.empty();
        }
        return Optional.of(new Rotation(m.group(1), m.group(2), m.group(3) == null ? 0 : Integer.parseInt(m.group(3))));
    }

    /** The parts of a rotated name; the timestamp sorts as text, the counter as a number (-2 before -10). */
    private record Rotation(String base, String timestamp, int counter) implements Comparable<Rotation> {

        @Override
        public int compareTo(Rotation other) {
            int byTime = timestamp.compareTo(other.timestamp);
            return byTime != 0 ? byTime : Integer.compare(counter, other.counter);
        }
    }
}
