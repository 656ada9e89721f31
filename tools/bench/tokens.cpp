#include "tools/bench/tokens.hpp"

#include <fstream>

namespace omega::bench {

std::vector<std::string> read_tokens(const std::string& path,
                                     std::string& err) {
  std::vector<std::string> result;
  std::ifstream in{path};
  if (!in) {
    err = "cannot read " + path;
    return result;
  }
  std::string line;
  while (std::getline(in, line)) {
    while (!line.empty() && (line.back() == '\r' || line.back() == ' '))
      line.pop_back();
    if (line.empty())
      continue;
    auto tab = line.rfind('\t');
    result.push_back(tab == std::string::npos ? line : line.substr(tab + 1));
  }
  return result;
}

} // namespace omega::bench
