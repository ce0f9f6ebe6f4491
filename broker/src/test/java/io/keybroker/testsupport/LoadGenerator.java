package io.keybroker.testsupport;

import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.LongAdder;
import java.util.function.Supplier;

/**
 * Continuous load for integration tests: named streams of client threads that each send one request after the
 * other without pause, and a tally of every outcome by phase, stream and outcome label (usually the HTTP status).
 *
 * <p>Each thread gets its own {@link Call} from the stream's factory, so a thread can hold its own keep-alive
 * client (the way a workload does). The test moves the load from one phase to the next with {@link #phase}; a
 * request counts in the phase current when it was sent. Besides counts, the tally keeps for each outcome the
 * first and last send time, the first and last answer time and the slowest answer, which lets a test say "no
 * request sent after T got a 200" without keeping every request.
 *
 * <pre>{@code
 * try (LoadGenerator load = new LoadGenerator()) {
 *     load.stream("reads", 4, () -> LoadGenerator.get(TestPki.httpClient(ca, cert), request)).start();
 *     await().until(() -> load.count("reads", "200") > 100);
 *     load.phase("outage");
 *     ...
 * }
 * }</pre>
 */
public final class LoadGenerator implements AutoCloseable {

    /** One request of one thread; returns the outcome label. An exception counts as its simple class name. */
    @FunctionalInterface
    public interface Call {
        String send() throws Exception;
    }

    private record Key(String phase, String stream, String outcome) {
    }

    /** What is known about all requests of one key. Times are {@link System#nanoTime()} values. */
    public static final class Tally {
        private final LongAdder count = new LongAdder();
        private final AtomicLong firstSent = new AtomicLong(Long.MAX_VALUE);
        private final AtomicLong lastSent = new AtomicLong(Long.MIN_VALUE);
        private final AtomicLong firstAnswered = new AtomicLong(Long.MAX_VALUE);
        private final AtomicLong lastAnswered = new AtomicLong(Long.MIN_VALUE);
        private final AtomicLong slowestNanos = new AtomicLong();

        private void add(long sent, long answered) {
            count.increment();
            firstSent.accumulateAndGet(sent, Math::min);
            lastSent.accumulateAndGet(sent, Math::max);
            firstAnswered.accumulateAndGet(answered, Math::min);
            lastAnswered.accumulateAndGet(answered, Math::max);
            slowestNanos.accumulateAndGet(answered - sent, Math::max);
        }

        public long count() {
            return count.sum();
        }

        public long firstSent() {
            return firstSent.get();
        }

        public long lastSent() {
            return lastSent.get();
        }

        public long firstAnswered() {
            return firstAnswered.get();
        }

        public long lastAnswered() {
            return lastAnswered.get();
        }

        public Duration slowest() {
            return Duration.ofNanos(slowestNanos.get());
        }
    }

    private record Stream(String name, int threads, Supplier<Call> calls) {
    }

    private final List<Stream> streams = new ArrayList<>();
    private final List<Thread> threads = new ArrayList<>();
    private final List<String> phases = new CopyOnWriteArrayList<>();
    private final Map<Key, Tally> tallies = new ConcurrentHashMap<>();
    private volatile String phase = "start";
    private volatile boolean running;

    public LoadGenerator() {
        phases.add(phase);
    }

    /** Adds a stream of {@code threads} threads, each with its own call from {@code calls}; before {@link #start}. */
    public LoadGenerator stream(String name, int threads, Supplier<Call> calls) {
        if (running) {
            throw new IllegalStateException("add streams before start()");
        }
        streams.add(new Stream(name, threads, calls));
        return this;
    }

    /** A call that sends {@code request} with {@code client} and answers the HTTP status. */
    public static Call get(HttpClient client, HttpRequest request) {
        return () -> Integer.toString(client.send(request, HttpResponse.BodyHandlers.discarding()).statusCode());
    }

