// End-to-end tests of the `cl5` client profile and of the cloud-save routes:
// the real omega-server and omega-admin binaries, and a test client that
// sends exactly the frames the published CL5 TurboWarp extension sends
// (/work/shared/research/cl5-wire.md). In a cl5 game the join fans out
// ANTICIPATE and DISCOVER for a full mesh, any member relays to any other
// with an `origin` object, PEER_GONE reaches every member and a blank
// password is PASSWORD_FAIL; everything else is PROTOCOL.md, as in
// server_test.cpp.

#include <algorithm>
#include <array>
#include <chrono>
#include <map>
#include <optional>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include <boost/beast/http/verb.hpp>
#include <boost/json.hpp>

#include <gtest/gtest.h>

#include "tests/e2e/e2e_fixture.hpp"
#include "tests/e2e/server_process.hpp"
#include "tests/e2e/ws_client.hpp"

namespace json = boost::json;
using boost::beast::http::verb;
using namespace omega::e2e;
using namespace std::chrono_literals;
using std::chrono::steady_clock;

namespace {

/// A well-formed ULID that names no game and no account.
const std::string unused_ulid = "01ARZ3NDEKTSV4RRFFQ69G5FAV";

/// A relay payload as the extension sends it: `contents` holds the AES-GCM
/// ciphertext and its IV, both base64.
json::value sealed(int n) {
  return json::object{{"type", 0},
                      {"contents",
                       json::array{"q83vEjRWeJA" + std::to_string(n) + "/+w==",
                                   "AAECAwQFBgcICQoL"}}};
}

/// A relay frame as the extension writes it: MAKE_OFFER and MAKE_ANSWER with
/// `"listener":null`, ICE without a listener; no `recipient` member when
/// `recipient` is nullopt.
std::string relay_frame(std::string_view op, const json::value& payload,
                        const std::optional<std::string>& recipient) {
  json::object frame{{"opcode", op}, {"payload", payload}};
  if (recipient)
    frame["recipient"] = *recipient;
  if (op != "ICE")
    frame["listener"] = nullptr;
  return json::serialize(frame);
}

/// A command the extension sends with `"listener":null`.
std::string null_listener_frame(std::string_view op, json::value payload) {
  return json::serialize(json::object{
    {"opcode", op}, {"payload", std::move(payload)}, {"listener", nullptr}});
}

bool is_text_plain(const http_result& r) {
  return r.header("content-type").rfind("text/plain", 0) == 0;
}

/// One line of `omega-admin game list`: UGI, name, developer, profile.
using game_line = std::array<std::string, 4>;

std::vector<game_line> parse_games(const std::string& out) {
  std::vector<game_line> result;
  std::istringstream in{out};
  std::string line;
  while (std::getline(in, line)) {
    game_line g;
    size_t from = 0;
    for (size_t i = 0; i < 3; ++i) {
      auto tab = line.find('\t', from);
      if (tab == std::string::npos)
        tab = line.size();
      g[i] = line.substr(from, tab - from);
      from = std::min(tab + 1, line.size());
    }
    g[3] = line.substr(from);
    result.push_back(std::move(g));
  }
  return result;
}

/// The line of `ugi` in `omega-admin game list` output, empty if none.
std::string list_line(const std::string& out, const std::string& ugi) {
  std::istringstream in{out};
  std::string line;
  while (std::getline(in, line))
    if (line.rfind(ugi + "\t", 0) == 0)
      return line;
  return {};
}

/// True if `x` is a ULID: 26 characters of Crockford's base32.
bool is_ulid(const std::string& x) {
  static constexpr std::string_view alphabet
    = "0123456789ABCDEFGHJKMNPQRSTVWXYZ";
  return x.size() == 26
         && x.find_first_not_of(alphabet.data(), 0, alphabet.size())
              == std::string::npos;
}

} // namespace

// -- fixture ------------------------------------------------------------------

/// The shared fixture on a fresh `cl5` game per test, with helpers that
/// speak as the extension does.
class cl5_test : public e2e_fixture {
protected:
  cl5_test() : e2e_fixture("cl5") {
    // nop
  }

  /// The public key `p` sends: a base64 SPKI to the extension, opaque to
  /// the server; unique per account so a mix-up shows.
  static std::string key_of(const player& p) {
    return "MFkwEwYHKoZIzj0CAQYIKoZIzj0DAQcDQgAE" + p.acc.id + "+/8=";
  }

  /// How a cl5 game names `p` to the others: `{id, user, pubkey?}`, with the
  /// key only if `p` sent one.
  json::object ident(const player& p) const {
    json::object result{{"id", p.acc.id}, {"user", p.acc.user}};
    if (auto i = keys_.find(p.acc.id); i != keys_.end())
      result["pubkey"] = i->second;
    return result;
  }

  json::object new_host_of(const player& h, const std::string& lobby) const {
    auto payload = ident(h);
    payload["lobby_id"] = lobby;
    return msg("NEW_HOST", std::move(payload));
  }

  json::object ack_peer_of(const player& h, const std::string& lobby) const {
    auto payload = ident(h);
    payload["lobby_id"] = lobby;
    return msg("ACK_PEER", std::move(payload));
  }

  /// A relayed frame in a cl5 game: the origin names id and user.
  static json::object cl5_relayed(std::string_view op, json::value payload,
                                  const player& from) {
    return {{"opcode", op},
            {"payload", std::move(payload)},
            {"origin",
             json::object{{"id", from.acc.id}, {"user", from.acc.user}}}};
  }

  /// A new account, connected and authenticated as the extension does it:
  /// a bare KEEPALIVE on open, then INIT with `"listener":null`.
  player cl5_join(const std::string& name) {
    player p{new_account(name), open(name)};
    p->send_text(R"({"opcode":"KEEPALIVE"})");
    EXPECT_JSON(p->expect("KEEPALIVE"), msg("KEEPALIVE"));
    p->send_text(null_listener_frame("INIT", json::value(p.acc.token)));
    EXPECT_JSON(p->expect("INIT_OK"), init_ok(p.acc));
    return p;
  }

