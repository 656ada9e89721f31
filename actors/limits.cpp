#include "actors/limits.hpp"

#include <cmath>
#include <sstream>

namespace omega {

std::string rate_text(const rate_limit& x) {
  std::ostringstream out;
  // Whole rates in full (4194304/s, not 4.1943e+06/s).
  if (x.rate == std::floor(x.rate) && x.rate < 1e15)
    out << static_cast<uint64_t>(x.rate) << "/s";
  else
    out << x.rate << "/s";
  return out.str();
}

} // namespace omega
