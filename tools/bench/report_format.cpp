#include "tools/bench/report_format.hpp"

#include <cmath>
#include <cstdio>

namespace omega::bench {

std::string num(double x, int decimals) {
  if (x < 0 || !std::isfinite(x))
    return "na";
  char buf[64];
  std::snprintf(buf, sizeof(buf), "%.*f", decimals, x);
  return buf;
}

double per_cpu(double x, double cpu) {
  return cpu > 0 ? x / cpu : -1;
}

std::string excerpt(std::string_view x) {
  return std::string{x.substr(0, 160)} + (x.size() > 160 ? "..." : "");
}

} // namespace omega::bench