  /// Sends the extension's CONFIG_HOST and checks ACK_HOST.
  void cl5_host(player& h, const std::string& lobby,
                const std::string& password = {}, bool with_key = true) {
    json::object cfg{{"lobby_id", lobby},
                     {"allow_host_reclaim", false},
                     {"allow_peers_to_claim_host", false},
                     {"max_peers", 0},
                     {"password", password}};
    if (with_key) {
      cfg["pubkey"] = key_of(h);
      keys_[h.acc.id] = key_of(h);
    }
    h->send_text(null_listener_frame("CONFIG_HOST", std::move(cfg)));
    EXPECT_JSON(h->expect("ACK_HOST"),
                msg("ACK_HOST", json::object{{"lobby_id", lobby}}));
  }

  /// Sends the extension's CONFIG_PEER; a nullopt `password` leaves the
  /// member out (the extension always sends one, other clients may not).
  void
  send_config_peer(player& p, const std::string& lobby,
                   const std::optional<std::string>& password = std::string{},
                   bool with_key = true) {
    json::object cfg{{"lobby_id", lobby}};
    if (password)
      cfg["password"] = *password;
    if (with_key) {
      cfg["pubkey"] = key_of(p);
      keys_[p.acc.id] = key_of(p);
    }
    p->send_text(null_listener_frame("CONFIG_PEER", std::move(cfg)));
  }

  /// `p` joins host `h`'s `lobby`, in which the peers `inside` already are
  /// (in join order), and checks the whole fan-out on every socket: the
  /// joiner learns the host's key before anything else, then one DISCOVER
  /// per peer inside, each of whom is told to expect the joiner's offer.
  void cl5_enter(player& p, player& h, const std::string& lobby,
                 const std::vector<player*>& inside = {},
                 const std::string& password = {}, bool with_key = true) {
    send_config_peer(p, lobby, password, with_key);
    EXPECT_JSON(p->expect("ANTICIPATE"), msg("ANTICIPATE", ident(h)));
    if (!password.empty()) {
      EXPECT_JSON(p->expect("PASSWORD_ACK"), msg("PASSWORD_ACK"));
    }
    EXPECT_JSON(p->expect("ACK_PEER"), ack_peer_of(h, lobby));
    EXPECT_JSON(h->expect("NEW_PEER"), msg("NEW_PEER", ident(p)));
    for (auto* x : inside) {
      EXPECT_JSON((*x)->expect("ANTICIPATE"), msg("ANTICIPATE", ident(p)));
      EXPECT_JSON(p->expect("DISCOVER"), msg("DISCOVER", ident(*x)));
    }
  }

  /// Sends `op` as the extension does, checks the sender's RELAY_OK and
  /// returns what `to` got.
  json::object send_relay(player& from, player& to, std::string_view op,
                          const json::value& payload) {
    from->send_text(relay_frame(op, payload, to.acc.id));
    EXPECT_JSON(from->expect("RELAY_OK"), msg("RELAY_OK"));
    return to->expect(op);
  }

  /// Relays `op` from `from` to `to` and checks the cl5 shape on both sides.
  void cl5_relay(player& from, player& to, std::string_view op,
                 const json::value& payload) {
    EXPECT_JSON(send_relay(from, to, op, payload),
                cl5_relayed(op, payload, from));
  }

  /// Relays `op` and checks the standard shape: a string origin.
  void standard_relay(player& from, player& to, std::string_view op,
                      const json::value& payload) {
    EXPECT_JSON(send_relay(from, to, op, payload),
                relayed(op, payload, from.acc.id));
  }

  /// A standard join with the extension's CONFIG_PEER: ACK_PEER first (no
  /// ANTICIPATE), NEW_PEER to the host.
  void standard_enter(player& p, player& h, const std::string& lobby) {
    send_config_peer(p, lobby);
    EXPECT_JSON(p->expect("ACK_PEER"), ack_peer_of(h, lobby));
    EXPECT_JSON(h->expect("NEW_PEER"), msg("NEW_PEER", ident(p)));
  }

  /// Sends `op` from `from` to `recipient` (none if nullopt) and checks the
  /// error reply `code` without listener, as the extension sends null.
  void expect_relay_error(player& from, std::string_view op,
                          const std::optional<std::string>& recipient,
                          std::string_view code = "PEER_INVALID") {
    from->send_text(relay_frame(op, sealed(0), recipient));
    expect_error(*from.ws, code, {});
  }

  /// Public keys by account id, for the members that sent one.
  std::map<std::string, std::string> keys_;
};

// -- 1. joins and the full mesh -----------------------------------------------

TEST_F(cl5_test, full_mesh_when_the_peers_wait_for_the_host) {
  auto h = cl5_join("host");
  auto p1 = cl5_join("peer");
  auto p2 = cl5_join("peer");
  ASSERT_FALSE(HasFailure());
  cl5_host(h, "mesh");
  // Lobby-less peers learn the host's key from NEW_HOST.
  EXPECT_JSON(p1->expect("NEW_HOST"), new_host_of(h, "mesh"));
  EXPECT_JSON(p2->expect("NEW_HOST"), new_host_of(h, "mesh"));
  cl5_enter(p1, h, "mesh");
  // A lobby-less client hears nothing of a join.
  expect_quiet(p2);
  cl5_enter(p2, h, "mesh", {&p1});
  ASSERT_FALSE(HasFailure());
  // The host offers to each peer, which answers; candidates both ways.
  cl5_relay(h, p1, "MAKE_OFFER", sealed(1));
  cl5_relay(p1, h, "MAKE_ANSWER", sealed(2));
  cl5_relay(h, p1, "ICE", sealed(3));
  cl5_relay(p1, h, "ICE", sealed(4));
  cl5_relay(h, p2, "MAKE_OFFER", sealed(5));
  cl5_relay(p2, h, "MAKE_ANSWER", sealed(6));
  cl5_relay(h, p2, "ICE", sealed(7));
  cl5_relay(p2, h, "ICE", sealed(8));
  // The joiner offers to the peer it discovered, which answers.
  cl5_relay(p2, p1, "MAKE_OFFER", sealed(9));
  cl5_relay(p1, p2, "MAKE_ANSWER", sealed(10));
  cl5_relay(p1, p2, "ICE", sealed(11));
  cl5_relay(p2, p1, "ICE", sealed(12));
  // Without keys `contents` is the plain description, relayed verbatim.
  cl5_relay(p1, p2, "ICE",
            json::object{{"type", 0}, {"contents", ice_candidate(13)}});
  // A string listener is echoed as in the standard profile.
  p1->send_command("MAKE_OFFER", sealed(14), p2.acc.id, "named");
  EXPECT_JSON(p1->expect("RELAY_OK"), msg("RELAY_OK", {}, "named"));
  EXPECT_JSON(p2->expect("MAKE_OFFER"),
              cl5_relayed("MAKE_OFFER", sealed(14), p1));
  expect_quiet(h);
  expect_quiet(p1);
  expect_quiet(p2);
}

