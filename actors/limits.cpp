#include "actors/limits.hpp"

#include <sstream>

namespace omega {

std::string rate_text(const rate_limit& x) {
  std::ostringstream out;
  out << x.rate << "/s";
  return out.str();
}

} // namespace omega
