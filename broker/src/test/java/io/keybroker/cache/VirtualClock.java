package io.keybroker.cache;

import java.time.Clock;
import java.time.Instant;
import java.time.ZoneId;
import java.time.ZoneOffset;
import java.util.concurrent.TimeUnit;
import reactor.test.scheduler.VirtualTimeScheduler;

/** A clock that reads a virtual-time scheduler, so advancing the scheduler moves both the clock and the tasks. */
final class VirtualClock extends Clock {

    static final Instant START = Instant.parse("2026-11-20T10:00:00Z");

    private final VirtualTimeScheduler scheduler;

    VirtualClock(VirtualTimeScheduler scheduler) {
        this.scheduler = scheduler;
    }

    @Override
    public Instant instant() {
        return START.plusMillis(scheduler.now(TimeUnit.MILLISECONDS));
    }

    @Override
    public ZoneId getZone() {
        return ZoneOffset.UTC;
    }

    @Override
    public Clock withZone(ZoneId zone) {
        throw new UnsupportedOperationException();
    }
}