TEST_F(cl5_test, full_mesh_when_the_lobby_exists_first) {
  auto h = cl5_join("host");
  cl5_host(h, "early");
  // Connected after the lobby opened: no NEW_HOST, and ANTICIPATE is the
  // first frame of the join.
  auto p1 = cl5_join("peer");
  cl5_enter(p1, h, "early");
  // A member without a key is named without one.
  auto p2 = cl5_join("nokey");
  cl5_enter(p2, h, "early", {&p1}, {}, false);
  // DISCOVER in join order.
  auto p3 = cl5_join("peer");
  cl5_enter(p3, h, "early", {&p1, &p2});
  ASSERT_FALSE(HasFailure());
  cl5_relay(h, p3, "MAKE_OFFER", sealed(1));
  cl5_relay(p3, h, "MAKE_ANSWER", sealed(2));
  cl5_relay(p3, p1, "MAKE_OFFER", sealed(3));
  cl5_relay(p3, p2, "MAKE_OFFER", sealed(4));
  cl5_relay(p2, p3, "MAKE_ANSWER", sealed(5));
  cl5_relay(p1, p3, "MAKE_ANSWER", sealed(6));
  cl5_relay(p2, p1, "ICE", sealed(7));
  cl5_relay(p3, p2, "ICE", sealed(8));
  expect_quiet(h);
  expect_quiet(p1);
  expect_quiet(p2);
  expect_quiet(p3);
}

// -- 2. departures ------------------------------------------------------------

TEST_F(cl5_test, peer_gone_reaches_every_member) {
  auto h = cl5_join("host");
  cl5_host(h, "gone");
  auto p1 = cl5_join("peer");
  cl5_enter(p1, h, "gone");
  auto p2 = cl5_join("peer");
  cl5_enter(p2, h, "gone", {&p1});
  auto p3 = cl5_join("peer");
  cl5_enter(p3, h, "gone", {&p1, &p2});
  auto p4 = cl5_join("peer");
  cl5_enter(p4, h, "gone", {&p1, &p2, &p3});
  auto p5 = cl5_join("peer");
  cl5_enter(p5, h, "gone", {&p1, &p2, &p3, &p4});
  ASSERT_FALSE(HasFailure());
  // A close handshake, then an abrupt TCP close.
  EXPECT_TRUE(p1->close()) << p1->error();
  for (auto* x : {&h, &p2, &p3, &p4, &p5})
    EXPECT_JSON((*x)->expect("PEER_GONE"),
                msg("PEER_GONE", json::value(p1.acc.id)));
  p2->drop();
  for (auto* x : {&h, &p3, &p4, &p5})
    EXPECT_JSON((*x)->expect("PEER_GONE"),
                msg("PEER_GONE", json::value(p2.acc.id)));
  // KICK with a listener: the host's copy carries it, nobody else's.
  h->send_command("KICK", json::value(p3.acc.id), {}, "kick");
  EXPECT_JSON(p3->expect("LOBBY_CLOSE"),
              msg("LOBBY_CLOSE", json::value("gone")));
  EXPECT_JSON(h->expect("PEER_GONE"),
              msg("PEER_GONE", json::value(p3.acc.id), "kick"));
  for (auto* x : {&p4, &p5})
    EXPECT_JSON((*x)->expect("PEER_GONE"),
                msg("PEER_GONE", json::value(p3.acc.id)));
  // KICK with `"listener":null`.
  h->send_text(null_listener_frame("KICK", json::value(p4.acc.id)));
  EXPECT_JSON(p4->expect("LOBBY_CLOSE"),
              msg("LOBBY_CLOSE", json::value("gone")));
  EXPECT_JSON(h->expect("PEER_GONE"), msg("PEER_GONE", json::value(p4.acc.id)));
  EXPECT_JSON(p5->expect("PEER_GONE"),
              msg("PEER_GONE", json::value(p4.acc.id)));
  // The rest of the lobby still relays; the kicked peers are outside it.
  cl5_relay(h, p5, "ICE", sealed(1));
  cl5_relay(p5, h, "ICE", sealed(2));
  expect_relay_error(p3, "MAKE_OFFER", p5.acc.id);
  expect_relay_error(p5, "ICE", p4.acc.id);
  expect_quiet(h);
  expect_quiet(p3);
  expect_quiet(p4);
  expect_quiet(p5);
}

TEST_F(cl5_test, host_departure_closes_the_lobby) {
  auto watcher = cl5_join("watcher");
  auto h = cl5_join("host");
  cl5_host(h, "leaving");
  EXPECT_JSON(watcher->expect("NEW_HOST"), new_host_of(h, "leaving"));
  auto p1 = cl5_join("peer");
  cl5_enter(p1, h, "leaving");
  auto p2 = cl5_join("peer");
  cl5_enter(p2, h, "leaving", {&p1});
  ASSERT_FALSE(HasFailure());
  // The extension never allows reclaim: HOST_GONE, then LOBBY_CLOSE.
  EXPECT_TRUE(h->close()) << h->error();
  for (auto* p : {&p1, &p2}) {
    EXPECT_JSON((*p)->expect("HOST_GONE"),
                msg("HOST_GONE", json::value(h.acc.id)));
    EXPECT_JSON((*p)->expect("LOBBY_CLOSE"),
                msg("LOBBY_CLOSE", json::value("leaving")));
  }
  EXPECT_JSON(watcher->expect("LOBBY_CLOSE"),
              msg("LOBBY_CLOSE", json::value("leaving")));
  expect_quiet(p1);
  expect_quiet(p2);
  expect_quiet(watcher);
  // The peers are lobby-less again: one hosts the same id, the host drops.
  cl5_host(p1, "leaving");
  EXPECT_JSON(p2->expect("NEW_HOST"), new_host_of(p1, "leaving"));
  EXPECT_JSON(watcher->expect("NEW_HOST"), new_host_of(p1, "leaving"));
  cl5_enter(p2, p1, "leaving");
  p1->drop();
  EXPECT_JSON(p2->expect("HOST_GONE"),
              msg("HOST_GONE", json::value(p1.acc.id)));
  EXPECT_JSON(p2->expect("LOBBY_CLOSE"),
              msg("LOBBY_CLOSE", json::value("leaving")));
  EXPECT_JSON(watcher->expect("LOBBY_CLOSE"),
              msg("LOBBY_CLOSE", json::value("leaving")));
  expect_quiet(p2);
  expect_quiet(watcher);
}

