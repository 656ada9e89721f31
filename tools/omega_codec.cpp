/// omega-codec: decodes client frames from stdin, one per line, and prints
/// the command each one becomes (or the bad_frame the server would answer).
/// Lets client authors and codec maintainers see exactly what the server
/// makes of a frame without running a server.

#include <iostream>
#include <string>
#include <variant>

#include <caf/deep_to_string.hpp>

#include "messages/type_ids.hpp"
#include "tools/command_line.hpp"
#include "transport/json_codec.hpp"

namespace {

constexpr const char* usage
  = "usage: omega-codec < frames.jsonl\n"
    "Reads one client frame per line and prints the decoded command.\n"
    "Blank lines are skipped. Uses the server's default limits.\n";

/// Whether `arg` is `--help` or `-h`. The tool takes no arguments, so any
/// other first argument is an error; and the first one decides, as it always
/// has (`omega-codec --help x` prints the help).
bool is_help(char* arg) {
  namespace po = boost::program_options;
  po::options_description opts;
  opts.add_options()("help", "");
  char* argv[] = {nullptr, arg};
  po::variables_map vm;
  try {
    po::store(omega::command_line::parser(2, argv, opts).run(), vm);
  } catch (const po::error&) {
    return false;
  }
  return vm.count("help") != 0;
}

} // namespace

int main(int argc, char** argv) {
  if (argc > 1) {
    auto help = is_help(argv[1]);
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
