package io.keybroker.bench;

import java.io.IOException;
import java.net.SocketTimeoutException;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.locks.LockSupport;
import org.HdrHistogram.Histogram;

/**
 * Drives one target over a fixed set of connections, one platform thread per connection.
 *
 * <p>Closed loop: each connection sends its next request as soon as the previous answer is in, for a fixed time;
 * the rate is what the server (and this generator, on the same cores) can do.
 *
 * <p>Open loop: requests have an intended send time on a fixed schedule ({@code start + i / rate}); whichever
 * connection is free takes the next one, waits for its time, sends it, and its latency is counted from the
 * intended time, not from when it could be sent. A server that stalls therefore shows the delay of every request
 * that should have gone out meanwhile (no coordinated omission). Requests still unsent when the drain time runs
 * out are counted with the delay they had reached at that point, a lower bound.
 */
final class LoadRunner implements AutoCloseable {

    /** Latencies are recorded in microseconds up to ten minutes, to three significant digits. */
    static final long MAX_MICROS = 600_000_000L;

    private final Target target;
    private final List<HttpConnection> connections = new ArrayList<>();

    LoadRunner(Target target, int connections) {
        this(target, connections, 0);
    }

    /** With {@code readTimeoutMillis} > 0, every connection is {@link HttpConnection#strict strict}. */
    LoadRunner(Target target, int connections, int readTimeoutMillis) {
        this.target = target;
        for (int i = 0; i < connections; i++) {
            HttpConnection connection = target.connection();
            this.connections.add(readTimeoutMillis > 0 ? connection.strict(readTimeoutMillis) : connection);
        }
    }

    static Histogram histogram() {
        return new Histogram(MAX_MICROS, 3);
    }

    void openAll() throws IOException {
        for (HttpConnection connection : connections) {
            connection.open();
        }
    }

    /** Opens every connection it can; returns how many could not be opened (they are tried again on use). */
    int openEach() {
        int failed = 0;
        for (HttpConnection connection : connections) {
            try {
                connection.open();
            } catch (IOException ex) {
                connection.close();
                failed++;
            }
        }
        return failed;
    }

    /** Sends each prepared request once (warming a cache over all names), spread over the connections. */
    Phase each() throws InterruptedException {
        int n = connections.size();
        int size = target.requests.size();
        Worker[] workers = new Worker[n];
        long start = System.nanoTime();
        for (int w = 0; w < n; w++) {
            final int first = w;
            workers[w] = new Worker(connections.get(w), worker -> {
                for (int i = first; i < size; i += n) {
                    worker.send(target.requests.get(i), System.nanoTime());
                }
            });
        }
        runAll(workers);
        return Phase.of(workers, seconds(start), 0);
    }

    /** For every connection, whether the body it is served contains the expected bytes. Returns mismatches. */
    int verify(byte[] expected) throws IOException {
        int mismatches = 0;
        int[] status = new int[1];
        for (int i = 0; i < connections.size(); i++) {
            byte[] body = connections.get(i).exchangeForBody(target.requests.get(i % target.requests.size()), status);
            if (status[0] != 200 || indexOf(body, expected) < 0) {
                mismatches++;
            }
        }
        return mismatches;
    }

    Phase closed(double durationSeconds) throws InterruptedException {
        int n = connections.size();
        int size = target.requests.size();
        long start = System.nanoTime();
        long end = start + (long) (durationSeconds * 1e9);
        Worker[] workers = new Worker[n];
        for (int w = 0; w < n; w++) {
            final int first = w;
            workers[w] = new Worker(connections.get(w), worker -> {
                int i = first;
                long now = System.nanoTime();
                while (now < end) {
                    now = worker.send(target.requests.get(i % size), now);
                    i += n;
                }
            });
        }
        runAll(workers);
        return Phase.of(workers, seconds(start), 0);
    }

    Phase open(double rate, double durationSeconds, double drainSeconds) throws InterruptedException {
        int n = connections.size();
        int size = target.requests.size();
        long total = Math.max(1, (long) (rate * durationSeconds));
        double interval = 1e9 / rate;
        long start = System.nanoTime() + 20_000_000L;
        long drainDeadline = start + (long) ((durationSeconds + drainSeconds) * 1e9);
        AtomicLong next = new AtomicLong();
        AtomicLong unsent = new AtomicLong();
        Worker[] workers = new Worker[n];
        for (int w = 0; w < n; w++) {
            workers[w] = new Worker(connections.get(w), worker -> {
                long slot;
                while ((slot = next.getAndIncrement()) < total) {
                    long intended = start + (long) (slot * interval);
                    long now = System.nanoTime();
                    if (now > drainDeadline) {
                        // Never sent: count it with the delay it has already reached.
                        worker.latency.recordValue(Math.min(MAX_MICROS, (now - intended) / 1000));
                        unsent.incrementAndGet();
                        continue;
                    }
                    while (intended - now > 0) {
                        LockSupport.parkNanos(intended - now);
                        now = System.nanoTime();
                    }
                    worker.lateness.recordValue(Math.min(MAX_MICROS, (now - intended) / 1000));
                    worker.send(target.requests.get((int) (slot % size)), now, intended);
                }
            });
        }
        runAll(workers);
        return Phase.of(workers, (workers.length == 0 ? 0 : lastEnd(workers) - start) / 1e9, unsent.get());
    }

    private static long lastEnd(Worker[] workers) {
        long last = Long.MIN_VALUE;
        for (Worker worker : workers) {
            last = Math.max(last, worker.lastEnd);
        }
        return last;
    }

