package io.keybroker.bench;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.SecureRandom;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.CyclicBarrier;
import java.util.concurrent.atomic.AtomicInteger;
import org.HdrHistogram.Histogram;

/**
 * The steps of scripts/bench.sh that need more than bash: the load generator, the single-flight check, peer
 * set-up and the report. Each step appends its figures to the run's results file ({@code --results}).
 *
 * <pre>
 *   load        --label L --pid PID [--connections 16 --warmup 3 --duration 8 --rate-half auto|R|none
 *               --rate-common R|none --drain 2 --expect-file F --each true --new-connections N]
 *               + target options (see Target)
 *               [--audit-file F: count the audit lines the max phase adds]
 *   overload    --label L --pid PID --rate R [--connections 256 --duration 8 --drain 6 --read-timeout 5]
 *               + target options
 *   burst       --label L --clients K --metrics URL [--metric NAME --metric-filter TEXT] + target options
 *   setup-moto  --endpoint URL --name ID --value-file F [--bulk-prefix P --bulk-count N] [--extra ID]...
 *   setup-bao   --endpoint URL --token T --path P --value-file F
 *   report      --doc FILE
 * </pre>
 */
public final class Bench {

    private Bench() {
    }

    public static void main(String[] argv) throws Exception {
        if (argv.length == 0) {
            System.err.println("usage: java -jar keybroker-bench.jar load|burst|setup-moto|setup-bao|report ...");
            System.exit(2);
        }
        Args args = new Args(argv, 1);
        switch (argv[0]) {
            case "load" -> load(args);
            case "overload" -> overload(args);
            case "burst" -> burst(args);
            case "setup-moto" -> setupMoto(args);
            case "setup-bao" -> setupBao(args);
            case "report" -> Report.write(Results.read(Path.of(args.get("results"))), Path.of(args.get("doc")));
            default -> {
                System.err.println("unknown step " + argv[0]);
                System.exit(2);
            }
        }
    }

    // ------------------------------------------------------------------------------------------------ load

