package io.keybroker.stripe;

import static org.assertj.core.api.Assertions.assertThat;

import java.time.Duration;
import java.time.Instant;
import org.junit.jupiter.api.Test;

class ReplayCacheTests {

    private static final Instant NOW = Instant.parse("2026-12-07T12:00:00Z");
    private static final Duration WINDOW = Duration.ofMinutes(5);

    @Test
    void shouldRefuseTheSameEventIdInsideItsWindowOnly() {
        ReplayCache cache = new ReplayCache(10);
        assertThat(cache.remember("s", "evt_1", NOW.plus(WINDOW), NOW)).isEqualTo(ReplayCache.Result.NEW);
        assertThat(cache.remember("s", "evt_1", NOW.plus(WINDOW), NOW.plusSeconds(299)))
                .isEqualTo(ReplayCache.Result.REPLAY);
        assertThat(cache.remember("other", "evt_1", NOW.plus(WINDOW), NOW)).isEqualTo(ReplayCache.Result.NEW);
        assertThat(cache.remember("s", "evt_1", NOW.plus(WINDOW).plus(WINDOW), NOW.plus(WINDOW)))
                .isEqualTo(ReplayCache.Result.NEW);
    }

    @Test
    void shouldStayBoundedAndRefuseRatherThanForgetAnIdStillInsideItsWindow() {
        ReplayCache cache = new ReplayCache(3);
        for (int i = 0; i < 3; i++) {
            assertThat(cache.remember("s", "evt_" + i, NOW.plus(WINDOW), NOW)).isEqualTo(ReplayCache.Result.NEW);
        }
        assertThat(cache.remember("s", "evt_3", NOW.plus(WINDOW), NOW)).isEqualTo(ReplayCache.Result.FULL);
        assertThat(cache.untilRoom(NOW)).isGreaterThanOrEqualTo(WINDOW);
        assertThat(cache.remember("s", "evt_0", NOW.plus(WINDOW), NOW)).isEqualTo(ReplayCache.Result.REPLAY);
        // Once the oldest expire, there is room again, and the size never passes the bound.
        assertThat(cache.remember("s", "evt_3", NOW.plus(WINDOW.multipliedBy(2)), NOW.plus(WINDOW)))
                .isEqualTo(ReplayCache.Result.NEW);
        assertThat(cache.size()).isLessThanOrEqualTo(3);
    }
}