    public synchronized LoadGenerator start() {
        running = true;
        for (Stream stream : streams) {
            for (int i = 0; i < stream.threads(); i++) {
                Call call = stream.calls().get();
                Thread thread = new Thread(() -> loop(stream.name(), call), "load-" + stream.name() + "-" + i);
                thread.setDaemon(true);
                thread.start();
                threads.add(thread);
            }
        }
        return this;
    }

    private void loop(String stream, Call call) {
        while (running) {
            String sentIn = phase;
            long sent = System.nanoTime();
            String outcome;
            try {
                outcome = call.send();
            } catch (InterruptedException ex) {
                Thread.currentThread().interrupt();
                return;
            } catch (Exception ex) {
                outcome = ex.getClass().getSimpleName();
            }
            tallies.computeIfAbsent(new Key(sentIn, stream, outcome), k -> new Tally()).add(sent, System.nanoTime());
        }
    }

    /** Requests sent from now on count in {@code name}. */
    public void phase(String name) {
        phases.add(name);
        phase = name;
    }

    /** All requests of a stream with that outcome, in every phase. */
    public long count(String stream, String outcome) {
        return tallies.entrySet().stream()
                .filter(e -> e.getKey().stream().equals(stream) && e.getKey().outcome().equals(outcome))
                .mapToLong(e -> e.getValue().count()).sum();
    }

    /** The requests of one phase and stream: outcome to tally. */
    public Map<String, Tally> outcomes(String phase, String stream) {
        Map<String, Tally> result = new TreeMap<>();
        tallies.forEach((key, tally) -> {
            if (key.phase().equals(phase) && key.stream().equals(stream)) {
                result.put(key.outcome(), tally);
            }
        });
        return result;
    }

    /** The requests of one stream in every phase: outcome to the tallies of each phase. */
    public Map<String, List<Tally>> outcomes(String stream) {
        Map<String, List<Tally>> result = new TreeMap<>();
        tallies.forEach((key, tally) -> {
            if (key.stream().equals(stream)) {
                result.computeIfAbsent(key.outcome(), k -> new ArrayList<>()).add(tally);
            }
        });
        return result;
    }

    /** The latest send time of a request of {@code stream} with {@code outcome}, or {@code Long.MIN_VALUE}. */
    public long lastSent(String stream, String outcome) {
        return outcomes(stream).getOrDefault(outcome, List.of()).stream().mapToLong(Tally::lastSent)
                .max().orElse(Long.MIN_VALUE);
    }

    /** The earliest answer time of a request of {@code stream} with {@code outcome}, or {@code Long.MAX_VALUE}. */
    public long firstAnswered(String stream, String outcome) {
        return outcomes(stream).getOrDefault(outcome, List.of()).stream().mapToLong(Tally::firstAnswered)
                .min().orElse(Long.MAX_VALUE);
    }

    /** The phases in which requests were sent, in the order they began. */
    public List<String> phases() {
        return phases.stream().distinct().filter(p -> tallies.keySet().stream().anyMatch(k -> k.phase().equals(p)))
                .toList();
    }

    /** One line per phase and stream: the count of each outcome and the slowest answer. */
    public String report() {
        StringBuilder out = new StringBuilder();
        List<String> names = streams.stream().map(Stream::name).toList();
        for (String p : phases()) {
            for (String s : names) {
                Map<String, Tally> byOutcome = outcomes(p, s);
                if (byOutcome.isEmpty()) {
                    continue;
                }
                StringBuilder counts = new StringBuilder();
                byOutcome.forEach((outcome, tally) -> counts.append(counts.isEmpty() ? "" : ", ").append(outcome)
                        .append('=').append(tally.count()));
                long slowest = byOutcome.values().stream().map(Tally::slowest).max(Comparator.naturalOrder())
                        .orElse(Duration.ZERO).toMillis();
                out.append(String.format("  %-28s %-22s %s (slowest %d ms)%n", p, s, counts, slowest));
            }
        }
        return out.toString();
    }

    /** Stops every thread after its request in progress. */
    public void stop() throws InterruptedException {
        running = false;
        for (Thread thread : threads) {
            thread.join(30_000);
        }
    }

    @Override
    public void close() throws InterruptedException {
        stop();
    }
}