    private static void load(Args args) throws Exception {
        String label = args.get("label");
        ProcessStats peer = new ProcessStats(Long.parseLong(args.get("pid")), args.integer("clk-tck", 100));
        ProcessStats self = ProcessStats.self(args.integer("clk-tck", 100));
        int connections = args.integer("connections", 16);
        double warmup = args.decimal("warmup", 3);
        double duration = args.decimal("duration", 8);
        double drain = args.decimal("drain", 2);
        String rateHalf = args.get("rate-half", "none");
        String rateCommon = args.get("rate-common", "none");
        String expectFile = args.get("expect-file", null);
        boolean each = Boolean.parseBoolean(args.get("each", "false"));
        int newConnections = args.integer("new-connections", 0);
        String auditFile = args.get("audit-file", null);
        Results results = new Results(Path.of(args.get("results")));
        Target target = Target.from(args);
        args.checkAllUsed();
        String k = label + ".";

        try (LoadRunner runner = new LoadRunner(target, connections)) {
            runner.openAll();
            if (expectFile != null) {
                byte[] expected = Files.readString(Path.of(expectFile), StandardCharsets.UTF_8).trim()
                        .getBytes(StandardCharsets.UTF_8);
                int mismatches = runner.verify(expected);
                results.put(k + "verify_mismatches", mismatches);
                if (mismatches > 0) {
                    // Not the value: only that it differs (the bench's value is a throw-away test key anyway).
                    System.err.println(label + ": " + mismatches + " of " + connections
                            + " connections were not served the expected secret");
                }
            }
            if (each) {
                LoadRunner.Phase warm = runner.each();
                results.put(k + "each.requests", warm.requests());
                results.put(k + "each.errors", warm.errors());
                say(label, "read each of " + target.requests.size() + " names once", warm);
            }
            if (warmup > 0) {
                say(label, "warm-up", runner.closed(warmup));
            }
            AuditLines audit = auditFile == null ? null : new AuditLines(Path.of(auditFile));
            long[] split0 = peer.cpuSplitMicros();
            long cpu0 = split0[0] + split0[1];
            long self0 = self.cpuMicros();
            LoadRunner.Phase max = runner.closed(duration);
            long[] split1 = peer.cpuSplitMicros();
            long cpu1 = split1[0] + split1[1];
            long self1 = self.cpuMicros();
            if (audit != null) {
                // Counted after the CPU figures, so reading the file is not charged to the phase. The broker
                // writes a request's line before it answers, so every answer in means its line is there.
                long lines = audit.added();
                results.put(k + "max.audit_lines", lines);
                results.put(k + "max.audit_lines_per_req", max.requests() == 0 ? 0.0
                        : (double) lines / max.requests());
            }
            results.put(k + "max.cpu_sys_fraction", cpu1 == cpu0 ? 0.0
                    : (double) (split1[1] - split0[1]) / (cpu1 - cpu0));
            results.put(k + "max.rps", max.rate());
            results.put(k + "max.requests", max.requests());
            results.put(k + "max.errors", max.errors());
            results.put(k + "max.cpu_us_per_req", perRequest(cpu1 - cpu0, max.requests()));
            results.put(k + "max.cpu_share", (cpu1 - cpu0) / (max.seconds() * 1e6));
            results.put(k + "max.loadgen_cpu_us_per_req", perRequest(self1 - self0, max.requests()));
            results.put(k + "max.rss_kib", peer.statusKib("VmRSS"));
            results.put(k + "max.rss_anon_kib", peer.statusKib("RssAnon"));
            results.put(k + "max.rss_file_kib", peer.statusKib("RssFile"));
            results.put(k + "max.rss_aot_kib", peer.mappedKib(".aot"));
            percentiles(results, k + "max.", max.latency());
            say(label, "closed loop, " + connections + " connections", max);

            double half = switch (rateHalf) {
                case "none" -> 0;
                case "auto" -> Math.floor(max.rate() / 2 / 100) * 100;
                default -> Double.parseDouble(rateHalf);
            };
            if (half > 0) {
                openPhase(runner, results, k + "half.", label, half, duration, drain, peer, self);
            }
            if (!"none".equals(rateCommon)) {
                openPhase(runner, results, k + "common.", label, Double.parseDouble(rateCommon), duration, drain,
                        peer, self);
            }
            if (newConnections > 0) {
                newConnections(target, results, k, label, newConnections, peer);
            }
            results.put(k + "hwm_kib", peer.statusKib("VmHWM"));
            results.put(k + "connects", runner.connects());
        }
    }

