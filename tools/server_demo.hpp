#pragma once

#include <cstdint>
#include <string>

#include "storage/sqlite_store.hpp"

namespace omega {

/// The demo games (`--demo`): one per client profile.
struct demo_ugis {
  std::string standard;
  std::string cl5;
};

/// Makes sure the demo games exist and returns their UGIs. A data folder
/// with other games (an operator's) gets none added.
demo_ugis demo_games(sqlite_store& store);

/// Prints the signaling URLs of the demo games and how to get a token, on
/// stdout: the first thing a new user reads. `tls`: the port serves
/// `wss://` and `https://`; `web_pages`: the demo page is served at `/`.
void print_demo(const demo_ugis& demo, const std::string& host, uint16_t port,
                bool tls, bool web_pages);

} // namespace omega