    private static void runAll(Worker[] workers) throws InterruptedException {
        List<Thread> threads = new ArrayList<>();
        for (Worker worker : workers) {
            Thread thread = new Thread(worker, "load-" + threads.size());
            thread.setDaemon(true);
            threads.add(thread);
            thread.start();
        }
        for (Thread thread : threads) {
            thread.join();
        }
    }

    private static double seconds(long start) {
        return (System.nanoTime() - start) / 1e9;
    }

    static int indexOf(byte[] haystack, byte[] needle) {
        outer:
        for (int i = 0; i + needle.length <= haystack.length; i++) {
            for (int j = 0; j < needle.length; j++) {
                if (haystack[i + j] != needle[j]) {
                    continue outer;
                }
            }
            return i;
        }
        return -1;
    }

    @Override
    public void close() {
        connections.forEach(HttpConnection::close);
    }

    long connects() {
        return connections.stream().mapToLong(HttpConnection::connects).sum();
    }

    interface Body {
        void run(Worker worker) throws IOException;
    }

    /** The first distinct outcomes other than 200 and 503 with Retry-After, across all workers (no bodies, ever). */
    private final List<String> firstNonConforming = Collections.synchronizedList(new ArrayList<>());

    List<String> firstNonConforming() {
        return List.copyOf(firstNonConforming);
    }

    /** One connection's thread: its own histograms and counts (merged at the end, so recording takes no lock). */
    final class Worker implements Runnable {
        final HttpConnection connection;
        final Body body;
        final Histogram latency = histogram();
        final Histogram service = histogram();
        final Histogram lateness = histogram();
        long requests;
        /** Anything but a 2xx answer: the figure every phase reports. */
        long errors;
        /** The overload phase's classes: every request lands in exactly one. */
        long ok;
        long shedRetryAfter;
        long shedNoRetry;
        long otherStatus;
        long ioErrors;
        long timeouts;
        long lastEnd = System.nanoTime();
        IOException lastError;

        Worker(HttpConnection connection, Body body) {
            this.connection = connection;
            this.body = body;
        }

        /** Keeps the first of each distinct outcome, up to five, so one frequent cause does not hide another. */
        private void nonConforming(String what) {
            synchronized (firstNonConforming) {
                if (firstNonConforming.size() < 5 && !firstNonConforming.contains(what)) {
                    firstNonConforming.add(what);
                }
            }
        }

        /** Sends one request now; its latency counts from {@code sentAt}. Returns the time the answer was in. */
        long send(byte[] request, long sentAt) {
            return send(request, sentAt, sentAt);
        }

        long send(byte[] request, long sentAt, long intended) {
            try {
                int status = connection.exchange(request);
                if (status < 200 || status > 299) {
                    errors++;
                }
                if (status == 200) {
                    ok++;
                } else if (status == 503 && connection.lastHadRetryAfter()) {
                    shedRetryAfter++;
                } else if (status == 503) {
                    shedNoRetry++;
                    nonConforming("503 without Retry-After");
                } else {
                    otherStatus++;
                    nonConforming("status " + status);
                }
            } catch (IOException ex) {
                errors++;
                lastError = ex;
                // SSLSocket reports a read timeout as SocketTimeoutException too (a subclass of IOException).
                if (ex instanceof SocketTimeoutException) {
                    timeouts++;
                } else {
                    ioErrors++;
                }
                nonConforming(ex.getClass().getSimpleName() + ": " + ex.getMessage());
                // Back off a little so a refusing server is not met by a spinning loop.
                LockSupport.parkNanos(10_000_000L);
            }
            long end = System.nanoTime();
            requests++;
            latency.recordValue(Math.min(MAX_MICROS, (end - intended) / 1000));
            service.recordValue(Math.min(MAX_MICROS, (end - sentAt) / 1000));
            lastEnd = end;
            return end;
        }

        @Override
        public void run() {
            try {
                body.run(this);
            } catch (IOException | RuntimeException ex) {
                lastError = ex instanceof IOException io ? io : new IOException(ex);
            }
        }
    }

    /** Every request of a phase in exactly one class (see {@link Worker#send}). */
    record Outcomes(long ok, long shedRetryAfter, long shedNoRetry, long otherStatus, long ioErrors, long timeouts) {

        /** Only 200 and 503 with Retry-After: what a client can act on. */
        boolean conforming() {
            return shedNoRetry == 0 && otherStatus == 0 && ioErrors == 0 && timeouts == 0;
        }
    }

    /** The outcome of one phase, all connections merged. */
    record Phase(long requests, long errors, long unsent, double seconds, Histogram latency, Histogram service,
            Histogram lateness, String lastError, Outcomes outcomes) {

        static Phase of(Worker[] workers, double seconds, long unsent) {
            Histogram latency = histogram();
            Histogram service = histogram();
            Histogram lateness = histogram();
            long requests = 0;
            long errors = 0;
            long[] o = new long[6];
            String lastError = null;
            for (Worker worker : workers) {
                latency.add(worker.latency);
                service.add(worker.service);
                lateness.add(worker.lateness);
                requests += worker.requests;
                errors += worker.errors;
                o[0] += worker.ok;
                o[1] += worker.shedRetryAfter;
                o[2] += worker.shedNoRetry;
                o[3] += worker.otherStatus;
                o[4] += worker.ioErrors;
                o[5] += worker.timeouts;
                if (worker.lastError != null) {
                    lastError = worker.lastError.toString();
                }
            }
            return new Phase(requests, errors, unsent, seconds, latency, service, lateness, lastError,
                    new Outcomes(o[0], o[1], o[2], o[3], o[4], o[5]));
        }

        double rate() {
            return seconds <= 0 ? 0 : requests / seconds;
        }
    }
}
