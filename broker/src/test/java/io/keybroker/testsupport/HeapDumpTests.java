package io.keybroker.testsupport;

import static org.assertj.core.api.Assertions.assertThat;

import com.sun.management.HotSpotDiagnosticMXBean;
import java.lang.management.ManagementFactory;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.UUID;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** {@link HeapDump} on a live dump of this JVM, with texts planted in each form a Java heap keeps text in. */
class HeapDumpTests {

    /** Held for the dump; static so that the holder chain ends at this class. */
    private static Object[] planted;

    @TempDir
    Path dir;

    @Test
    void shouldFindATextInEachEncodingAndNameWhatHoldsIt() throws Exception {
        String id = UUID.randomUUID().toString();
        String latin1 = "planted-latin1-" + id;
        // A character beyond Latin-1 makes a UTF-16 String (its byte[] in the platform's order, little-endian).
        String utf16 = "planted-utf16-\u0100-" + id;
        char[] chars = ("planted-chars-" + id).toCharArray();
        // Reachable only through the static field (no local variable), so its holder chain runs through it.
        planted = new Object[] {latin1, utf16, chars, ("planted-bytes-" + id).getBytes(StandardCharsets.UTF_8)};
        HeapDump dump = dump();
        planted = null;

        assertThat(dump.find(latin1)).extracting(HeapDump.Hit::encoding).contains("UTF-8");
        assertThat(dump.find(utf16)).extracting(HeapDump.Hit::encoding).contains("UTF-16LE");
        assertThat(dump.find(new String(chars))).extracting(HeapDump.Hit::encoding).contains("UTF-16BE");
        List<HeapDump.Hit> bytes = dump.find("planted-bytes-" + id);
        assertThat(bytes).singleElement().satisfies(hit -> assertThat(hit.holder()).startsWith("byte[")
                .contains("java.lang.Object[][3]", "static " + HeapDumpTests.class.getName() + ".planted"));
    }

    @Test
    void shouldNotFindATextThatWasNotInTheHeap() throws Exception {
        HeapDump dump = dump();
        // Made after the dump, so no copy of it can be in there.
        String absent = "never-planted-" + UUID.randomUUID();
        assertThat(dump.contains(absent)).isFalse();
        assertThat(dump.find(absent)).isEmpty();
    }

    private HeapDump dump() throws Exception {
        Path file = dir.resolve("self.hprof");
        ManagementFactory.getPlatformMXBean(HotSpotDiagnosticMXBean.class).dumpHeap(file.toString(), true);
        try {
            return HeapDump.read(file);
        } finally {
            Files.delete(file);
        }
    }
}
