#pragma once

#include <cstdint>

namespace omega::bench {

/// Start and end readings of one measured window: wall time, the server's
/// CPU seconds (all its threads, both nodes with a second pid) and the
/// client's own.
struct window {
  int64_t start_ns = 0;
  int64_t end_ns = 0;
  double server_cpu0 = -1;
  double server_cpu1 = -1;
  double client_cpu0 = 0;
  double client_cpu1 = 0;

  void begin(int pid, int pid2 = 0);

  void end(int pid, int pid2 = 0);

  bool started() const {
    return start_ns != 0;
  }

  double seconds() const {
    return end_ns > start_ns ? (end_ns - start_ns) / 1e9 : 0;
  }

  /// -1 when the server's CPU is unknown (no --server-pid).
  double server_cpu() const {
    return server_cpu0 >= 0 && server_cpu1 >= 0 ? server_cpu1 - server_cpu0
                                                : -1;
  }

  double client_cpu() const {
    return client_cpu1 - client_cpu0;
  }
};

} // namespace omega::bench
