/// omega-codec: decodes client frames from stdin, one per line, and prints
/// the command each one becomes (or the bad_frame the server would answer).
/// Lets client authors and codec maintainers see exactly what the server
/// makes of a frame without running a server.

#include <cstring>
#include <iostream>
#include <string>
#include <variant>

#include <caf/deep_to_string.hpp>

#include "messages/type_ids.hpp"
#include "transport/json_codec.hpp"

namespace {

constexpr const char* usage
  = "usage: omega-codec < frames.jsonl\n"
    "Reads one client frame per line and prints the decoded command.\n"
    "Blank lines are skipped. Uses the server's default limits.\n";

} // namespace

int main(int argc, char** argv) {
  if (argc > 1) {
    auto help = std::strcmp(argv[1], "--help") == 0
                || std::strcmp(argv[1], "-h") == 0;
    (help ? std::cout : std::cerr) << usage;
    return help ? 0 : 2;
  }
  std::string line;
  while (std::getline(std::cin, line)) {
    if (!line.empty() && line.back() == '\r')
      line.pop_back();
    if (line.empty())
      continue;
    auto cmd = omega::decode(line);
    std::cout << std::visit([](auto& x) { return caf::deep_to_string(x); }, cmd)
              << '\n';
  }
  return 0;
}
