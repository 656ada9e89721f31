/// omega-bench: the load generator of the benchmark. It drives omega-server
/// and two reference servers over real WebSocket connections from one
/// process: plain-relay (the Beast plumbing limit, no actors, no JSON) and the
/// PeerJS server (npm `peer`), so that omega's numbers come with a floor and a
/// popular competitor measured by the same client on the same machine.
///
/// Many connections share few threads (one io_context, asynchronous Beast),
/// so the client costs little CPU per message and can be pinned to one core
/// next to a server pinned to another. Every scenario prints one `RESULT`
/// line of key=value pairs for scripts (scripts/bench.sh) and a short
/// human-readable summary on stderr.

#include <iostream>
#include <memory>

#include "tools/bench/handshake_scenario.hpp"
#include "tools/bench/idle_scenario.hpp"
#include "tools/bench/options.hpp"
#include "tools/bench/relay_scenario.hpp"
#include "tools/bench/scenario.hpp"

namespace bench = omega::bench;

int main(int argc, char** argv) {
  bench::options opts;
  try {
    opts = bench::parse_options(argc, argv);
  } catch (const bench::usage_error& e) {
    if (e.what.empty()) {
      std::cout << bench::usage_text;
      return 0;
    }
    std::cerr << "omega-bench: " << e.what << "\n" << bench::usage_text;
    return 2;
  }
  std::unique_ptr<bench::scenario> s;
  switch (opts.scenario) {
    case bench::scenario_kind::relay:
      s = bench::make_relay_scenario(opts);
      break;
    case bench::scenario_kind::handshake:
      s = bench::make_handshake_scenario(opts);
      break;
    default:
      s = bench::make_idle_scenario(opts);
  }
  return s->run();
}