// -- 3. passwords -------------------------------------------------------------

TEST_F(cl5_test, password_lobby_never_answers_password_required) {
  auto watcher = cl5_join("watcher");
  auto h = cl5_join("host");
  cl5_host(h, "secret", "sesame");
  auto p = cl5_join("peer");
  ASSERT_FALSE(HasFailure());
  // The extension has no case for PASSWORD_REQUIRED: a blank or missing
  // password fails like a wrong one, before any ANTICIPATE.
  send_config_peer(p, "secret", std::string{});
  expect_error(*p.ws, "PASSWORD_FAIL", {});
  send_config_peer(p, "secret", std::nullopt);
  expect_error(*p.ws, "PASSWORD_FAIL", {});
  send_config_peer(p, "secret", std::string{"open sesame"});
  expect_error(*p.ws, "PASSWORD_FAIL", {});
  expect_quiet(h);
  // The right one: ANTICIPATE, PASSWORD_ACK, ACK_PEER; then DISCOVER for a
  // second peer.
  cl5_enter(p, h, "secret", {}, "sesame");
  auto p2 = cl5_join("peer");
  cl5_enter(p2, h, "secret", {&p}, "sesame");
  cl5_relay(h, p, "MAKE_OFFER", sealed(1));
  cl5_relay(p2, p, "MAKE_OFFER", sealed(2));
  // A lobby with a password is never announced.
  expect_quiet(watcher);
  expect_quiet(h);
  expect_quiet(p);
  expect_quiet(p2);
}

// -- 4. relays outside the lobby ----------------------------------------------

TEST_F(cl5_test, relays_outside_the_senders_lobby_are_peer_invalid) {
  auto idle = cl5_join("idle");
  auto idle2 = cl5_join("idle");
  auto ha = cl5_join("hosta");
  cl5_host(ha, "a");
  auto hb = cl5_join("hostb");
  cl5_host(hb, "b");
  for (auto* w : {&idle, &idle2}) {
    EXPECT_JSON((*w)->expect("NEW_HOST"), new_host_of(ha, "a"));
    EXPECT_JSON((*w)->expect("NEW_HOST"), new_host_of(hb, "b"));
  }
  auto pa1 = cl5_join("peera");
  cl5_enter(pa1, ha, "a");
  auto pa2 = cl5_join("peera");
  cl5_enter(pa2, ha, "a", {&pa1});
  auto pb = cl5_join("peerb");
  cl5_enter(pb, hb, "b");
  ASSERT_FALSE(HasFailure());
  for (std::string op : {"MAKE_OFFER", "MAKE_ANSWER", "ICE"}) {
    SCOPED_TRACE(op);
    // Members of another lobby of the same game.
    expect_relay_error(pa1, op, pb.acc.id);
    expect_relay_error(pa1, op, hb.acc.id);
    expect_relay_error(ha, op, hb.acc.id);
    expect_relay_error(ha, op, pb.acc.id);
    // Lobby-less accounts.
    expect_relay_error(pa1, op, idle.acc.id);
    expect_relay_error(ha, op, idle.acc.id);
    // Oneself.
    expect_relay_error(pa1, op, pa1.acc.id);
    expect_relay_error(ha, op, ha.acc.id);
    // No recipient, or one no account has.
    expect_relay_error(pa1, op, std::nullopt);
    expect_relay_error(ha, op, unused_ulid);
    // A lobby-less sender gets PEER_INVALID, not NOT_HOST or NOT_PEER,
    // whoever it names.
    expect_relay_error(idle, op, ha.acc.id);
    expect_relay_error(idle, op, pa1.acc.id);
    expect_relay_error(idle, op, idle2.acc.id);
    // A string listener comes back on the error.
    idle->send_command(op, sealed(1), ha.acc.id, "who");
    expect_error(*idle.ws, "PEER_INVALID", "who");
  }
  // Nothing reached anyone, and the lobbies still relay.
  for (auto* x : {&idle, &idle2, &ha, &hb, &pa1, &pa2, &pb})
    expect_quiet(*x);
  cl5_relay(pa2, pa1, "MAKE_OFFER", sealed(2));
  cl5_relay(pb, hb, "ICE", sealed(3));
}

// -- 5. profiles: a standard game beside, switching, admin, demo --------------

