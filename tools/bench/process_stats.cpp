#include "tools/bench/process_stats.hpp"

#include <cstdlib>
#include <fstream>
#include <sstream>
#include <string>

#include <sys/resource.h>
#include <unistd.h>

namespace omega::bench {

double process_cpu_seconds(int pid) {
  if (pid <= 0)
    return -1;
  std::ifstream in{"/proc/" + std::to_string(pid) + "/stat"};
  std::string all;
  if (!in || !std::getline(in, all))
    return -1;
  // The command name is in parentheses and may hold spaces: skip past it.
  auto paren = all.rfind(')');
  if (paren == std::string::npos)
    return -1;
  std::istringstream fields{all.substr(paren + 1)};
  std::string field;
  unsigned long long utime = 0, stime = 0;
  // After ")": state is field 3; utime and stime are fields 14 and 15.
  for (int i = 3; i <= 15 && fields >> field; ++i) {
    if (i == 14)
      utime = std::strtoull(field.c_str(), nullptr, 10);
    else if (i == 15)
      stime = std::strtoull(field.c_str(), nullptr, 10);
  }
  return static_cast<double>(utime + stime)
         / static_cast<double>(sysconf(_SC_CLK_TCK));
}

double servers_cpu_seconds(int pid, int pid2) {
  auto first = process_cpu_seconds(pid);
  if (pid2 <= 0 || first < 0)
    return first;
  auto second = process_cpu_seconds(pid2);
  return second < 0 ? -1 : first + second;
}

long process_rss_kb(int pid) {
  if (pid <= 0)
    return -1;
  std::ifstream in{"/proc/" + std::to_string(pid) + "/status"};
  std::string line;
  while (std::getline(in, line))
    if (line.compare(0, 6, "VmRSS:") == 0)
      return std::strtol(line.c_str() + 6, nullptr, 10);
  return -1;
}

double self_cpu_seconds() {
  rusage ru;
  getrusage(RUSAGE_SELF, &ru);
  auto tv = [](const timeval& x) {
    return static_cast<double>(x.tv_sec) + x.tv_usec / 1e6;
  };
  return tv(ru.ru_utime) + tv(ru.ru_stime);
}

} // namespace omega::bench
