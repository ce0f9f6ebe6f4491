package io.keybroker.bench;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;

/** CPU time and memory of a process from /proc: what the kernel charged it, threads included. */
final class ProcessStats {

    private final long pid;
    private final long ticksPerSecond;

    ProcessStats(long pid, long ticksPerSecond) {
        this.pid = pid;
        this.ticksPerSecond = ticksPerSecond;
    }

    static ProcessStats self(long ticksPerSecond) {
        return new ProcessStats(ProcessHandle.current().pid(), ticksPerSecond);
    }

    long pid() {
        return pid;
    }

    /** User plus system CPU time so far, in microseconds (resolution: one clock tick, usually 10 ms). */
    long cpuMicros() throws IOException {
        long[] cpu = cpuSplitMicros();
        return cpu[0] + cpu[1];
    }

    /** User and system (kernel) CPU time so far, in microseconds. */
    long[] cpuSplitMicros() throws IOException {
        String stat = Files.readString(Path.of("/proc/" + pid + "/stat"));
        // The command name (field 2) may contain spaces and parentheses: count fields after its closing ')'.
        String[] fields = stat.substring(stat.lastIndexOf(')') + 2).split(" ");
        return new long[] {Long.parseLong(fields[11]) * 1_000_000L / ticksPerSecond,
                Long.parseLong(fields[12]) * 1_000_000L / ticksPerSecond};
    }

    /** Resident KiB of the mappings of files whose name ends with the suffix (e.g. ".aot", the AOT cache). */
    long mappedKib(String suffix) throws IOException {
        long kib = 0;
        boolean inside = false;
        // A mapping's header line ("start-end perms offset dev inode path") is followed by its fields.
        for (String line : Files.readAllLines(Path.of("/proc/" + pid + "/smaps"))) {
            if (line.matches("^[0-9a-f]+-[0-9a-f]+ .*")) {
                inside = line.trim().endsWith(suffix);
            } else if (inside && line.startsWith("Rss:")) {
                kib += Long.parseLong(line.substring(4).trim().split("\\s+")[0]);
            }
        }
        return kib;
    }

    /** A field of /proc/PID/status in KiB, e.g. VmRSS (resident now) or VmHWM (highest resident so far). */
    long statusKib(String field) throws IOException {
        // A mapping's header line ("start-end perms offset dev inode path") is followed by its fields.
        for (String line : Files.readAllLines(Path.of("/proc/" + pid + "/status"))) {
            if (line.startsWith(field + ":")) {
                return Long.parseLong(line.substring(field.length() + 1).trim().split("\\s+")[0]);
            }
        }
        throw new IOException("no " + field + " in /proc/" + pid + "/status");
    }
}