    /**
     * Overload: many connections and an open-loop rate above what the peer can serve. A peer that sheds load
     * properly answers every request with 200 or with 503 and Retry-After; anything else (another status, a 503
     * without Retry-After, a reset or early close, no answer within the read timeout) is counted as such, and the
     * first few of them are recorded (status or exception message, never a body) so the cause can be found.
     */
    private static void overload(Args args) throws Exception {
        String label = args.get("label");
        ProcessStats peer = new ProcessStats(Long.parseLong(args.get("pid")), args.integer("clk-tck", 100));
        int connections = args.integer("connections", 256);
        double rate = args.decimal("rate", 0);
        double duration = args.decimal("duration", 8);
        // Longer than the read timeout: a request sent at the end of the schedule may still time out and be counted.
        double drain = args.decimal("drain", 6);
        int readTimeout = (int) (args.decimal("read-timeout", 5) * 1000);
        Results results = new Results(Path.of(args.get("results")));
        Target target = Target.from(args);
        args.checkAllUsed();
        if (rate <= 0) {
            throw new IllegalArgumentException("--rate must be above 0");
        }
        String k = label + ".";
        try (LoadRunner runner = new LoadRunner(target, connections, readTimeout)) {
            // A connection that cannot be opened now is counted, not fatal: the phase opens it again on first use.
            int connectErrors = runner.openEach();
            long cpu0 = peer.cpuMicros();
            LoadRunner.Phase phase = runner.open(rate, duration, drain);
            long cpu1 = peer.cpuMicros();
            LoadRunner.Outcomes o = phase.outcomes();
            results.put(k + "connections", connections);
            results.put(k + "connect_errors_before", connectErrors);
            results.put(k + "target", rate);
            results.put(k + "achieved", phase.rate());
            results.put(k + "requests", phase.requests());
            results.put(k + "ok", o.ok());
            results.put(k + "shed_retry_after", o.shedRetryAfter());
            results.put(k + "shed_no_retry", o.shedNoRetry());
            results.put(k + "other_status", o.otherStatus());
            results.put(k + "io_errors", o.ioErrors());
            results.put(k + "timeouts", o.timeouts());
            results.put(k + "unsent", phase.unsent());
            results.put(k + "read_timeout_ms", readTimeout);
            results.put(k + "cpu_us_per_req", perRequest(cpu1 - cpu0, phase.requests()));
            results.put(k + "cpu_share", phase.seconds() <= 0 ? 0.0 : (cpu1 - cpu0) / (phase.seconds() * 1e6));
            results.put(k + "rss_kib", peer.statusKib("VmRSS"));
            percentiles(results, k, phase.latency());
            results.put(k + "service_p99_us", phase.service().getValueAtPercentile(99));
            results.put(k + "conforming", o.conforming() && connectErrors == 0);
            List<String> first = runner.firstNonConforming();
            for (int i = 0; i < first.size(); i++) {
                // One line per value: a message with a line break is folded.
                results.put(k + "first_nonconforming." + i, first.get(i).replaceAll("[\\r\\n]+", " "));
            }
            say(label, String.format(Locale.ROOT, "overload, %d conn, open loop at %.0f req/s", connections, rate),
                    phase);
            progress(label, "outcomes", String.format(Locale.ROOT, "200 %d  503+Retry-After %d  503 without %d  "
                    + "other status %d  I/O errors %d  timeouts %d  unsent %d%s", o.ok(), o.shedRetryAfter(),
                    o.shedNoRetry(), o.otherStatus(), o.ioErrors(), o.timeouts(), phase.unsent(),
                    connectErrors > 0 ? "  connections not opened before " + connectErrors : ""));
            for (String what : first) {
                progress(label, "non-conforming (first ones)", what);
            }
        }
    }

    /**
     * Lines added to an audit trail since construction: the live file and its rotated siblings (same name plus a
     * suffix), each known by its file key (device and inode), so a rotation (a rename) is not counted twice.
     */
    private static final class AuditLines {
        private final Path live;
        private final Map<Object, Long> sizes = new java.util.HashMap<>();

        AuditLines(Path live) throws IOException {
            this.live = live;
            for (Path file : files()) {
                sizes.put(key(file), Files.size(file));
            }
        }

        long added() throws IOException {
            long lines = 0;
            for (Path file : files()) {
                long from = sizes.getOrDefault(key(file), 0L);
                try (java.nio.channels.SeekableByteChannel channel = Files.newByteChannel(file)) {
                    channel.position(from);
                    java.nio.ByteBuffer buffer = java.nio.ByteBuffer.allocate(64 * 1024);
                    while (channel.read(buffer) > 0) {
                        buffer.flip();
                        while (buffer.hasRemaining()) {
                            if (buffer.get() == '\n') {
                                lines++;
                            }
                        }
                        buffer.clear();
                    }
                }
            }
            return lines;
        }

        private List<Path> files() throws IOException {
            List<Path> files = new ArrayList<>();
            Path dir = live.toAbsolutePath().getParent();
            String name = live.getFileName().toString();
            try (java.util.stream.Stream<Path> list = Files.list(dir)) {
                list.filter(p -> p.getFileName().toString().startsWith(name)).forEach(files::add);
            }
            return files;
        }

        private static Object key(Path file) throws IOException {
            return Files.readAttributes(file, java.nio.file.attribute.BasicFileAttributes.class).fileKey();
        }
    }

