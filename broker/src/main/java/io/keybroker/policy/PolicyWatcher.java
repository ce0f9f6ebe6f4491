package io.keybroker.policy;

import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Objects;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.ScheduledThreadPoolExecutor;
import java.util.concurrent.TimeUnit;
import java.util.function.Supplier;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.springframework.context.SmartLifecycle;

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
    private String lastDigest;
    private String pendingDigest;
    private ScheduledExecutorService executor;

    /**
     * @param dir the policy directory
     * @param interval how often to look for changes
     * @param loader reads and validates the directory
     * @param store where the policy in force lives; its current set is taken as already seen
     * @param listeners the listeners to tell about each reload, looked up at each reload
     */
    public PolicyWatcher(Path dir, Duration interval, PolicyLoader loader, PolicyStore store,
            Supplier<List<PolicyReloadListener>> listeners) {
        this.dir = Objects.requireNonNull(dir, "dir must not be null");
        this.interval = Objects.requireNonNull(interval, "interval must not be null");
        if (interval.isNegative() || interval.isZero()) {
            throw new IllegalArgumentException("interval must be positive");
        }
        this.loader = Objects.requireNonNull(loader, "loader must not be null");
        this.store = Objects.requireNonNull(store, "store must not be null");
        this.listeners = Objects.requireNonNull(listeners, "listeners must not be null");
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
            if (executor != null && !executor.isShutdown()) {
                executor.schedule(this::pollSafely, settle.toNanos(), TimeUnit.NANOSECONDS);
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

    private void pollSafely() {
        try {
            poll();
        } catch (RuntimeException ex) {
            // A scheduled task that throws is never run again: log and keep watching.
            log.error("Checking the policy directory {} failed; will try again", dir, ex);
        }
    }

    @Override
    public synchronized void start() {
        if (executor != null) {
            return;
        }
        ScheduledThreadPoolExecutor scheduler = new ScheduledThreadPoolExecutor(1, task -> {
            Thread thread = new Thread(task, "keybroker-policy-watcher");
            thread.setDaemon(true);
            return thread;
        });
        // On stop, drop a pending settle check instead of running it.
        scheduler.setExecuteExistingDelayedTasksAfterShutdownPolicy(false);
        executor = scheduler;
        long nanos = interval.toNanos();
        executor.scheduleWithFixedDelay(this::pollSafely, nanos, nanos, TimeUnit.NANOSECONDS);
    }

    @Override
    public void stop() {
        ScheduledExecutorService running;
        synchronized (this) {
            running = executor;
            executor = null;
        }
        if (running != null) {
            // shutdown() cancels the next polls and lets a poll in progress finish: interrupting it could make a file
            // read fail and report a reload failure that never happened.
            running.shutdown();
            try {
                if (!running.awaitTermination(5, TimeUnit.SECONDS)) {
                    running.shutdownNow();
                }
            } catch (InterruptedException ex) {
                running.shutdownNow();
                Thread.currentThread().interrupt();
            }
        }
    }

    @Override
    public synchronized boolean isRunning() {
        return executor != null;
    }
}
