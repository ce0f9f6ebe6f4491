package io.keybroker.audit;

import static org.assertj.core.api.Assertions.assertThat;

import io.keybroker.cli.KeybrokerCli;
import java.io.IOException;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Instant;
import java.time.ZoneOffset;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class ChainedAuditLogTests {

    private static final Clock CLOCK = Clock.fixed(Instant.parse("2026-11-22T10:00:00Z"), ZoneOffset.UTC);

    @TempDir
    Path dir;

    private Path writeTrail(int accesses) {
        Path file = dir.resolve("audit.log");
        try (ChainedAuditLog log = new ChainedAuditLog(file, false, Long.MAX_VALUE, CLOCK)) {
            for (int i = 0; i < accesses; i++) {
                log.access(access(i));
            }
        }
        return file;
    }

    private static AccessRecord access(int i) {
        return new AccessRecord(CLOCK.instant(), "req-" + i, "v1", "spiffe://cluster.local/ns/payments/sa/checkout",
                "stripe/secret-key", List.of("current"), AccessRecord.Decision.ALLOW, "payments.yaml#payments/workloads[0]/allow[0]",
                "granted", Map.of("current", "7"), "cache", 420);
    }

    private AuditVerifier.Result verify(Path... files) throws IOException {
        return new AuditVerifier().verify(List.of(files));
    }

    @Test
    void shouldKeepWritingWhenTheWritingThreadIsInterrupted() throws IOException {
        // Reactor cancels work on another thread by interrupting it, and a request's chain may be writing its
        // record on that thread just then. An interruptible channel closes itself for good on an interrupt: before,
        // that one interrupt left the trail unwritable and the broker refused every request until restarted.
        Path file = dir.resolve("audit.log");
        try (ChainedAuditLog log = new ChainedAuditLog(file, true, Long.MAX_VALUE, CLOCK)) {
            log.access(access(0));
            Thread.currentThread().interrupt();
            try {
                log.access(access(1));
                assertThat(Thread.currentThread().isInterrupted()).as("the interrupt is left for its owner").isTrue();
            } finally {
                Thread.interrupted();
            }
            log.access(access(2));
        }
        AuditVerifier.Result result = verify(file);
        assertThat(result.intact()).isTrue();
        assertThat(result.lines()).isEqualTo(4);
    }

    @Test
    void shouldWriteAnAccessRecordExactlyAsTheGenericEventWriterWouldWriteItsMembers() throws IOException {
        // access() has its own streaming writer for speed; it must produce the very members, order and number
        // format of the general path, nulls, escapes and non-ASCII text included.
        List<AccessRecord> records = List.of(access(0),
                new AccessRecord(CLOCK.instant(), "req-\"q\"\\", "agent", null, null, List.of("current", "previous"),
                        AccessRecord.Decision.INVALID, "default-deny", "name 'x\u00e9\n' invalid", Map.of(), null, 1),
                new AccessRecord(CLOCK.instant(), "r", "v1", "spiffe://td/ns/a/sa/b", "a/b", List.of(),
                        AccessRecord.Decision.ALLOW, "rule", "granted", new java.util.LinkedHashMap<>(Map.of(
                                "current", "v2")), "backend", 123456789));
        Path streamed = dir.resolve("streamed.log");
        Path generic = dir.resolve("generic.log");
        try (ChainedAuditLog a = new ChainedAuditLog(streamed, false, Long.MAX_VALUE, CLOCK);
                ChainedAuditLog b = new ChainedAuditLog(generic, false, Long.MAX_VALUE, CLOCK)) {
            for (AccessRecord r : records) {
                a.access(r);
                Map<String, Object> fields = new java.util.LinkedHashMap<>();
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
                b.event("access", fields);
            }
        }
        assertThat(Files.readAllLines(streamed)).hasSize(4).isEqualTo(Files.readAllLines(generic));
        assertThat(verify(streamed).intact()).isTrue();
    }

    @Test
    void shouldVerifyAnIntactTrail() throws IOException {
        Path file = writeTrail(5);
        AuditVerifier.Result result = verify(file);
        assertThat(result.intact()).isTrue();
        assertThat(result.lines()).isEqualTo(6);
        assertThat(Files.readAllLines(file).get(0)).startsWith("{\"type\":\"anchor\",\"seq\":0,\"prev\":\"000");
        assertThat(Files.readAllLines(file).get(1)).contains("\"decision\":\"allow\"", "\"secret\":\"stripe/secret-key\"",
                "\"identity\":\"spiffe://cluster.local/ns/payments/sa/checkout\"", "\"latencyMs\":0.42");
    }

    @Test
    void shouldCatchAnEditedLine() throws IOException {
        Path file = writeTrail(5);
        List<String> lines = new ArrayList<>(Files.readAllLines(file));
        lines.set(3, lines.get(3).replace("\"decision\":\"allow\"", "\"decision\":\"deny\""));
        Files.write(file, lines);
        AuditVerifier.Result result = verify(file);
        assertThat(result.intact()).isFalse();
        assertThat(result.problem()).contains("audit.log:4").contains("edited");
    }

    @Test
    void shouldCatchARecomputedEditThatBreaksTheLink() throws IOException {
        Path file = writeTrail(5);
        List<String> lines = new ArrayList<>(Files.readAllLines(file));
        String edited = lines.get(3).replaceFirst(",\"hash\":\"[0-9a-f]{64}\"}$", "}")
                .replace("\"decision\":\"allow\"", "\"decision\":\"deny\"");
        lines.set(3, AuditChain.seal(edited));
        Files.write(file, lines);
        AuditVerifier.Result result = verify(file);
        assertThat(result.intact()).isFalse();
        assertThat(result.problem()).contains("audit.log:5").contains("does not follow");
    }

    @Test
    void shouldCatchADeletedLine() throws IOException {
        Path file = writeTrail(5);
        List<String> lines = new ArrayList<>(Files.readAllLines(file));
        lines.remove(2);
        Files.write(file, lines);
        assertThat(verify(file).problem()).contains("audit.log:3").contains("does not follow");
    }

    @Test
    void shouldCatchReorderedLines() throws IOException {
        Path file = writeTrail(5);
        List<String> lines = new ArrayList<>(Files.readAllLines(file));
        Collections.swap(lines, 2, 3);
        Files.write(file, lines);
        assertThat(verify(file).problem()).contains("audit.log:3");
    }

    @Test
    void shouldCatchAnInsertedLine() throws IOException {
        Path file = writeTrail(5);
        List<String> lines = new ArrayList<>(Files.readAllLines(file));
        lines.add(3, lines.get(2));
        Files.write(file, lines);
        assertThat(verify(file).problem()).contains("audit.log:4");
    }

    @Test
    void shouldCatchDeletionFromTheStart() throws IOException {
        Path file = writeTrail(5);
        List<String> lines = new ArrayList<>(Files.readAllLines(file));
        lines.remove(0);
        Files.write(file, lines);
        assertThat(verify(file).problem()).contains("audit.log:1").contains("anchor");
    }

    @Test
    void shouldContinueTheChainAfterARestart() throws IOException {
        Path file = writeTrail(3);
        try (ChainedAuditLog log = new ChainedAuditLog(file, true, Long.MAX_VALUE, CLOCK)) {
            log.event("lifecycle", Map.of("event", "start"));
        }
        AuditVerifier.Result result = verify(file);
        assertThat(result.intact()).isTrue();
        assertThat(result.lines()).isEqualTo(5);
    }

    @Test
    void shouldContinueTheChainAcrossFileRotation() throws IOException {
        Path file = dir.resolve("audit.log");
        try (ChainedAuditLog log = new ChainedAuditLog(file, false, 2_000, CLOCK)) {
            for (int i = 0; i < 30; i++) {
                log.access(access(i));
            }
        }
        List<Path> files;
        try (Stream<Path> listing = Files.list(dir)) {
            files = new ArrayList<>(listing.filter(p -> !p.equals(file))
                    .sorted(java.util.Comparator.comparing(ChainedAuditLogTests::rotationOrder)).toList());
        }
        assertThat(files).hasSizeGreaterThan(2);
        files.add(file);
        AuditVerifier.Result intact = new AuditVerifier().verify(files);
        assertThat(intact.intact()).as(String.valueOf(intact.problem())).isTrue();
        List<Path> missingOne = new ArrayList<>(files);
        missingOne.remove(1);
        assertThat(new AuditVerifier().verify(missingOne).problem()).contains("does not continue");
    }

    /** Rotated names share the fixed clock's suffix and differ by their "-n" counter. */
    private static int rotationOrder(Path p) {
        String name = p.getFileName().toString();
        int dash = name.lastIndexOf('-');
        return dash > name.indexOf('Z') ? Integer.parseInt(name.substring(dash + 1)) : 0;
    }

    @Test
    void shouldContinueTheChainAfterACrashCutTheLastLineShort() throws IOException {
        Path file = writeTrail(3);
        Files.writeString(file, "{\"type\":\"access\",\"trunc", StandardCharsets.UTF_8,
                java.nio.file.StandardOpenOption.APPEND);
        try (ChainedAuditLog log = new ChainedAuditLog(file, false, Long.MAX_VALUE, CLOCK)) {
            log.access(access(9));
        }
        AuditVerifier.Result result = verify(file);
        assertThat(result.intact()).as(String.valueOf(result.problem())).isTrue();
        List<String> lines = Files.readAllLines(file);
        assertThat(lines).hasSize(6);
        assertThat(lines.get(4)).startsWith("{\"type\":\"recovery\",\"seq\":4,")
                .contains("\"removedBytes\":23");
        assertThat(lines.get(5)).contains("\"seq\":5", "req-9");
        try (Stream<Path> listing = Files.list(dir)) {
            assertThat(listing).containsExactly(file);
        }
    }

    @Test
    void shouldContinueTheChainWhenOnlyTheLastLineBreakIsMissing() throws IOException {
        Path file = writeTrail(2);
        String text = Files.readString(file);
        Files.writeString(file, text.substring(0, text.length() - 1));
        try (ChainedAuditLog log = new ChainedAuditLog(file, false, Long.MAX_VALUE, CLOCK)) {
            log.access(access(9));
        }
        assertThat(verify(file).intact()).isTrue();
        assertThat(Files.readAllLines(file)).hasSize(4).noneMatch(line -> line.contains("recovery"));
    }

    @Test
    void shouldSetAsideAFileWhoseCompleteLastLineWasEditedAndStartANewChain() throws IOException {
        Path file = writeTrail(3);
        List<String> lines = new ArrayList<>(Files.readAllLines(file));
        lines.set(3, lines.get(3).replace("req-2", "req-X"));
        Files.write(file, lines);
        try (ChainedAuditLog log = new ChainedAuditLog(file, false, Long.MAX_VALUE, CLOCK)) {
            log.access(access(9));
        }
        assertThat(verify(file).intact()).isTrue();
        assertThat(Files.readAllLines(file).get(0)).contains("ended unverifiable");
        try (Stream<Path> listing = Files.list(dir)) {
            Path aside = listing.filter(p -> !p.equals(file)).findFirst().orElseThrow();
            assertThat(verify(aside).problem()).contains(":4").contains("edited or damaged");
        }
    }

    @Test
    void shouldVerifyCorrectLinesThatHoldUnicodeLineSeparators() throws IOException {
        Path file = dir.resolve("audit.log");
        try (ChainedAuditLog log = new ChainedAuditLog(file, false, Long.MAX_VALUE, CLOCK)) {
            log.event("policy-reload", Map.of("outcome", "refused", "errors",
                    List.of("pay\u2028ments.yaml: bad", "next\u0085line.yaml: bad", "para\u2029graph.yaml")));
            log.access(access(1));
        }
        assertThat(Files.readString(file)).contains("\u2028", "\u0085", "\u2029");
        AuditVerifier.Result result = verify(file);
        assertThat(result.intact()).as(String.valueOf(result.problem())).isTrue();
        assertThat(result.lines()).isEqualTo(3);
        try (ChainedAuditLog log = new ChainedAuditLog(file, false, Long.MAX_VALUE, CLOCK)) {
            log.access(access(2));
        }
        assertThat(verify(file).intact()).isTrue();
        assertThat(Files.readAllLines(file).get(0)).contains("new trail");
        assertThat(Files.readAllLines(file)).hasSize(4);
    }

    private static final long TOTAL = 64 * 1024;

    /** Writes accesses into a trail limited to TOTAL bytes, checking the bound after every line. */
    private Path writeBoundedTrail(int accesses) throws IOException {
        Path file = dir.resolve("audit.log");
        try (ChainedAuditLog log = new ChainedAuditLog(file, false, 100L * 1024 * 1024, TOTAL, CLOCK)) {
            for (int i = 0; i < accesses; i++) {
                log.access(access(i));
                assertThat(directorySize()).isLessThan(TOTAL);
            }
        }
        return file;
    }

    private long directorySize() throws IOException {
        try (Stream<Path> listing = Files.list(dir)) {
            return listing.mapToLong(p -> p.toFile().length()).sum();
        }
    }

    @Test
    void shouldKeepAllAuditFilesUnderTheTotalSizeAndRecordEachPruning() throws IOException {
        Path file = writeBoundedTrail(1_000);
        List<Path> trail = AuditFiles.trailIn(dir);
        assertThat(trail.get(trail.size() - 1)).isEqualTo(file);
        assertThat(trail).hasSizeBetween(2, 4);
        String all = String.join("\n", trail.stream().map(ChainedAuditLogTests::read).toList());
        assertThat(all).contains("\"type\":\"prune\"", "\"reason\":\"keybroker.audit.max-total-size\"");
        assertThat(read(trail.get(0))).doesNotContain("\"seq\":0,\"prev\":\"" + AuditChain.GENESIS);
        AuditVerifier.Result result = new AuditVerifier().verify(trail);
        assertThat(result.intact()).as(String.valueOf(result.problem())).isTrue();
    }

    @Test
    void shouldVerifyAPrunedTrailByDirectoryFromTheCli() throws IOException {
        writeBoundedTrail(1_000);
        StringWriter out = new StringWriter();
        int status = KeybrokerCli.run(new String[] {"audit", "verify", dir.toString()}, new PrintWriter(out, true),
                new PrintWriter(new StringWriter(), true));
        assertThat(status).as(out.toString()).isZero();
        assertThat(out.toString()).startsWith("OK: ");
    }

    @Test
    void shouldCatchTheOldestRemainingFileDeletedByHandAfterPruning() throws IOException {
        writeBoundedTrail(1_000);
        List<Path> trail = AuditFiles.trailIn(dir);
        Files.delete(trail.get(0));
        AuditVerifier.Result result = new AuditVerifier().verify(AuditFiles.trailIn(dir));
        assertThat(result.intact()).isFalse();
        assertThat(result.problem()).contains("no prune record accounts for the lines before it");
    }

    @Test
    void shouldCatchEditsDeletionsAndReorderingsInsideAPrunedTrail() throws IOException {
        writeBoundedTrail(1_000);
        List<Path> trail = AuditFiles.trailIn(dir);
        Path middle = trail.get(trail.size() - 2);
        List<String> original = Files.readAllLines(middle);

        List<String> edited = new ArrayList<>(original);
        edited.set(5, edited.get(5).replace("\"decision\":\"allow\"", "\"decision\":\"deny\""));
        Files.write(middle, edited);
        assertThat(new AuditVerifier().verify(trail).problem()).contains(middle.getFileName() + ":6", "edited");

        List<String> deleted = new ArrayList<>(original);
        deleted.remove(5);
        Files.write(middle, deleted);
        assertThat(new AuditVerifier().verify(trail).problem()).contains(middle.getFileName() + ":6", "does not follow");

        List<String> swapped = new ArrayList<>(original);
        Collections.swap(swapped, 5, 6);
        Files.write(middle, swapped);
        assertThat(new AuditVerifier().verify(trail).intact()).isFalse();

        Files.write(middle, original);
        List<Path> reordered = new ArrayList<>(trail);
        Collections.swap(reordered, 0, 1);
        assertThat(new AuditVerifier().verify(reordered).intact()).isFalse();
        assertThat(new AuditVerifier().verify(trail).intact()).isTrue();
    }

    @Test
    void shouldPruneAtStartWhenTheLimitWasLowered() throws IOException {
        Path file = dir.resolve("audit.log");
        try (ChainedAuditLog log = new ChainedAuditLog(file, false, 8 * 1024, CLOCK)) {
            for (int i = 0; i < 1_000; i++) {
                log.access(access(i));
            }
        }
        assertThat(directorySize()).isGreaterThan(TOTAL);
        try (ChainedAuditLog log = new ChainedAuditLog(file, false, 8 * 1024, TOTAL, CLOCK)) {
            log.event("lifecycle", Map.of("event", "start"));
        }
        assertThat(directorySize()).isLessThan(TOTAL);
        AuditVerifier.Result result = new AuditVerifier().verify(AuditFiles.trailIn(dir));
        assertThat(result.intact()).as(String.valueOf(result.problem())).isTrue();
    }

    @Test
    void shouldVerifyACapturedStandardOutputWithLogLinesAndRestartsInBetween() throws IOException {
        Path one = writeTrail(2);
        List<String> first = Files.readAllLines(one);
        Files.delete(one);
        Path two = writeTrail(3);
        List<String> captured = new ArrayList<>();
        captured.add("{\"@timestamp\":\"2026-11-22T10:00:00Z\",\"log.level\":\"INFO\",\"message\":\"Started\"}");
        captured.addAll(first);
        captured.add("2026-11-22 10:00:01 INFO a console log line");
        captured.addAll(Files.readAllLines(two));
        Path capture = dir.resolve("stdout.txt");
        Files.write(capture, captured);
        assertThat(new AuditVerifier(true).verify(List.of(capture)).intact()).isTrue();
        captured.set(3, captured.get(3).replace("req-1", "req-X"));
        Files.write(capture, captured);
        assertThat(new AuditVerifier(true).verify(List.of(capture)).problem()).contains("stdout.txt:4");
    }

    private static String read(Path path) {
        try {
            return Files.readString(path);
        } catch (IOException ex) {
            throw new java.io.UncheckedIOException(ex);
        }
    }

    @Test
    void shouldExitNonZeroFromTheCliNamingTheFirstBadLine() throws IOException {
        Path file = writeTrail(4);
        StringWriter out = new StringWriter();
        StringWriter err = new StringWriter();
        int ok = KeybrokerCli.run(new String[] {"audit", "verify", file.toString()}, new PrintWriter(out, true),
                new PrintWriter(err, true));
        assertThat(ok).isZero();
        assertThat(out.toString()).contains("OK: 5 lines");

        List<String> lines = new ArrayList<>(Files.readAllLines(file));
        lines.set(2, lines.get(2).replace("req-1", "req-X"));
        Files.write(file, lines);
        StringWriter out2 = new StringWriter();
        int bad = KeybrokerCli.run(new String[] {"--keybroker.environment=prod", "audit", "verify", file.toString()},
                new PrintWriter(out2, true), new PrintWriter(new StringWriter(), true));
        assertThat(bad).isEqualTo(1);
        assertThat(out2.toString()).contains("TAMPERED").contains("audit.log:3");
    }
}