    private static void openPhase(LoadRunner runner, Results results, String k, String label, double rate,
            double duration, double drain, ProcessStats peer, ProcessStats self) throws Exception {
        long cpu0 = peer.cpuMicros();
        long self0 = self.cpuMicros();
        LoadRunner.Phase phase = runner.open(rate, duration, drain);
        long cpu1 = peer.cpuMicros();
        long self1 = self.cpuMicros();
        results.put(k + "target", rate);
        results.put(k + "achieved", phase.rate());
        results.put(k + "requests", phase.requests());
        results.put(k + "errors", phase.errors());
        results.put(k + "unsent", phase.unsent());
        results.put(k + "cpu_us_per_req", perRequest(cpu1 - cpu0, phase.requests()));
        results.put(k + "loadgen_cpu_us_per_req", perRequest(self1 - self0, phase.requests()));
        results.put(k + "rss_kib", peer.statusKib("VmRSS"));
        percentiles(results, k, phase.latency());
        results.put(k + "service_p99_us", phase.service().getValueAtPercentile(99));
        results.put(k + "lateness_p99_us", phase.lateness().getValueAtPercentile(99));
        say(label, String.format(Locale.ROOT, "open loop at %.0f req/s", rate), phase);
    }

    /**
     * N connections one after the other, each a full TLS handshake (a fresh client context, so nothing to resume)
     * and one request: what a client that does not keep connections alive costs the server.
     */
    private static void newConnections(Target target, Results results, String k, String label, int n,
            ProcessStats peer) throws Exception {
        Histogram latency = LoadRunner.histogram();
        int errors = 0;
        long cpu0 = peer.cpuMicros();
        long t0 = System.nanoTime();
        for (int i = 0; i < n; i++) {
            long start = System.nanoTime();
            HttpConnection connection = target.freshConnection();
            try {
                connection.open();
                if (connection.exchange(target.requests.get(0)) != 200) {
                    errors++;
                }
            } catch (IOException ex) {
                errors++;
            } finally {
                connection.close();
            }
            latency.recordValue(Math.max(1, (System.nanoTime() - start) / 1_000));
        }
        double seconds = (System.nanoTime() - t0) / 1e9;
        long cpu1 = peer.cpuMicros();
        results.put(k + "connect.count", n);
        results.put(k + "connect.errors", errors);
        results.put(k + "connect.rate", n / seconds);
        results.put(k + "connect.cpu_us_per_conn", perRequest(cpu1 - cpu0, n));
        results.put(k + "connect.p50_us", latency.getValueAtPercentile(50));
        results.put(k + "connect.p99_us", latency.getValueAtPercentile(99));
        progress(label, n + " new connections, full handshake", String.format(Locale.ROOT, "%8.0f conn/s  p50 "
                + "%7.3f ms  p99 %7.3f ms  server CPU %.0f µs/conn  errors %d", n / seconds,
                latency.getValueAtPercentile(50) / 1000.0, latency.getValueAtPercentile(99) / 1000.0,
                perRequest(cpu1 - cpu0, n), errors));
    }

    private static double perRequest(long cpuMicros, long requests) {
        return requests == 0 ? 0 : (double) cpuMicros / requests;
    }

    private static void percentiles(Results results, String k, Histogram h) throws IOException {
        results.put(k + "p50_us", h.getValueAtPercentile(50));
        results.put(k + "p99_us", h.getValueAtPercentile(99));
        results.put(k + "p999_us", h.getValueAtPercentile(99.9));
        results.put(k + "max_us", h.getMaxValue());
    }

    private static void say(String label, String what, LoadRunner.Phase phase) {
        Histogram h = phase.latency();
        progress(label, what, String.format(Locale.ROOT, "%8.0f req/s  p50 %7.3f ms  p99 %7.3f ms  p99.9 %7.3f ms"
                + "  errors %d%s%s", phase.rate(), h.getValueAtPercentile(50) / 1000.0,
                h.getValueAtPercentile(99) / 1000.0, h.getValueAtPercentile(99.9) / 1000.0, phase.errors(),
                phase.unsent() > 0 ? "  unsent " + phase.unsent() : "",
                phase.lastError() != null && phase.errors() > 0 ? "  (last: " + phase.lastError() + ")" : ""));
    }

    /**
     * One progress line of a phase on stdout. This is a command-line tool: stdout is its interface (bench.sh
     * shows it as the run goes), so it prints instead of logging, and it prints figures only, never a response.
     */
    private static void progress(String label, String what, String figures) {
        System.out.printf(Locale.ROOT, "[bench] %-14s %-36s %s%n", label, what, figures);
    }