TEST_F(cl5_test, a_standard_game_beside_a_cl5_game_is_unchanged) {
  // A cl5 lobby in the fixture's game...
  auto ch = cl5_join("chost");
  cl5_host(ch, "room");
  auto cp = cl5_join("cpeer");
  cl5_enter(cp, ch, "room");
  // ...and the standard shapes in a standard game on the same server, with
  // the same lobby id.
  use_game(new_game("standard"));
  auto p1 = join("peer");
  auto h = join("host");
  h->send_command("CONFIG_HOST",
                  json::object{{"lobby_id", "room"},
                               {"allow_host_reclaim", false},
                               {"allow_peers_to_claim_host", false},
                               {"max_peers", 0},
                               {"password", ""},
                               {"pubkey", "host-pk"}},
                  {}, "cfg");
  EXPECT_JSON(h->expect("ACK_HOST"),
              msg("ACK_HOST", json::object{{"lobby_id", "room"}}, "cfg"));
  EXPECT_JSON(p1->expect("NEW_HOST"),
              msg("NEW_HOST", json::object{{"id", h.acc.id},
                                           {"user", h.acc.user},
                                           {"lobby_id", "room"},
                                           {"pubkey", "host-pk"}}));
  auto h_ack = msg("ACK_PEER",
                   json::object{{"lobby_id", "room"},
                                {"id", h.acc.id},
                                {"user", h.acc.user},
                                {"pubkey", "host-pk"}},
                   "peer");
  // No ANTICIPATE before ACK_PEER, no ANTICIPATE or DISCOVER after it.
  p1->send_command("CONFIG_PEER", json::object{{"lobby_id", "room"}}, {},
                   "peer");
  EXPECT_JSON(p1->expect("ACK_PEER"), h_ack);
  EXPECT_JSON(h->expect("NEW_PEER"),
              msg("NEW_PEER",
                  json::object{{"id", p1.acc.id}, {"user", p1.acc.user}}));
  auto p2 = join("peer");
  p2->send_command("CONFIG_PEER",
                   json::object{{"lobby_id", "room"}, {"pubkey", "p2-pk"}}, {},
                   "peer");
  EXPECT_JSON(p2->expect("ACK_PEER"), h_ack);
  EXPECT_JSON(h->expect("NEW_PEER"),
              msg("NEW_PEER", json::object{{"id", p2.acc.id},
                                           {"user", p2.acc.user},
                                           {"pubkey", "p2-pk"}}));
  expect_quiet(p1);
  expect_quiet(p2);
  ASSERT_FALSE(HasFailure());
  // String origins; roles checked; no peer-to-peer link.
  relay(h, p1, "MAKE_OFFER", sdp_offer());
  relay(p1, h, "MAKE_ANSWER", sdp_answer());
  relay(h, p2, "ICE", ice_candidate(1));
  relay(p2, h, "ICE", ice_candidate(2));
  p1->send_command("MAKE_OFFER", sdp_offer(), p2.acc.id, "o1");
  expect_error(*p1.ws, "NOT_HOST", "o1");
  p1->send_command("MAKE_OFFER", sdp_offer(), h.acc.id, "o2");
  expect_error(*p1.ws, "NOT_HOST", "o2");
  h->send_command("MAKE_ANSWER", sdp_answer(), p1.acc.id, "a1");
  expect_error(*h.ws, "NOT_PEER", "a1");
  p1->send_command("ICE", ice_candidate(3), p2.acc.id, "i1");
  expect_error(*p1.ws, "PEER_INVALID", "i1");
  // A blank or missing password is PASSWORD_REQUIRED, a wrong one
  // PASSWORD_FAIL.
  auto h2 = join("host");
  h2->send_command("CONFIG_HOST",
                   json::object{{"lobby_id", "locked"}, {"password", "sesame"}},
                   {}, "cfg");
  EXPECT_JSON(h2->expect("ACK_HOST"),
              msg("ACK_HOST", json::object{{"lobby_id", "locked"}}, "cfg"));
  auto p3 = join("peer");
  p3->send_command("CONFIG_PEER",
                   json::object{{"lobby_id", "locked"}, {"password", ""}}, {},
                   "blank");
  expect_error(*p3.ws, "PASSWORD_REQUIRED", "blank");
  p3->send_command("CONFIG_PEER", json::object{{"lobby_id", "locked"}}, {},
                   "missing");
  expect_error(*p3.ws, "PASSWORD_REQUIRED", "missing");
  p3->send_command("CONFIG_PEER",
                   json::object{{"lobby_id", "locked"}, {"password", "x"}}, {},
                   "wrong");
  expect_error(*p3.ws, "PASSWORD_FAIL", "wrong");
  // PEER_GONE goes to the host only.
  p2->drop();
  EXPECT_JSON(h->expect("PEER_GONE"), msg("PEER_GONE", json::value(p2.acc.id)));
  expect_quiet(p1);
  expect_quiet(h);
  // The cl5 lobby kept its shapes meanwhile.
  cl5_relay(ch, cp, "MAKE_OFFER", sealed(1));
  cl5_relay(cp, ch, "MAKE_ANSWER", sealed(2));
  expect_quiet(ch);
  expect_quiet(cp);
}

TEST_F(cl5_test, set_profile_applies_to_new_connections_without_restart) {
  auto g = new_game("standard");
  use_game(g);
  // Standard: the extension's frames get standard answers.
  auto h = cl5_join("host");
  auto p = cl5_join("peer");
  cl5_host(h, "before");
  EXPECT_JSON(p->expect("NEW_HOST"), new_host_of(h, "before"));
  standard_enter(p, h, "before");
  standard_relay(h, p, "MAKE_OFFER", sealed(1));
  ASSERT_FALSE(HasFailure());
  auto set = srv_->admin({"game", "set-profile", g.ugi, "cl5"});
  EXPECT_EQ(set.status, 0);
  EXPECT_EQ(set.out, "");
  // Connections opened after the change get cl5.
  auto h2 = cl5_join("host");
  auto p2 = cl5_join("peer");
  cl5_host(h2, "after");
  EXPECT_JSON(p2->expect("NEW_HOST"), new_host_of(h2, "after"));
  cl5_enter(p2, h2, "after");
  cl5_relay(h2, p2, "MAKE_OFFER", sealed(2));
  // The lobby made before keeps its profile.
  standard_relay(p, h, "MAKE_ANSWER", sealed(3));
  expect_relay_error(p, "MAKE_OFFER", h.acc.id, "NOT_HOST");
  // And back: new lobbies are standard again, the cl5 lobby stays cl5.
  set = srv_->admin({"game", "set-profile", g.ugi, "standard"});
  EXPECT_EQ(set.status, 0);
  EXPECT_EQ(set.out, "");
  auto h3 = cl5_join("host");
  auto p3 = cl5_join("peer");
  cl5_host(h3, "again");
  EXPECT_JSON(p3->expect("NEW_HOST"), new_host_of(h3, "again"));
  standard_enter(p3, h3, "again");
  standard_relay(h3, p3, "MAKE_OFFER", sealed(4));
  expect_relay_error(p3, "MAKE_OFFER", h3.acc.id, "NOT_HOST");
  cl5_relay(p2, h2, "MAKE_ANSWER", sealed(5));
  for (auto* x : {&h, &p, &h2, &p2, &h3, &p3})
    expect_quiet(*x);
}

