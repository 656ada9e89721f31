#pragma once

#include <chrono>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <boost/json.hpp>

#include <gtest/gtest.h>

#include "tests/e2e/server_process.hpp"
#include "tests/e2e/ws_client.hpp"

/// The shared base of the end-to-end suites that run one omega-server per
/// suite (server_test.cpp, cl5_test.cpp): JSON helpers that compare frames
/// exactly, accounts made through the HTTP API, and a fixture whose helpers
/// speak PROTOCOL.md.

namespace omega::e2e {

// -- JSON helpers -------------------------------------------------------------

testing::AssertionResult same_json(const char* got_expr, const char*,
                                   const boost::json::value& got,
                                   const boost::json::value& want);

/// Compares two JSON values as JSON (member order does not matter), so a
/// frame with an extra, missing or different member fails.
#define EXPECT_JSON(got, want)                                                 \
  EXPECT_PRED_FORMAT2(::omega::e2e::same_json, ::boost::json::value(got),      \
                      ::boost::json::value(want))

/// A server frame as PROTOCOL.md specifies it: no payload or listener
/// member unless given.
boost::json::object
msg(std::string_view op,
    std::optional<boost::json::value> payload = std::nullopt,
    std::string_view listener = {});

/// A relayed frame: exactly opcode, payload and origin.
boost::json::object relayed(std::string_view op, boost::json::value payload,
                            std::string_view origin);

std::string member(const boost::json::object& obj, std::string_view key);

std::string payload_member(const boost::json::object& obj,
                           std::string_view key);

/// A WebRTC-like offer: nested objects, arrays, numbers, nulls, escapes and
/// non-ASCII text must all arrive unchanged.
boost::json::value sdp_offer();

boost::json::value sdp_answer();

boost::json::value ice_candidate(int n);

// -- accounts and clients -----------------------------------------------------

/// An account as the HTTP API returned it.
struct account {
  std::string user;
  std::string email;
  std::string password;
  std::string id;
  std::string token;
};

/// An account with its WebSocket.
struct player {
  account acc;
  std::unique_ptr<ws_client> ws;

  ws_client* operator->() {
    return ws.get();
  }
};

/// Unique across the process, so one per-suite server never sees a name
/// twice.
std::string unique(std::string_view prefix);

void raise_fd_limit();

/// Wait for the server to release a closed connection's session.
constexpr std::chrono::seconds session_release_timeout{3};

/// A registered game and the names INIT_OK reports for it.
struct game_info {
  std::string ugi;
  std::string name;
  std::string developer;
};

// -- fixture ------------------------------------------------------------------

/// One server for the whole suite (starting one per test costs time); every
/// test gets a fresh game and fresh accounts, so tests cannot see each
/// other's lobbies. Tests that need other server flags start their own
/// server and call `use_server`.
class e2e_fixture : public testing::Test {
public:
  static void SetUpTestSuite();

  static void TearDownTestSuite();

  void SetUp() override;

  void TearDown() override;

protected:
  e2e_fixture() = default;

  /// Every game the fixture registers gets `profile` (`--profile`); an
  /// empty one registers without the flag, i.e. the server's default.
  explicit e2e_fixture(std::string profile) : profile_(std::move(profile)) {
    // nop
  }

  /// Directs the helpers to `s`, with a fresh game on it.
  void use_server(server_process& s);

  /// Registers a fresh game on the current server, with `profile` if not
  /// empty.
  game_info new_game(const std::string& profile);

  /// Directs the helpers (open, join, init_ok) to the game `g`.
  void use_game(const game_info& g);

  /// Starts a server of this test's own, with `flags`, and a fresh game on
  /// it. The fixture owns it so that TearDown can still print its log.
  server_process* start_own(const std::vector<std::string>& flags = {});

  uint16_t port() const {
    return srv_->port();
  }

  std::string signaling_path(const std::string& ugi) const {
    return "/api/v0/signaling?ugi=" + ugi;
  }

  /// Registers and logs in through the HTTP API; the token is bound to
  /// `origin` when it is not empty.
  account new_account(std::string_view prefix = "user",
                      const std::string& origin = {});

  std::string login(const account& a, const std::string& origin = {});

  std::unique_ptr<ws_client> open(const std::string& name,
                                  const std::string& origin = {},
                                  const std::string& path = {});

  boost::json::object init_ok(const account& a, std::string_view listener = {});

  /// A new account, connected and authenticated.
  player join(const std::string& name, const std::string& path = {});

  /// Sends CONFIG_HOST and checks ACK_HOST.
  void host(player& h, const std::string& lobby, bool reclaim = false,
            bool claim = false);

  /// Sends CONFIG_PEER from `p` and checks ACK_PEER and the host's NEW_PEER.
  void enter(player& p, player& h, const std::string& lobby);

  /// `h` hosts `lobby` (lobby-less `p` sees NEW_HOST) and `p` enters it.
  void pair_up(player& h, player& p, const std::string& lobby);

  boost::json::object new_host(const player& h, const std::string& lobby);

  boost::json::object host_reclaim(const player& h, const std::string& lobby,
                                   std::string_view listener = {});

  /// Relays `op` from `from` to `to` and checks both sides.
  void relay(player& from, player& to, std::string_view op,
             boost::json::value payload);

  /// Proves that nothing else is queued for `p`: KEEPALIVE replies travel
  /// the same path as notifications, so a stray frame already on its way
  /// (a duplicate LOBBY_CLOSE, a leaked relay) shows up before the echo.
  void expect_quiet(player& p);

  /// Checks the next frame is the error reply `op` with `listener`: a
  /// payload, if any, is the reason string.
  void expect_error(ws_client& c, std::string_view op,
                    std::string_view listener);

  /// Checks VIOLATION (a non-empty reason) and then the close `code` with no
  /// frame in between.
  void expect_violation_close(ws_client& c, uint16_t code,
                              std::string_view listener = {});

  void expect_close(ws_client& c, uint16_t code);

  /// INITs `c` with `token`, retrying while the server still holds the
  /// account's previous session: a closed socket's session is released
  /// asynchronously (the auth service learns of it by a down message) and
  /// PROTOCOL.md does not tie that to the close handshake. Returns the
  /// number of attempts, 0 if INIT never succeeded.
  int init_until_ok(ws_client& c, const account& a);

  static std::unique_ptr<server_process> shared_;
  static std::string shared_error_;

  std::unique_ptr<server_process> own_;
  server_process* srv_ = nullptr;
  std::string profile_;
  std::string game_;
  std::string developer_;
  std::string ugi_;
};

} // namespace omega::e2e