    // ----------------------------------------------------------------------------------------------- burst

    /**
     * K connections, handshakes done, released together on one request each; the backend-call counter is read
     * before and after. Single-flight means the counter moves by one whatever K is.
     */
    private static void burst(Args args) throws Exception {
        String label = args.get("label");
        int clients = args.integer("clients", 16);
        String metricsUrl = args.get("metrics");
        String metric = args.get("metric", "keybroker_backend_calls_total");
        String filter = args.get("metric-filter", "operation=\"read\"");
        Results results = new Results(Path.of(args.get("results")));
        Target target = Target.from(args);
        args.checkAllUsed();

        double before = counter(metricsUrl, metric, filter);
        List<HttpConnection> connections = new ArrayList<>();
        for (int i = 0; i < clients; i++) {
            HttpConnection connection = target.connection();
            connection.open();
            connections.add(connection);
        }
        CyclicBarrier start = new CyclicBarrier(clients);
        CountDownLatch done = new CountDownLatch(clients);
        Map<Integer, AtomicInteger> statuses = new TreeMap<>();
        AtomicInteger errors = new AtomicInteger();
        for (HttpConnection connection : connections) {
            Thread thread = new Thread(() -> {
                try {
                    start.await();
                    int status = connection.exchange(target.requests.get(0));
                    synchronized (statuses) {
                        statuses.computeIfAbsent(status, s -> new AtomicInteger()).incrementAndGet();
                    }
                } catch (Exception ex) {
                    errors.incrementAndGet();
                } finally {
                    connection.close();
                    done.countDown();
                }
            });
            thread.setDaemon(true);
            thread.start();
        }
        done.await();
        // The cache counts a backend call before it answers the callers waiting on it, so every answer being in
        // means the call is already counted.
        double after = counter(metricsUrl, metric, filter);
        String k = label + ".";
        results.put(k + "clients", clients);
        results.put(k + "path", target.paths.get(0));
        StringBuilder summary = new StringBuilder();
        for (Map.Entry<Integer, AtomicInteger> e : statuses.entrySet()) {
            results.put(k + "status." + e.getKey(), e.getValue().get());
            summary.append(summary.length() == 0 ? "" : ", ").append(e.getValue().get()).append(" x ")
                    .append(e.getKey());
        }
        results.put(k + "statuses", summary.length() == 0 ? "none" : summary.toString());
        results.put(k + "errors", errors.get());
        results.put(k + "calls_before", (long) before);
        results.put(k + "calls_after", (long) after);
        results.put(k + "delta", (long) (after - before));
        System.out.printf(Locale.ROOT, "[bench] %-14s %d concurrent clients: %s; backend reads %.0f -> %.0f (+%.0f)%n",
                label, clients, summary, before, after, after - before);
    }

    /** Sum of the Prometheus samples of a metric whose labels contain the filter text. */
    static double counter(String url, String metric, String filter) throws IOException {
        java.net.URI uri = java.net.URI.create(url);
        HttpConnection connection = new HttpConnection(uri.getHost(), uri.getPort(), null);
        try {
            int[] status = new int[1];
            byte[] body = connection.exchangeForBody(Target.request("GET", uri.getRawPath(),
                    uri.getHost() + ":" + uri.getPort(), List.of(), null), status);
            if (status[0] != 200) {
                throw new IOException(url + " answered " + status[0]);
            }
            double sum = 0;
            for (String line : new String(body, StandardCharsets.UTF_8).split("\n")) {
                if (line.startsWith(metric + "{") && line.contains(filter)) {
                    sum += Double.parseDouble(line.substring(line.lastIndexOf(' ') + 1));
                }
            }
            return sum;
        } finally {
            connection.close();
        }
    }

    // ----------------------------------------------------------------------------------------------- set-up

    private static final String AWS_AUTH = "AWS4-HMAC-SHA256 Credential=testing/20260101/us-east-1/secretsmanager/"
            + "aws4_request, SignedHeaders=content-type;host;x-amz-date;x-amz-target, Signature="
            + "0".repeat(64);