TEST_F(cl5_test, admin_game_profiles) {
  auto name = unique("Game ");
  auto dev = unique("Dev ");
  // `game add --profile` prints the UGI alone, on one line.
  auto add = srv_->admin(
    {"game", "add", name, "--developer", dev, "--profile", "cl5"});
  ASSERT_EQ(add.status, 0);
  ASSERT_EQ(add.out.size(), 27u) << add.out;
  EXPECT_EQ(add.out.back(), '\n');
  auto cl5_ugi = add.out.substr(0, 26);
  EXPECT_TRUE(is_ulid(cl5_ugi)) << add.out;
  auto std_name = unique("Game ");
  auto std_ugi = srv_->add_game(std_name, dev);
  auto explicit_name = unique("Game ");
  auto explicit_ugi = srv_->add_game(explicit_name, dev, "standard");
  ASSERT_TRUE(is_ulid(std_ugi));
  ASSERT_TRUE(is_ulid(explicit_ugi));
  // `game list`: UGI, name, developer, profile.
  auto list = srv_->admin({"game", "list"});
  ASSERT_EQ(list.status, 0);
  EXPECT_EQ(list_line(list.out, cl5_ugi),
            cl5_ugi + "\t" + name + "\t" + dev + "\tcl5");
  EXPECT_EQ(list_line(list.out, std_ugi),
            std_ugi + "\t" + std_name + "\t" + dev + "\tstandard");
  EXPECT_EQ(list_line(list.out, explicit_ugi),
            explicit_ugi + "\t" + explicit_name + "\t" + dev + "\tstandard");
  EXPECT_EQ(list_line(list.out, ugi_),
            ugi_ + "\t" + game_ + "\t" + developer_ + "\tcl5");
  for (auto& g : parse_games(list.out))
    EXPECT_TRUE(g[3] == "standard" || g[3] == "cl5")
      << g[0] << " has profile '" << g[3] << "'";
  // `game set-profile` prints nothing.
  auto set = srv_->admin({"game", "set-profile", std_ugi, "cl5"});
  EXPECT_EQ(set.status, 0);
  EXPECT_EQ(set.out, "");
  set = srv_->admin({"game", "set-profile", cl5_ugi, "standard"});
  EXPECT_EQ(set.status, 0);
  EXPECT_EQ(set.out, "");
  list = srv_->admin({"game", "list"});
  EXPECT_EQ(list_line(list.out, std_ugi),
            std_ugi + "\t" + std_name + "\t" + dev + "\tcl5");
  EXPECT_EQ(list_line(list.out, cl5_ugi),
            cl5_ugi + "\t" + name + "\t" + dev + "\tstandard");
  // Unknown game: 1. Unknown profile: 2, and nothing changes.
  EXPECT_EQ(srv_->admin({"game", "set-profile", unused_ulid, "cl5"}).status, 1);
  auto bad = srv_->admin({"game", "set-profile", std_ugi, "cl6"});
  EXPECT_EQ(bad.status, 2);
  EXPECT_EQ(bad.out, "");
  auto bad_name = unique("Game ");
  bad = srv_->admin(
    {"game", "add", bad_name, "--developer", dev, "--profile", "turbo"});
  EXPECT_EQ(bad.status, 2);
  EXPECT_EQ(bad.out, "");
  list = srv_->admin({"game", "list"});
  EXPECT_EQ(list_line(list.out, std_ugi),
            std_ugi + "\t" + std_name + "\t" + dev + "\tcl5");
  EXPECT_EQ(list.out.find("\t" + bad_name + "\t"), std::string::npos)
    << list.out;
}

TEST_F(cl5_test, demo_makes_a_standard_and_a_cl5_game) {
  // Not start_own: that would add a game of its own to the list.
  own_ = std::make_unique<server_process>();
  ASSERT_TRUE(own_->start({"--demo"})) << own_->error();
  srv_ = own_.get();
  auto list = srv_->admin({"game", "list"});
  ASSERT_EQ(list.status, 0);
  auto games = parse_games(list.out);
  ASSERT_EQ(games.size(), 2u) << list.out;
  auto& cl5 = games[0][3] == "cl5" ? games[0] : games[1];
  auto& standard = games[0][3] == "cl5" ? games[1] : games[0];
  EXPECT_EQ(cl5[3], "cl5") << list.out;
  EXPECT_EQ(standard[3], "standard") << list.out;
  // The CL5 demo game speaks cl5.
  use_game(game_info{cl5[0], cl5[1], cl5[2]});
  auto h = cl5_join("host");
  auto p = cl5_join("peer");
  cl5_host(h, "demo");
  EXPECT_JSON(p->expect("NEW_HOST"), new_host_of(h, "demo"));
  cl5_enter(p, h, "demo");
  cl5_relay(h, p, "MAKE_OFFER", sealed(1));
  // The standard one does not.
  use_game(game_info{standard[0], standard[1], standard[2]});
  auto sh = cl5_join("host");
  auto sp = cl5_join("peer");
  cl5_host(sh, "demo");
  EXPECT_JSON(sp->expect("NEW_HOST"), new_host_of(sh, "demo"));
  standard_enter(sp, sh, "demo");
  standard_relay(sh, sp, "MAKE_OFFER", sealed(2));
}

// -- 6. HTTP: register and cloud saves ----------------------------------------

