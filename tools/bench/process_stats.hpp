#pragma once

namespace omega::bench {

/// CPU seconds (user + system, all threads) of `pid` from /proc/PID/stat, or
/// -1 if unreadable.
double process_cpu_seconds(int pid);

/// The CPU seconds of one server, or of two cluster nodes together (`pid2`
/// > 0); -1 if either is unreadable.
double servers_cpu_seconds(int pid, int pid2);

/// Resident set size of `pid` in KiB from /proc/PID/status, or -1.
long process_rss_kb(int pid);

/// This process's CPU seconds (user + system).
double self_cpu_seconds();

} // namespace omega::bench
