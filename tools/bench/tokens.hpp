#pragma once

#include <string>
#include <vector>

namespace omega::bench {

/// Reads session tokens: the third column of `ID<TAB>USER<TAB>TOKEN` lines,
/// or whole lines for a file of bare tokens. Sets `err` if the file cannot
/// be read.
std::vector<std::string> read_tokens(const std::string& path, std::string& err);

} // namespace omega::bench