TEST_F(cl5_test, register_answers_plain_ok_unless_json_is_accepted) {
  auto body = [](const std::string& user) {
    return json::serialize(json::object{{"username", user},
                                        {"email", user + "@example.com"},
                                        {"password", "password123"}});
  };
  // The account extension succeeds only on a body of exactly OK.
  auto user = unique("plain");
  auto reg = http_post(port(), "/api/v0/register", body(user));
  EXPECT_EQ(reg.status, 201u) << reg.error << reg.body;
  EXPECT_EQ(reg.body, "OK");
  EXPECT_TRUE(is_text_plain(reg)) << reg.header("content-type");
  // What fetch sends by default, from the game's origin.
  auto fetched = unique("fetch");
  const std::string origin = "https://turbowarp.example.org";
  reg = http_post(port(), "/api/v0/register", body(fetched), origin,
                  {{"Accept", "*/*"}});
  EXPECT_EQ(reg.status, 201u) << reg.error << reg.body;
  EXPECT_EQ(reg.body, "OK");
  EXPECT_TRUE(is_text_plain(reg)) << reg.header("content-type");
  EXPECT_EQ(reg.header("access-control-allow-origin"), origin);
  // Asked for JSON: as before.
  auto wants_json = unique("json");
  reg = http_post(port(), "/api/v0/register", body(wants_json), {},
                  {accept_json});
  ASSERT_EQ(reg.status, 201u) << reg.error << reg.body;
  auto obj = json::parse(reg.body).as_object();
  EXPECT_EQ(member(obj, "username"), wants_json);
  EXPECT_TRUE(is_ulid(member(obj, "id"))) << reg.body;
  // The plainly answered account exists: it logs in and INITs.
  account a{user, user + "@example.com", "password123", {}, {}};
  a.token = login(a);
  auto c = open("plain");
  c->send_command("INIT", json::value(a.token), {}, "init");
  auto ok = c->expect("INIT_OK");
  EXPECT_EQ(payload_member(ok, "user"), user) << json::serialize(ok);
  EXPECT_TRUE(is_ulid(payload_member(ok, "id"))) << json::serialize(ok);
}

TEST_F(cl5_test, cloud_save_round_trip_per_account_game_and_slot) {
  auto a = new_account("saver");
  auto b = new_account("other");
  // Saves belong to the game, whatever its profile.
  auto other_game = new_game("standard");
  ASSERT_FALSE(HasFailure());
  auto load = [&](const account& who, const std::string& ugi,
                  json::value slot) {
    auto res = http_load(port(), who.token, ugi, slot);
    EXPECT_EQ(res.status, 200u) << res.error << res.body;
    EXPECT_TRUE(is_text_plain(res)) << res.header("content-type");
    return res.body;
  };
  auto save = [&](const account& who, const std::string& ugi, json::value slot,
                  const std::string& data) {
    auto res = http_save(port(), who.token, ugi, slot, data);
    EXPECT_EQ(res.status, 200u) << res.error << res.body;
    EXPECT_EQ(res.body, "OK");
    EXPECT_TRUE(is_text_plain(res)) << res.header("content-type");
  };
  // Never saved: empty.
  EXPECT_EQ(load(a, ugi_, 1), "");
  save(a, ugi_, 1, "level=3;coins=12");
  EXPECT_EQ(load(a, ugi_, 1), "level=3;coins=12");
  // Overwritten.
  save(a, ugi_, 1, "level=4");
  EXPECT_EQ(load(a, ugi_, 1), "level=4");
  // Another slot, account or game does not see it.
  EXPECT_EQ(load(a, ugi_, 2), "");
  EXPECT_EQ(load(b, ugi_, 1), "");
  EXPECT_EQ(load(a, other_game.ugi, 1), "");
  save(a, ugi_, 2, "second");
  save(b, ugi_, 1, "b's");
  save(a, other_game.ugi, 1, "elsewhere");
  EXPECT_EQ(load(a, ugi_, 1), "level=4");
  EXPECT_EQ(load(a, ugi_, 2), "second");
  EXPECT_EQ(load(b, ugi_, 1), "b's");
  EXPECT_EQ(load(a, other_game.ugi, 1), "elsewhere");
  // The load block sends the menu value as a string.
  save(a, ugi_, "3", "three");
  EXPECT_EQ(load(a, ugi_, 3), "three");
  save(a, ugi_, 3, "drei");
  EXPECT_EQ(load(a, ugi_, "3"), "drei");
  // 1 and 10 are the ends of the range.
  save(a, ugi_, 10, "ten");
  EXPECT_EQ(load(a, ugi_, "10"), "ten");
  EXPECT_EQ(load(a, ugi_, 1), "level=4");
  // Text comes back byte for byte, JSON-looking or not; empty is a save.
  const std::string odd = "{\"x\":[1,\"\xC3\xA9\"]}\r\n\xE2\x9C\x93 \\u0041\t";
  save(a, ugi_, 4, odd);
  EXPECT_EQ(load(a, ugi_, 4), odd);
  save(a, ugi_, 2, "");
  EXPECT_EQ(load(a, ugi_, 2), "");
}

TEST_F(cl5_test, cloud_save_slot_and_size_limits) {
  auto a = new_account("limits");
  ASSERT_FALSE(HasFailure());
  for (auto& slot :
       {json::value(0), json::value(11), json::value(-1), json::value(1.5),
        json::value("abc"), json::value("0"), json::value("11"),
        json::value(nullptr), json::value(true)}) {
    SCOPED_TRACE(json::serialize(slot));
    EXPECT_EQ(http_save(port(), a.token, ugi_, slot, "x").status, 400u);
    EXPECT_EQ(http_load(port(), a.token, ugi_, slot).status, 400u);
  }
  // No save_slot at all.
  EXPECT_EQ(http_post(port(), "/api/v0/save",
                      json::serialize(json::object{
                        {"token", a.token}, {"ugi", ugi_}, {"save_data", "x"}}))
              .status,
            400u);
  EXPECT_EQ(
    http_post(port(), "/api/v0/load",
              json::serialize(json::object{{"token", a.token}, {"ugi", ugi_}}))
      .status,
    400u);
  // At most 10,000 characters, not bytes: 10,000 two-byte characters fit.
  const std::string ascii(10000, 'a');
  std::string accented;
  for (int i = 0; i < 10000; ++i)
    accented += "\xC3\xA9";
  auto res = http_save(port(), a.token, ugi_, 5, ascii);
  EXPECT_EQ(res.status, 200u) << res.body;
  EXPECT_EQ(http_load(port(), a.token, ugi_, 5).body, ascii);
  res = http_save(port(), a.token, ugi_, 5, accented);
  EXPECT_EQ(res.status, 200u) << res.body;
  EXPECT_EQ(http_load(port(), a.token, ugi_, 5).body, accented);
  // One more is refused and leaves the slot as it was.
  EXPECT_EQ(http_save(port(), a.token, ugi_, 5, ascii + "a").status, 400u);
  EXPECT_EQ(http_save(port(), a.token, ugi_, 5, accented + "a").status, 400u);
  EXPECT_EQ(http_load(port(), a.token, ugi_, 5).body, accented);
  // save_data missing, or a structure rather than text. (A number or a
  // boolean, which a Scratch reporter may send, is left to the server.)
  json::object body{{"token", a.token}, {"ugi", ugi_}, {"save_slot", 5}};
  EXPECT_EQ(http_post(port(), "/api/v0/save", json::serialize(body)).status,
            400u);
  for (auto& data : {json::value(nullptr), json::value(json::array{1}),
                     json::value(json::object{{"a", "b"}})}) {
    SCOPED_TRACE(json::serialize(data));
    body["save_data"] = data;
    EXPECT_EQ(http_post(port(), "/api/v0/save", json::serialize(body)).status,
              400u);
  }
  EXPECT_EQ(http_load(port(), a.token, ugi_, 5).body, accented);
}

