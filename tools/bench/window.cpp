#include "tools/bench/window.hpp"

#include "tools/bench/clock.hpp"
#include "tools/bench/process_stats.hpp"

namespace omega::bench {

void window::begin(int pid, int pid2) {
  start_ns = now_ns();
  server_cpu0 = servers_cpu_seconds(pid, pid2);
  client_cpu0 = self_cpu_seconds();
}

void window::end(int pid, int pid2) {
  end_ns = now_ns();
  server_cpu1 = servers_cpu_seconds(pid, pid2);
  client_cpu1 = self_cpu_seconds();
}

} // namespace omega::bench
