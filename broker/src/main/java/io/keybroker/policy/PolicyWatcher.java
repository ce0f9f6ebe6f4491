package io.keybroker.policy;

import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.Objects;
import java.util.concurrent.ScheduledFuture;
import java.util.function.Supplier;
import org.jspecify.annotations.Nullable;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.springframework.context.SmartLifecycle;
import org.springframework.core.task.TaskRejectedException;
import org.springframework.scheduling.TaskScheduler;

/**
 * Re-reads the policy directory when its content changes and puts the new policy in force as a whole.
 *
 * <p>It polls rather than using a {@code WatchService}: every {@code keybroker.policy.reload-interval} it reads the
 * files and compares a SHA-256 digest of their names and contents with the last one seen. That sees every way a
 * file can change, including Kubernetes' swap of the {@code ..data} link of a ConfigMap volume, which file-event
 * APIs miss. Files are parsed only when the digest moved.
 *
 * <p>A change is acted on only once two reads a short settle time apart ({@value #MAX_SETTLE_MILLIS} ms at most)
 * agree, so a file caught half-written by an editor or {@code cp} is not reported as a broken policy. Kubernetes
 * volume updates are atomic and pass at once.
 *
 * <p>An invalid change never takes effect: the last good policy set stays in force, every problem is logged with
 * its file, line and field, and listeners hear {@link PolicyReloadListener#reloadFailed}. The same broken content
 * is reported once, not on every poll; the next change is tried again.
 */
public final class PolicyWatcher implements SmartLifecycle {

    private static final Logger log = LoggerFactory.getLogger(PolicyWatcher.class);
    static final long MAX_SETTLE_MILLIS = 200;

    private final Path dir;
    private final Duration interval;
    private final PolicyLoader loader;
    private final PolicyStore store;
    private final Supplier<List<PolicyReloadListener>> listeners;
    private final Duration settle;
    private final TaskScheduler scheduler;
    private String lastDigest;
    private @Nullable String pendingDigest;
    private @Nullable ScheduledFuture<?> polls;
    private @Nullable ScheduledFuture<?> settleCheck;

    /**
     * @param dir the policy directory
     * @param interval how often to look for changes
     * @param loader reads and validates the directory
     * @param store where the policy in force lives; its current set is taken as already seen
     * @param listeners the listeners to tell about each reload, looked up at each reload
     * @param scheduler the broker's scheduler, which runs the polls between {@link #start} and {@link #stop}
     */
    public PolicyWatcher(Path dir, Duration interval, PolicyLoader loader, PolicyStore store,
            Supplier<List<PolicyReloadListener>> listeners, TaskScheduler scheduler) {
        this.dir = Objects.requireNonNull(dir, "dir must not be null");
        this.interval = Objects.requireNonNull(interval, "interval must not be null");
        if (interval.isNegative() || interval.isZero()) {
            throw new IllegalArgumentException("interval must be positive");
        }
        this.loader = Objects.requireNonNull(loader, "loader must not be null");
        this.store = Objects.requireNonNull(store, "store must not be null");
        this.listeners = Objects.requireNonNull(listeners, "listeners must not be null");
        this.scheduler = Objects.requireNonNull(scheduler, "scheduler must not be null");
        this.lastDigest = store.current().digest();
        Duration quarter = interval.dividedBy(4);
        this.settle = quarter.toMillis() > MAX_SETTLE_MILLIS ? Duration.ofMillis(MAX_SETTLE_MILLIS) : quarter;
    }

    /**
     * Looks at the directory once. A change seen for the first time is noted and looked at again after the settle
     * time; a change seen the same way twice in a row is applied (or rejected). The scheduler calls this; it is
     * public for tests.
     * @return whether a change was applied or rejected by this call
     */
    public synchronized boolean poll() {
        PolicyLoader.Snapshot snapshot = null;
        InvalidPolicyException unreadable = null;
        String digest;
        try {
            snapshot = loader.read(dir);
            digest = snapshot.digest();
        } catch (InvalidPolicyException ex) {
            unreadable = ex;
            digest = "unreadable:" + ex.messages();
        }
        if (digest.equals(lastDigest)) {
            pendingDigest = null;
            return false;
        }
        if (!digest.equals(pendingDigest)) {
            pendingDigest = digest;
            if (polls != null) {
                try {
                    settleCheck = scheduler.schedule(this::pollSafely, Instant.now().plus(settle));
                } catch (TaskRejectedException shuttingDown) {
                    // The context is closing: the change is picked up at the next start, if any.
                }
            }
            return false;
        }
        pendingDigest = null;
        if (unreadable != null) {
            return rejected(digest, unreadable.messages());
        }
        PolicySet set;
        try {
            set = loader.compile(snapshot);
        } catch (InvalidPolicyException ex) {
            return rejected(snapshot.digest(), ex.messages());
        }
        lastDigest = snapshot.digest();
        store.replace(set);
        log.info("Policy reloaded from {}: {} file(s), {} workload entries, {} grants (digest {})", dir,
                set.files().size(), set.workloads().size(), set.grants().size(), set.digest());
        set.warnings().forEach(warning -> log.warn("Policy warning: {}", warning));
        for (PolicyReloadListener listener : listeners.get()) {
            try {
                listener.reloaded(set);
            } catch (RuntimeException listenerFailure) {
                log.error("Policy reload listener {} failed", listener.getClass().getName(), listenerFailure);
            }
        }
        return true;
    }

    private boolean rejected(String digest, List<String> errors) {
        if (digest.equals(lastDigest)) {
            return false;
        }
        lastDigest = digest;
        log.error("Policy change in {} rejected; the previous policy stays in force. Fix:\n  - {}", dir,
                String.join("\n  - ", errors));
        for (PolicyReloadListener listener : listeners.get()) {
            try {
                listener.reloadFailed(errors);
            } catch (RuntimeException listenerFailure) {
                log.error("Policy reload listener {} failed", listener.getClass().getName(), listenerFailure);
            }
        }
        return true;
    }

    private synchronized void pollSafely() {
        if (polls == null) {
            return; // stopped while this run waited for the lock
        }
        try {
            poll();
        } catch (RuntimeException ex) {
            // Logged here, with the directory, rather than by the scheduler's generic handler.
            log.error("Checking the policy directory {} failed; will try again", dir, ex);
        }
    }

    @Override
    public synchronized void start() {
        if (polls != null) {
            return;
        }
        polls = scheduler.scheduleWithFixedDelay(this::pollSafely, Instant.now().plus(interval), interval);
    }

    /**
     * Cancels the polls. Holding the lock that {@link #poll} holds, it returns only after a poll in progress has
     * finished, and a poll that was about to start finds the watcher stopped: nothing reloads after it returns.
     */
    @Override
    public synchronized void stop() {
        // Cancelled without interrupting: interrupting a poll could make a file read fail and report a reload
        // failure that never happened. A pending settle check is dropped instead of run.
        if (polls != null) {
            polls.cancel(false);
            polls = null;
        }
        if (settleCheck != null) {
            settleCheck.cancel(false);
            settleCheck = null;
        }
        pendingDigest = null;
    }

    @Override
    public synchronized boolean isRunning() {
        return polls != null;
    }
}
