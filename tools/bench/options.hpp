#pragma once

#include <cstddef>
#include <cstdint>
#include <string>

namespace omega::bench {

/// The help text; `--help` prints it on stdout, a bad command line on
/// stderr.
extern const char* const usage_text;

enum class target_kind { omega, plain, peerjs };

enum class scenario_kind { relay, handshake, idle };

/// The command line of omega-bench; defaults as in `usage_text`.
struct options {
  target_kind target = target_kind::omega;
  scenario_kind scenario = scenario_kind::relay;
  std::string host = "127.0.0.1";
  uint16_t port = 0;
  uint16_t peer_port = 0;
  std::string ugi;
  std::string tokens_file;
  /// wss:// instead of ws:// (--tls), verifying with --tls-ca if given.
  bool tls = false;
  std::string tls_ca;
  size_t threads = 1;
  size_t connect_parallel = 128;
  int server_pid = 0;
  int peer_server_pid = 0;
  double duration = 10;
  double warmup = 1;
  double setup_timeout = 60;
  size_t lobbies = 10;
  size_t peers = 1;
  size_t inflight = 4;
  size_t payload_bytes = 1024;
  double rate = 0;
  /// Paced mode: a send this long after its scheduled time is late.
  double late_us = 1000;
  size_t count = 0;
  size_t concurrency = 1;
  size_t connections = 100;
  double settle = 1;
  bool verbose = false;
};

/// The target's name as the command line and the RESULT line spell it.
const char* target_name(target_kind x);

/// The scenario's name as the command line and the RESULT line spell it.
const char* scenario_name(scenario_kind x);

/// Thrown for a bad command line; main prints it with the usage and exits 2.
/// An empty `what` means `--help`.
struct usage_error {
  std::string what;
};

/// Parses the command line; throws `usage_error`.
options parse_options(int argc, char** argv);

} // namespace omega::bench
