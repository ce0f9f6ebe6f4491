package io.keybroker.cache;

import java.util.Objects;
import java.util.concurrent.atomic.AtomicBoolean;
import reactor.core.publisher.Flux;

/**
 * A set of locations the cache keeps loaded and polled for one watcher, taken when the watch is granted (so a
 * watch the cache cannot hold is refused before anything is promised to the caller) and given back by
 * {@link #close()}.
 */
public final class Watch implements AutoCloseable {

    private final Flux<RotationEvent> events;
    private final Runnable release;
    private final AtomicBoolean closed = new AtomicBoolean();

    Watch(Flux<RotationEvent> events, Runnable release) {
        this.events = Objects.requireNonNull(events, "events must not be null");
        this.release = Objects.requireNonNull(release, "release must not be null");
    }

    /** The rotations of the watched locations (hot; no replay). Never carries a value. */
    public Flux<RotationEvent> events() {
        return events;
    }

    /** Stops keeping the locations loaded for this watcher; later calls do nothing. */
    @Override
    public void close() {
        if (closed.compareAndSet(false, true)) {
            release.run();
        }
    }
}
