package io.keybroker.backend.vault;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.nio.charset.StandardCharsets;
import java.time.Instant;
import org.junit.jupiter.api.Test;

class KvMetadataTests {

    private static final Instant NOW = Instant.parse("2026-11-22T12:00:00Z");

    @Test
    void shouldChooseTheNewestLiveVersionsSkippingDeletedAndDestroyedOnes() {
        KvMetadata metadata = KvMetadata.parse(metadata(5, """
                "1": {"created_time": "2026-01-01T00:00:00.123456789Z", "deletion_time": "", "destroyed": false},
                "2": {"created_time": "2026-02-01T00:00:00Z", "deletion_time": "", "destroyed": true},
                "3": {"created_time": "2026-03-01T00:00:00Z", "deletion_time": "", "destroyed": false},
                "4": {"created_time": "2026-04-01T00:00:00Z", "deletion_time": "2026-11-01T00:00:00Z", "destroyed": false},
                "5": {"created_time": "2026-05-01T00:00:00Z", "deletion_time": "2026-11-01T00:00:00Z", "destroyed": true}
                """));

        KvMetadata.Selection selection = metadata.select(NOW).orElseThrow();

        assertThat(selection.current().number()).isEqualTo(3);
        assertThat(selection.current().createdAt()).isEqualTo(Instant.parse("2026-03-01T00:00:00Z"));
        assertThat(selection.previous().number()).isEqualTo(1);
        assertThat(selection.previous().createdAt()).isEqualTo(Instant.parse("2026-01-01T00:00:00.123456789Z"));
    }

    @Test
    void shouldKeepAVersionLiveUntilAScheduledDeletionTimePasses() {
        KvMetadata metadata = KvMetadata.parse(metadata(2, """
                "1": {"created_time": "2026-01-01T00:00:00Z", "deletion_time": "", "destroyed": false},
                "2": {"created_time": "2026-02-01T00:00:00Z", "deletion_time": "2026-11-22T13:00:00Z", "destroyed": false}
                """));

        assertThat(metadata.select(NOW).orElseThrow().current().number()).isEqualTo(2);
        assertThat(metadata.select(NOW.plusSeconds(7200)).orElseThrow().current().number()).isEqualTo(1);
        assertThat(metadata.select(NOW).orElseThrow().marker())
                .isNotEqualTo(metadata.select(NOW.plusSeconds(7200)).orElseThrow().marker());
    }

    @Test
    void shouldFindNothingWhenNoVersionIsLive() {
        KvMetadata metadata = KvMetadata.parse(metadata(1, """
                "1": {"created_time": "2026-01-01T00:00:00Z", "deletion_time": "2026-02-01T00:00:00Z", "destroyed": false}
                """));

        assertThat(metadata.select(NOW)).isEmpty();
    }

    @Test
    void shouldDescribeTheStateInTheMarkerAndMoveItWithEveryWrite() {
        String versions = """
                "1": {"created_time": "2026-01-01T00:00:00Z", "deletion_time": "", "destroyed": false},
                "2": {"created_time": "2026-02-01T00:00:00Z", "deletion_time": "", "destroyed": false}
                """;
        KvMetadata.Selection before = KvMetadata.parse(metadata(2, versions)).select(NOW).orElseThrow();
        KvMetadata.Selection same = KvMetadata.parse(metadata(2, versions)).select(NOW).orElseThrow();
        KvMetadata.Selection written = KvMetadata.parse(metadata(3, versions + """
                ,"3": {"created_time": "2026-03-01T00:00:00Z", "deletion_time": "2026-03-02T00:00:00Z", "destroyed": false}
                """)).select(NOW).orElseThrow();

        assertThat(before.marker()).isEqualTo(same.marker());
        assertThat(before.marker().value()).isEqualTo("kv2;current_version=2;current=2;previous=1");
        assertThat(written.marker()).isNotEqualTo(before.marker());
    }

    @Test
    void shouldRefuseAnAnswerThatIsNotKvVersion2Metadata() {
        assertThatThrownBy(() -> KvMetadata.parse("{\"data\":{\"value\":\"x\"}}".getBytes(StandardCharsets.UTF_8)))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("KV version 2");
    }

    private static byte[] metadata(long current, String versions) {
        return ("{\"data\":{\"current_version\":" + current + ",\"versions\":{" + versions + "}}}")
                .getBytes(StandardCharsets.UTF_8);
    }
}