TEST_F(cl5_test, cloud_save_errors_400_then_404_then_401) {
  auto a = new_account("errors");
  ASSERT_FALSE(HasFailure());
  for (std::string path : {"/api/v0/save", "/api/v0/load"}) {
    SCOPED_TRACE(path);
    auto post = [&](json::object body) {
      if (path == "/api/v0/save" && !body.contains("save_data"))
        body["save_data"] = "x";
      return http_post(port(), path, json::serialize(body)).status;
    };
    // Not a JSON object.
    EXPECT_EQ(http_post(port(), path, "{not json").status, 400u);
    EXPECT_EQ(http_post(port(), path, "").status, 400u);
    EXPECT_EQ(http_post(port(), path, "[1,2]").status, 400u);
    EXPECT_EQ(http_post(port(), path, R"("text")").status, 400u);
    // A missing or non-string token or ugi.
    EXPECT_EQ(post({{"ugi", ugi_}, {"save_slot", 1}}), 400u);
    EXPECT_EQ(post({{"token", 5}, {"ugi", ugi_}, {"save_slot", 1}}), 400u);
    EXPECT_EQ(post({{"token", a.token}, {"save_slot", 1}}), 400u);
    EXPECT_EQ(post({{"token", a.token}, {"ugi", 5}, {"save_slot", 1}}), 400u);
    // An unknown game, an unknown token.
    EXPECT_EQ(
      post({{"token", a.token}, {"ugi", unused_ulid}, {"save_slot", 1}}), 404u);
    EXPECT_EQ(post({{"token", "no-such-token-0123456789"},
                    {"ugi", ugi_},
                    {"save_slot", 1}}),
              401u);
    // 400 before 404 before 401.
    EXPECT_EQ(post({{"token", "no-such-token-0123456789"},
                    {"ugi", unused_ulid},
                    {"save_slot", 0}}),
              400u);
    EXPECT_EQ(post({{"ugi", unused_ulid}, {"save_slot", 1}}), 400u);
    EXPECT_EQ(post({{"token", "no-such-token-0123456789"},
                    {"ugi", unused_ulid},
                    {"save_slot", 1}}),
              404u);
  }
  EXPECT_EQ(http_save(port(), "no-such-token-0123456789", unused_ulid, 1,
                      std::string(10001, 'a'))
              .status,
            400u);
  // An expired token: 401, after the 1 s lifetime (polled, bounded, since
  // the store may count whole seconds).
  auto issued = srv_->admin({"token", "issue", a.user, "--lifetime", "1"});
  ASSERT_EQ(issued.status, 0);
  auto stale = issued.out.substr(0, issued.out.find('\n'));
  std::this_thread::sleep_for(1100ms);
  auto deadline = steady_clock::now() + 5s;
  http_result res;
  for (;;) {
    res = http_load(port(), stale, ugi_, 1);
    if (res.status == 401 || steady_clock::now() > deadline)
      break;
    std::this_thread::sleep_for(100ms);
  }
  EXPECT_EQ(res.status, 401u) << res.body;
  EXPECT_EQ(http_save(port(), stale, ugi_, 1, "late").status, 401u);
  EXPECT_EQ(http_save(port(), stale, unused_ulid, 1, "late").status, 404u);
  // The account's live token still works.
  EXPECT_EQ(http_save(port(), a.token, ugi_, 1, "fresh").status, 200u);
}

TEST_F(cl5_test, cloud_save_cors_and_origin_bound_tokens) {
  const std::string origin = "https://game.example.org";
  for (std::string path : {"/api/v0/save", "/api/v0/load"}) {
    SCOPED_TRACE(path);
    auto pre
      = http_request(port(), verb::options, path, {},
                     {{"Origin", origin},
                      {"Access-Control-Request-Method", "POST"},
                      {"Access-Control-Request-Headers", "content-type"}});
    EXPECT_EQ(pre.status, 204u) << pre.error;
    EXPECT_EQ(pre.header("access-control-allow-origin"), origin);
    EXPECT_NE(pre.header("access-control-allow-methods").find("POST"),
              std::string::npos)
      << pre.header("access-control-allow-methods");
  }
  // A token issued without an Origin works from any origin.
  auto a = new_account("cors");
  auto res = http_save(port(), a.token, ugi_, 1, "from the page", origin);
  EXPECT_EQ(res.status, 200u) << res.body;
  EXPECT_EQ(res.header("access-control-allow-origin"), origin);
  res = http_load(port(), a.token, ugi_, 1, origin);
  EXPECT_EQ(res.status, 200u);
  EXPECT_EQ(res.body, "from the page");
  EXPECT_EQ(res.header("access-control-allow-origin"), origin);
  // One issued to an Origin works from there only.
  auto b = new_account("bound", origin);
  EXPECT_EQ(http_save(port(), b.token, ugi_, 1, "mine", origin).status, 200u);
  const std::string evil = "https://evil.example.org";
  res = http_save(port(), b.token, ugi_, 1, "theirs", evil);
  EXPECT_EQ(res.status, 401u);
  EXPECT_EQ(res.header("access-control-allow-origin"), evil);
  EXPECT_EQ(http_load(port(), b.token, ugi_, 1, evil).status, 401u);
  EXPECT_EQ(http_save(port(), b.token, ugi_, 1, "theirs").status, 401u);
  res = http_load(port(), b.token, ugi_, 1, origin);
  EXPECT_EQ(res.status, 200u);
  EXPECT_EQ(res.body, "mine");
}