    /** The headers of an AWS JSON-protocol call. moto does not check the signature, so a fixed one is enough;
     * the region comes from the credential scope. */
    static List<String> awsHeaders(String operation) {
        return List.of("Content-Type:application/x-amz-json-1.1", "X-Amz-Target:secretsmanager." + operation,
                "X-Amz-Date:20260101T000000Z", "Authorization:" + AWS_AUTH);
    }

    private static void setupMoto(Args args) throws Exception {
        java.net.URI endpoint = java.net.URI.create(args.get("endpoint"));
        String name = args.get("name");
        String value = Files.readString(Path.of(args.get("value-file")), StandardCharsets.UTF_8).trim();
        String bulkPrefix = args.get("bulk-prefix", null);
        int bulkCount = args.integer("bulk-count", 0);
        List<String> extra = args.all("extra");
        args.checkAllUsed();
        List<String[]> secrets = new ArrayList<>();
        secrets.add(new String[] {name, value});
        for (int i = 0; i < bulkCount; i++) {
            secrets.add(new String[] {String.format(Locale.ROOT, "%s%04d", bulkPrefix, i), randomKey()});
        }
        for (String id : extra) {
            secrets.add(new String[] {id, randomKey()});
        }
        String authority = endpoint.getHost() + ":" + endpoint.getPort();
        AtomicInteger next = new AtomicInteger();
        List<Thread> threads = new ArrayList<>();
        List<String> failures = java.util.Collections.synchronizedList(new ArrayList<>());
        for (int t = 0; t < 4; t++) {
            Thread thread = new Thread(() -> {
                HttpConnection connection = new HttpConnection(endpoint.getHost(), endpoint.getPort(), null);
                int i;
                while ((i = next.getAndIncrement()) < secrets.size()) {
                    String[] secret = secrets.get(i);
                    String body = "{\"Name\":\"" + secret[0] + "\",\"SecretString\":\"" + secret[1] + "\"}";
                    // moto (a Python test double under four writers) now and then answers 500 to one write: try a
                    // name up to three times before the set-up gives up.
                    String failure = null;
                    for (int attempt = 0; attempt < 3; attempt++) {
                        try {
                            int status = connection.exchange(Target.request("POST", "/", authority,
                                    awsHeaders("CreateSecret"), body));
                            failure = status == 200 ? null : secret[0] + ": " + status;
                        } catch (IOException ex) {
                            failure = secret[0] + ": " + ex;
                        }
                        if (failure == null) {
                            break;
                        }
                    }
                    if (failure != null) {
                        failures.add(failure);
                    }
                }
                connection.close();
            });
            threads.add(thread);
            thread.start();
        }
        for (Thread thread : threads) {
            thread.join();
        }
        if (!failures.isEmpty()) {
            throw new IOException("moto CreateSecret failed for " + failures.size() + " secrets, e.g. " + failures.get(0));
        }
        System.out.println("[bench] moto: created " + secrets.size() + " secrets");
    }

    private static void setupBao(Args args) throws Exception {
        java.net.URI endpoint = java.net.URI.create(args.get("endpoint"));
        String token = args.get("token");
        String path = args.get("path");
        String value = Files.readString(Path.of(args.get("value-file")), StandardCharsets.UTF_8).trim();
        args.checkAllUsed();
        HttpConnection connection = new HttpConnection(endpoint.getHost(), endpoint.getPort(), null);
        int status = connection.exchange(Target.request("POST", "/v1/secret/data/" + path,
                endpoint.getHost() + ":" + endpoint.getPort(),
                List.of("X-Vault-Token:" + token, "Content-Type:application/json"),
                "{\"data\":{\"value\":\"" + value + "\"}}"));
        connection.close();
        if (status != 200) {
            throw new IOException("OpenBao KV write answered " + status);
        }
        System.out.println("[bench] OpenBao: wrote secret/" + path);
    }

    private static final SecureRandom RANDOM = new SecureRandom();

    /** A value shaped like a Stripe test key (the bench's values are throw-away). */
    static String randomKey() {
        String alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
        StringBuilder out = new StringBuilder("sk_test_");
        for (int i = 0; i < 32; i++) {
            out.append(alphabet.charAt(RANDOM.nextInt(alphabet.length())));
        }
        return out.toString();
    }
}
