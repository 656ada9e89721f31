#include "transport/json_codec.hpp"

#include <cstdint>
#include <random>
#include <string>
#include <type_traits>
#include <vector>

#include <boost/json.hpp>
#include <caf/deep_to_string.hpp>
#include <gtest/gtest.h>

#include "messages/type_ids.hpp"
#include "transport/client_codec.hpp"

/// Table-driven tests of the JSON codec against PROTOCOL.md sections 1-3.
/// Every expectation compares whole structs (reasons and close codes
/// included), so any drift in the wire contract fails a row.

using namespace omega;

namespace json = boost::json;

namespace {

// -- helpers ----------------------------------------------------------------

std::string show(const command& x) {
  return std::visit([](const auto& y) { return caf::deep_to_string(y); }, x);
}

std::string show(const event& x) {
  return std::visit([](const auto& y) { return caf::deep_to_string(y); }, x);
}

std::string rep(std::string_view x, size_t n) {
  std::string result;
  result.reserve(x.size() * n);
  for (size_t i = 0; i < n; ++i)
    result += x;
  return result;
}

/// A VIOLATION with close code 1008.
cmd::bad_frame violation(opcode op, std::string reason,
                         std::string listener = {}) {
  return {op, ec::violation, std::move(reason), close_code::policy_violation,
          std::move(listener)};
}

/// A WARNING for an unknown opcode (connection stays open).
cmd::bad_frame unknown(std::string name, std::string listener = {}) {
  return {opcode::unknown, ec::warning, "unknown opcode: " + name, 0,
          std::move(listener)};
}

cmd::bad_frame not_json(std::string listener = {}) {
  return violation(opcode::none, "frame is not valid JSON",
                   std::move(listener));
}

cmd::bad_frame not_object() {
  return violation(opcode::none, "frame must be a JSON object");
}

std::string config_host_frame(const std::string& lobby_id) {
  return R"({"opcode":"CONFIG_HOST","payload":{"lobby_id":")" + lobby_id
         + R"("}})";
}

cmd::config_host config_host_cmd(std::string lobby_id) {
  cmd::config_host result;
  result.lobby_id = std::move(lobby_id);
  return result;
}

std::string password_frame(const std::string& password) {
  return R"({"opcode":"CONFIG_PEER","payload":{"lobby_id":"l","password":")"
         + password + R"("}})";
}

/// Inserts a listener member just before the frame's closing brace.
std::string with_listener(const std::string& frame, const std::string& id) {
  auto result = frame;
  result.insert(result.rfind('}'), R"(,"listener":")" + id + R"(")");
  return result;
}

struct decode_row {
  const char* name;
  std::string frame;
  command expected;
};

/// Checks one frame outside a table; the message names the frame's start.
void expect_decodes(const std::string& frame, const command& expected) {
  SCOPED_TRACE(frame.substr(0, 80));
  auto got = decode(frame);
  EXPECT_EQ(show(got), show(expected));
  EXPECT_TRUE(got == expected);
  EXPECT_EQ(show(got), show(detail::decode_with_dom(frame)));
}

void check_rows(const std::vector<decode_row>& rows,
                const codec_limits& limits = {}) {
  for (auto& row : rows) {
    SCOPED_TRACE(row.name);
    SCOPED_TRACE(row.frame.substr(0, 200));
    auto got = decode(row.frame, limits);
    EXPECT_EQ(show(got), show(row.expected));
    EXPECT_TRUE(got == row.expected);
    // The DOM-free path for relays and KEEPALIVE decodes exactly as the DOM.
    EXPECT_EQ(show(got), show(detail::decode_with_dom(row.frame, limits)));
  }
}

// Escaped and raw UTF-8 samples.
const std::string emoji = "\xF0\x9F\x98\x80";       // U+1F600, 4 bytes
const std::string cjk = "\xE6\xBC\xA2\xE5\xAD\x97"; // U+6F22 U+5B57
const std::string e_acute = "\xC3\xA9";             // U+00E9, 2 bytes
const std::string emoji_escaped = "\\ud83d\\ude00"; // U+1F600 in JSON

// -- decode: every opcode's valid form --------------------------------------

std::vector<decode_row> valid_rows() {
  cmd::config_host full;
  full.lobby_id = "my-lobby";
  full.allow_host_reclaim = true;
  full.allow_peers_to_claim_host = true;
  full.max_peers = 10;
  full.password = "secret";
  full.pubkey = "PUBKEY";
  auto max100 = config_host_cmd("x");
  max100.max_peers = 100;
  auto max2 = config_host_cmd("x");
  max2.max_peers = 2;
  auto max10 = config_host_cmd("x");
  max10.max_peers = 10;
  auto reclaim_only = config_host_cmd("x");
  reclaim_only.allow_host_reclaim = true;
  auto pw128 = config_host_cmd("x");
  pw128.password = rep("p", 128);
  auto pw_unicode = config_host_cmd("x");
  pw_unicode.password = emoji + cjk + rep(e_acute, 125);
  return {
    {"keepalive without payload", R"({"opcode":"KEEPALIVE"})",
     cmd::keepalive{}},
    {"keepalive with null payload", R"({"opcode":"KEEPALIVE","payload":null})",
     cmd::keepalive{}},
    {"keepalive with string payload",
     R"({"opcode":"KEEPALIVE","payload":"ping"})",
     cmd::keepalive{R"("ping")", ""}},
    {"keepalive with nested nulls",
     R"({"opcode":"KEEPALIVE","payload":{"t":1,"n":null,"a":[null]}})",
     cmd::keepalive{R"({"t":1,"n":null,"a":[null]})", ""}},
    // Opaque payloads travel as the client wrote them (the same JSON value).
    {"keepalive with emoji payload",
     R"({"opcode":"KEEPALIVE","payload":")" + emoji_escaped + R"("})",
     cmd::keepalive{"\"" + emoji_escaped + "\"", ""}},
    {"payload keeps its spacing",
     "{ \"opcode\" : \"ICE\" ,\n \"payload\" :\t{ \"a\" : [ 1 , \"}\" ] } , "
     "\"recipient\":\"h\" }",
     cmd::ice{"h", "{ \"a\" : [ 1 , \"}\" ] }", ""}},
    {"payload keeps digits beyond a double",
     R"({"opcode":"ICE","payload":123456789012345678901234567890,)"
     R"("recipient":"h"})",
     cmd::ice{"h", "123456789012345678901234567890", ""}},
    {"payload keeps numbers beyond a double's range",
     R"({"opcode":"MAKE_OFFER","payload":{"x":[1e400]},"recipient":"p"})",
     cmd::make_offer{"p", R"({"x":[1e400]})", ""}},
    {"keepalive keeps numbers beyond a double's range",
     R"({"opcode":"KEEPALIVE","payload":-1e400})",
     cmd::keepalive{"-1e400", ""}},
    {"the last of duplicate payloads counts",
     R"({"opcode":"ICE","payload":1,"recipient":"h","payload":{"b":"\"x"}})",
     cmd::ice{"h", R"({"b":"\"x"})", ""}},
    {"an escaped member name falls back to the parsed value",
     R"({"opcode":"ICE","payload": [1, 2],"recipi\u0065nt":"h"})",
     cmd::ice{"h", "[1,2]", ""}},
    {"keepalive with explicit listener",
     R"({"listener":"k1","opcode":"KEEPALIVE","payload":42})",
     cmd::keepalive{"42", "k1"}},
    {"init", R"({"opcode":"INIT","payload":"tok-123"})",
     cmd::init{"tok-123", ""}},
    {"init with empty token", R"({"opcode":"INIT","payload":""})",
     cmd::init{"", ""}},
    {"init ignores client origin",
     R"({"opcode":"INIT","payload":"t","origin":"spoofed"})",
     cmd::init{"t", ""}},
    {"config_host with every member",
     R"({"opcode":"CONFIG_HOST","payload":{"lobby_id":"my-lobby",)"
     R"("allow_host_reclaim":true,"allow_peers_to_claim_host":true,)"
     R"("max_peers":10,"password":"secret","pubkey":"PUBKEY"}})",
     full},
    {"config_host with only lobby_id", config_host_frame("x"),
     config_host_cmd("x")},
    {"config_host with null optionals",
     R"({"opcode":"CONFIG_HOST","payload":{"lobby_id":"x",)"
     R"("allow_host_reclaim":null,"allow_peers_to_claim_host":null,)"
     R"("max_peers":null,"password":null,"pubkey":null}})",
     config_host_cmd("x")},
    {"config_host with one boolean",
     R"({"opcode":"CONFIG_HOST","payload":{"lobby_id":"x",)"
     R"("allow_host_reclaim":true,"allow_peers_to_claim_host":false}})",
     reclaim_only},
    {"config_host max_peers at the limit",
     R"({"opcode":"CONFIG_HOST","payload":{"lobby_id":"x","max_peers":100}})",
     max100},
    {"config_host max_peers 0",
     R"({"opcode":"CONFIG_HOST","payload":{"lobby_id":"x","max_peers":0}})",
     config_host_cmd("x")},
    {"config_host integral double max_peers",
     R"({"opcode":"CONFIG_HOST","payload":{"lobby_id":"x","max_peers":2.0}})",
     max2},
    {"config_host exponent max_peers",
     R"({"opcode":"CONFIG_HOST","payload":{"lobby_id":"x","max_peers":1e1}})",
     max10},
    {"config_host empty password means none",
     R"({"opcode":"CONFIG_HOST","payload":{"lobby_id":"x","password":""}})",
     config_host_cmd("x")},
    {"config_host 128-character password",
     R"({"opcode":"CONFIG_HOST","payload":{"lobby_id":"x","password":")"
       + rep("p", 128) + R"("}})",
     pw128},
    {"config_host 128 code point unicode password",
     R"({"opcode":"CONFIG_HOST","payload":{"lobby_id":"x","password":")" + emoji
       + cjk + rep(e_acute, 125) + R"("}})",
     pw_unicode},
    {"config_host ignores unknown members",
     R"({"opcode":"CONFIG_HOST","payload":{"lobby_id":"x","extra":[1,2],)"
     R"("max_players":"lots"},"unknown_envelope_member":{}})",
     config_host_cmd("x")},
    {"config_host 1-character lobby id", config_host_frame("a"),
     config_host_cmd("a")},
    {"config_host 64-character lobby id", config_host_frame(rep("a", 64)),
     config_host_cmd(rep("a", 64))},
    {"config_host 64 two-byte characters", config_host_frame(rep(e_acute, 64)),
     config_host_cmd(rep(e_acute, 64))},
    {"config_host 64 emoji", config_host_frame(rep(emoji, 64)),
     config_host_cmd(rep(emoji, 64))},
    {"config_host 64 escaped surrogate pairs",
     config_host_frame(rep(emoji_escaped, 64)),
     config_host_cmd(rep(emoji, 64))},
    {"config_host CJK lobby id", config_host_frame(cjk), config_host_cmd(cjk)},
    {"config_peer with only lobby_id",
     R"({"opcode":"CONFIG_PEER","payload":{"lobby_id":"l"}})",
     cmd::config_peer{"l", "", "", ""}},
    {"config_peer with password and pubkey",
     R"({"opcode":"CONFIG_PEER","payload":{"lobby_id":"l","password":"pw",)"
     R"("pubkey":"K"}})",
     cmd::config_peer{"l", "pw", "K", ""}},
    {"config_peer with null optionals",
     R"({"opcode":"CONFIG_PEER","payload":{"lobby_id":"l","password":null,)"
     R"("pubkey":null}})",
     cmd::config_peer{"l", "", "", ""}},
    {"config_peer 128-character password", password_frame(rep("p", 128)),
     cmd::config_peer{"l", rep("p", 128), "", ""}},
    {"config_peer emoji password", password_frame(emoji + emoji_escaped),
     cmd::config_peer{"l", emoji + emoji, "", ""}},
    {"make_offer",
     R"({"opcode":"MAKE_OFFER","payload":{"type":"offer",)"
     R"("sdp":"v=0\r\n"},"recipient":"peer-1"})",
     cmd::make_offer{"peer-1", R"({"type":"offer","sdp":"v=0\r\n"})", ""}},
    {"make_offer without payload", R"({"opcode":"MAKE_OFFER","recipient":"p"})",
     cmd::make_offer{"p", "", ""}},
    {"make_offer null payload and non-string recipient",
     R"({"opcode":"MAKE_OFFER","payload":null,"recipient":5})",
     cmd::make_offer{"", "", ""}},
    {"make_offer ignores client origin",
     R"({"opcode":"MAKE_OFFER","payload":1,"recipient":"p","origin":"x"})",
     cmd::make_offer{"p", "1", ""}},
    {"make_answer with escaped string payload",
     R"({"opcode":"MAKE_ANSWER","payload":"a\"b\\c\n","recipient":"h"})",
     cmd::make_answer{"h", R"("a\"b\\c\n")", ""}},
    {"ice with nested null",
     R"({"opcode":"ICE","payload":[null,{"a":null}],)"
     R"("recipient":"h"})",
     cmd::ice{"h", R"([null,{"a":null}])", ""}},
    {"ice without recipient", R"({"opcode":"ICE","payload":false})",
     cmd::ice{"", "false", ""}},
    {"claim_host", R"({"opcode":"CLAIM_HOST"})", cmd::claim_host{}},
    {"claim_host ignores payload",
     R"({"opcode":"CLAIM_HOST","payload":{"x":[1]}})", cmd::claim_host{}},
    {"transfer_host", R"({"opcode":"TRANSFER_HOST","payload":"peer-2"})",
     cmd::transfer_host{"peer-2", ""}},
    {"transfer_host with empty target",
     R"({"opcode":"TRANSFER_HOST","payload":""})", cmd::transfer_host{"", ""}},
    {"lock", R"({"opcode":"LOCK"})", cmd::lock{}},
    {"lock ignores payload", R"({"opcode":"LOCK","payload":5})", cmd::lock{}},
    {"unlock", R"({"opcode":"UNLOCK","payload":null})", cmd::unlock{}},
    {"size 0", R"({"opcode":"SIZE","payload":0})", cmd::size{0, ""}},
    {"size at the limit", R"({"opcode":"SIZE","payload":100})",
     cmd::size{100, ""}},
    {"size integral double", R"({"opcode":"SIZE","payload":7.0})",
     cmd::size{7, ""}},
    {"size negative zero", R"({"opcode":"SIZE","payload":-0.0})",
     cmd::size{0, ""}},
    {"kick", R"({"opcode":"KICK","payload":"peer-3"})",
     cmd::kick{"peer-3", ""}},
    {"kick with empty target", R"({"opcode":"KICK","payload":""})",
     cmd::kick{"", ""}},
    {"lobby_list", R"({"opcode":"LOBBY_LIST"})", cmd::lobby_list{}},
    {"lobby_list ignores payload", R"({"opcode":"LOBBY_LIST","payload":[]})",
     cmd::lobby_list{}},
    {"lobby_info", R"({"opcode":"LOBBY_INFO","payload":"lobby"})",
     cmd::lobby_info{"lobby", ""}},
    {"lobby_info CJK", R"({"opcode":"LOBBY_INFO","payload":")" + cjk + R"("})",
     cmd::lobby_info{cjk, ""}},
    {"lobby_info 64 characters",
     R"({"opcode":"LOBBY_INFO","payload":")" + rep("z", 64) + R"("})",
     cmd::lobby_info{rep("z", 64), ""}},
    {"whitespace around tokens", " {\n \"opcode\" : \"LOCK\" } \t",
     cmd::lock{}},
    {"non-string listener is ignored", R"({"opcode":"LOCK","listener":5})",
     cmd::lock{}},
    {"null listener is ignored", R"({"opcode":"UNLOCK","listener":null})",
     cmd::unlock{}},
    {"emoji listener",
     R"({"opcode":"LOCK","listener":")" + emoji_escaped + cjk + R"("})",
     cmd::lock{emoji + cjk}},
  };
}

TEST(json_codec_decode, valid_frames) {
  check_rows(valid_rows());
}

TEST(json_codec_decode, valid_frames_echo_listener) {
  // Every valid row again, now with a listener: it must land in the command.
  std::vector<decode_row> rows;
  for (auto& row : valid_rows()) {
    auto has_listener = std::visit(
      [](const auto& x) { return !x.listener.empty(); }, row.expected);
    if (has_listener || row.frame.find("listener") != std::string::npos)
      continue;
    auto expected = row.expected;
    std::visit([](auto& x) { x.listener = "L-1"; }, expected);
    rows.push_back({row.name, with_listener(row.frame, "L-1"), expected});
  }
  EXPECT_GE(rows.size(), 50u);
  check_rows(rows);
}

// -- decode: malformed frames -----------------------------------------------

std::vector<decode_row> malformed_rows() {
  auto op = [](opcode x, std::string reason, std::string listener = {}) {
    return violation(x, std::move(reason), std::move(listener));
  };
  auto max_peers = [](std::string val) {
    return R"({"opcode":"CONFIG_HOST","payload":{"lobby_id":"x","max_peers":)"
           + val + "}}";
  };
  auto host_member = [](std::string member) {
    return R"({"opcode":"CONFIG_HOST","payload":{"lobby_id":"x",)" + member
           + "}}";
  };
  const std::string max_peers_reason
    = "max_peers must be an integer from 0 to 100";
  const std::string size_reason
    = "SIZE payload must be an integer from 0 to 100";
  const std::string lobby_len = "lobby_id must be 1 to 64 characters";
  const std::string info_len = "LOBBY_INFO payload must be 1 to 64 characters";
  const std::string info_type = "LOBBY_INFO payload must be a string";
  const std::string init_type = "INIT payload must be a token string";
  const std::string transfer_type
    = "TRANSFER_HOST payload must be a peer id string";
  const std::string kick_type = "KICK payload must be a peer id string";
  const std::string host_type = "CONFIG_HOST payload must be an object";
  const std::string peer_type = "CONFIG_PEER payload must be an object";
  const std::string pw_len = "password must be at most 128 characters";
  return {
    // Not JSON at all.
    {"empty frame", "", not_json()},
    {"plain text", "hello", not_json()},
    {"truncated object", R"({"opcode":"LOCK")", not_json()},
    {"trailing garbage", R"({"opcode":"LOCK"} x)", not_json()},
    {"two objects", R"({"opcode":"LOCK"}{"opcode":"LOCK"})", not_json()},
    {"single quotes", "{'opcode':'LOCK'}", not_json()},
    {"trailing comma", R"({"opcode":"LOCK",})", not_json()},
    {"comment", R"({"opcode":"LOCK"/* hi */})", not_json()},
    {"NaN literal", R"({"opcode":"SIZE","payload":NaN})", not_json()},
    // Invalid UTF-8 and invalid escapes.
    {"invalid byte 0xff", "{\"opcode\":\"LOCK\",\"listener\":\"\xff\"}",
     not_json()},
    {"overlong encoding", "{\"opcode\":\"LOCK\",\"x\":\"\xc0\x80\"}",
     not_json()},
    {"utf-8 encoded surrogate", "{\"opcode\":\"LOCK\",\"x\":\"\xed\xa0\x80\"}",
     not_json()},
    {"truncated sequence",
     "{\"opcode\":\"KEEPALIVE\",\"payload\":\"\xe2\x82\"}", not_json()},
    {"lone high surrogate escape",
     R"({"opcode":"KEEPALIVE","payload":"\ud800"})", not_json()},
    {"lone low surrogate escape",
     R"({"opcode":"KEEPALIVE","payload":"\udc00x"})", not_json()},
    {"invalid bytes in lobby id",
     "{\"opcode\":\"CONFIG_HOST\",\"payload\":{\"lobby_id\":\"a\xfe\"}}",
     not_json()},
    // Valid JSON, but not an object.
    {"array", "[]", not_object()},
    {"array holding an envelope", R"([{"opcode":"LOCK"}])", not_object()},
    {"string", R"("LOCK")", not_object()},
    {"number", "42", not_object()},
    {"null", "null", not_object()},
    {"boolean", "true", not_object()},
    // No usable opcode.
    {"empty object", "{}", op(opcode::none, "frame has no opcode")},
    {"payload only", R"({"payload":1,"listener":"L"})",
     op(opcode::none, "frame has no opcode", "L")},
    {"null opcode", R"({"opcode":null})",
     op(opcode::none, "frame has no opcode")},
    {"numeric opcode", R"({"opcode":5})",
     op(opcode::none, "opcode must be a string")},
    {"numeric opcode echoes listener", R"({"opcode":5,"listener":"L"})",
     op(opcode::none, "opcode must be a string", "L")},
    {"object opcode", R"({"opcode":{"name":"LOCK"}})",
     op(opcode::none, "opcode must be a string")},
    {"array opcode", R"({"opcode":["LOCK"]})",
     op(opcode::none, "opcode must be a string")},
    {"boolean opcode", R"({"opcode":true,"listener":{}})",
     op(opcode::none, "opcode must be a string")},
    // INIT.
    {"init without payload", R"({"opcode":"INIT"})",
     op(opcode::init, init_type)},
    {"init null payload", R"({"opcode":"INIT","payload":null,"listener":"L"})",
     op(opcode::init, init_type, "L")},
    {"init numeric token", R"({"opcode":"INIT","payload":123})",
     op(opcode::init, init_type)},
    {"init object token", R"({"opcode":"INIT","payload":{"token":"t"}})",
     op(opcode::init, init_type)},
    {"init array token", R"({"opcode":"INIT","payload":["t"]})",
     op(opcode::init, init_type)},
    // CONFIG_HOST payload shape.
    {"config_host without payload", R"({"opcode":"CONFIG_HOST"})",
     op(opcode::config_host, host_type)},
    {"config_host null payload",
     R"({"opcode":"CONFIG_HOST","payload":null,"listener":"L"})",
     op(opcode::config_host, host_type, "L")},
    {"config_host string payload", R"({"opcode":"CONFIG_HOST","payload":"x"})",
     op(opcode::config_host, host_type)},
    {"config_host array payload",
     R"({"opcode":"CONFIG_HOST","payload":[{"lobby_id":"x"}]})",
     op(opcode::config_host, host_type)},
    // CONFIG_HOST lobby_id.
    {"config_host missing lobby_id",
     R"({"opcode":"CONFIG_HOST","payload":{"max_peers":1}})",
     op(opcode::config_host, "lobby_id must be a string")},
    {"config_host null lobby_id",
     R"({"opcode":"CONFIG_HOST","payload":{"lobby_id":null}})",
     op(opcode::config_host, "lobby_id must be a string")},
    {"config_host numeric lobby_id",
     R"({"opcode":"CONFIG_HOST","payload":{"lobby_id":7}})",
     op(opcode::config_host, "lobby_id must be a string")},
    {"config_host empty lobby_id", config_host_frame(""),
     op(opcode::config_host, lobby_len)},
    {"config_host 65-character lobby_id", config_host_frame(rep("a", 65)),
     op(opcode::config_host, lobby_len)},
    {"config_host 65 two-byte characters", config_host_frame(rep(e_acute, 65)),
     op(opcode::config_host, lobby_len)},
    {"config_host 65 emoji", config_host_frame(rep(emoji, 65)),
     op(opcode::config_host, lobby_len)},
    {"config_host 65 escaped surrogate pairs",
     config_host_frame(rep(emoji_escaped, 65)),
     op(opcode::config_host, lobby_len)},
    // CONFIG_HOST booleans.
    {"allow_host_reclaim string", host_member(R"("allow_host_reclaim":"true")"),
     op(opcode::config_host, "allow_host_reclaim must be a boolean")},
    {"allow_host_reclaim number", host_member(R"("allow_host_reclaim":1)"),
     op(opcode::config_host, "allow_host_reclaim must be a boolean")},
    {"allow_peers_to_claim_host number",
     host_member(R"("allow_peers_to_claim_host":0)"),
     op(opcode::config_host, "allow_peers_to_claim_host must be a boolean")},
    {"allow_peers_to_claim_host array",
     host_member(R"("allow_peers_to_claim_host":[true])"),
     op(opcode::config_host, "allow_peers_to_claim_host must be a boolean")},
    // CONFIG_HOST max_peers.
    {"max_peers -1", max_peers("-1"),
     op(opcode::config_host, max_peers_reason)},
    {"max_peers 101", max_peers("101"),
     op(opcode::config_host, max_peers_reason)},
    {"max_peers 2.5", max_peers("2.5"),
     op(opcode::config_host, max_peers_reason)},
    {"max_peers string", max_peers(R"("3")"),
     op(opcode::config_host, max_peers_reason)},
    {"max_peers true", max_peers("true"),
     op(opcode::config_host, max_peers_reason)},
    {"max_peers -0.5", max_peers("-0.5"),
     op(opcode::config_host, max_peers_reason)},
    {"max_peers 2^64", max_peers("18446744073709551616"),
     op(opcode::config_host, max_peers_reason)},
    {"max_peers uint64", max_peers("18446744073709551615"),
     op(opcode::config_host, max_peers_reason)},
    {"max_peers overflowing double", max_peers("1e400"),
     op(opcode::config_host, max_peers_reason)},
    {"max_peers object", max_peers("{}"),
     op(opcode::config_host, max_peers_reason)},
    // CONFIG_HOST password and pubkey.
    {"config_host 129-character password",
     host_member(R"("password":")" + rep("p", 129) + "\""),
     op(opcode::config_host, pw_len)},
    {"config_host 129 two-byte password",
     host_member(R"("password":")" + rep(e_acute, 129) + "\""),
     op(opcode::config_host, pw_len)},
    {"config_host numeric password", host_member(R"("password":1234)"),
     op(opcode::config_host, "password must be a string")},
    {"config_host boolean password", host_member(R"("password":false)"),
     op(opcode::config_host, "password must be a string")},
    {"config_host numeric pubkey", host_member(R"("pubkey":5)"),
     op(opcode::config_host, "pubkey must be a string")},
    {"config_host object pubkey", host_member(R"("pubkey":{})"),
     op(opcode::config_host, "pubkey must be a string")},
    // CONFIG_PEER.
    {"config_peer without payload", R"({"opcode":"CONFIG_PEER"})",
     op(opcode::config_peer, peer_type)},
    {"config_peer string payload",
     R"({"opcode":"CONFIG_PEER","payload":"lobby","listener":"L"})",
     op(opcode::config_peer, peer_type, "L")},
    {"config_peer missing lobby_id",
     R"({"opcode":"CONFIG_PEER","payload":{"password":"pw"}})",
     op(opcode::config_peer, "lobby_id must be a string")},
    {"config_peer 65-character lobby_id",
     R"({"opcode":"CONFIG_PEER","payload":{"lobby_id":")" + rep("b", 65)
       + R"("}})",
     op(opcode::config_peer, lobby_len)},
    {"config_peer 129-character password", password_frame(rep("p", 129)),
     op(opcode::config_peer, pw_len)},
    {"config_peer 129 CJK password", password_frame(rep(cjk, 64) + "a"),
     op(opcode::config_peer, pw_len)},
    {"config_peer numeric password",
     R"({"opcode":"CONFIG_PEER","payload":{"lobby_id":"l","password":1}})",
     op(opcode::config_peer, "password must be a string")},
    {"config_peer array pubkey",
     R"({"opcode":"CONFIG_PEER","payload":{"lobby_id":"l","pubkey":[]}})",
     op(opcode::config_peer, "pubkey must be a string")},
    // TRANSFER_HOST and KICK.
    {"transfer_host without payload", R"({"opcode":"TRANSFER_HOST"})",
     op(opcode::transfer_host, transfer_type)},
    {"transfer_host null payload",
     R"({"opcode":"TRANSFER_HOST","payload":null})",
     op(opcode::transfer_host, transfer_type)},
    {"transfer_host numeric payload",
     R"({"opcode":"TRANSFER_HOST","payload":5,"listener":"L"})",
     op(opcode::transfer_host, transfer_type, "L")},
    {"transfer_host object payload",
     R"({"opcode":"TRANSFER_HOST","payload":{"id":"p"}})",
     op(opcode::transfer_host, transfer_type)},
    {"kick without payload", R"({"opcode":"KICK"})",
     op(opcode::kick, kick_type)},
    {"kick null payload", R"({"opcode":"KICK","payload":null})",
     op(opcode::kick, kick_type)},
    {"kick numeric payload", R"({"opcode":"KICK","payload":1})",
     op(opcode::kick, kick_type)},
    {"kick array payload", R"({"opcode":"KICK","payload":["p"]})",
     op(opcode::kick, kick_type)},
    // SIZE.
    {"size -1", R"({"opcode":"SIZE","payload":-1})",
     op(opcode::size, size_reason)},
    {"size 101", R"({"opcode":"SIZE","payload":101,"listener":"L"})",
     op(opcode::size, size_reason, "L")},
    {"size null", R"({"opcode":"SIZE","payload":null})",
     op(opcode::size, size_reason)},
    {"size absent", R"({"opcode":"SIZE"})", op(opcode::size, size_reason)},
    {"size string", R"({"opcode":"SIZE","payload":"1"})",
     op(opcode::size, size_reason)},
    {"size 2.5", R"({"opcode":"SIZE","payload":2.5})",
     op(opcode::size, size_reason)},
    {"size boolean", R"({"opcode":"SIZE","payload":true})",
     op(opcode::size, size_reason)},
    {"size object", R"({"opcode":"SIZE","payload":{"max_peers":1}})",
     op(opcode::size, size_reason)},
    // LOBBY_INFO.
    {"lobby_info without payload", R"({"opcode":"LOBBY_INFO"})",
     op(opcode::lobby_info, info_type)},
    {"lobby_info null payload", R"({"opcode":"LOBBY_INFO","payload":null})",
     op(opcode::lobby_info, info_type)},
    {"lobby_info numeric payload", R"({"opcode":"LOBBY_INFO","payload":5})",
     op(opcode::lobby_info, info_type)},
    {"lobby_info empty id", R"({"opcode":"LOBBY_INFO","payload":""})",
     op(opcode::lobby_info, info_len)},
    {"lobby_info 65 characters",
     R"({"opcode":"LOBBY_INFO","payload":")" + rep("z", 65) + R"("})",
     op(opcode::lobby_info, info_len)},
    // An opaque payload beyond a double's range can go on only as written;
    // a top-level member name with escapes makes the server serialize the
    // parsed payload again, which cannot carry it.
    {"keepalive payload overflowing to -infinity, escaped name",
     R"({"opcode":"KEEPALIVE","p\u0061yload":-1e400})",
     op(opcode::keepalive, "payload holds a number out of range")},
    {"relay payload overflowing to infinity, escaped name",
     R"({"opcode":"ICE","payload":{"x":[1e400]},"recipi\u0065nt":"p"})",
     op(opcode::ice, "payload holds a number out of range")},
  };
}

TEST(json_codec_decode, malformed_frames) {
  check_rows(malformed_rows());
}

TEST(json_codec_decode, unknown_opcodes_warn) {
  std::string long_ascii = rep("X", 100);
  // 'a' plus 40 two-byte characters: byte 64 is a continuation byte, so the
  // name is cut after byte 63 to keep the reason valid UTF-8.
  std::string long_utf8 = "a" + rep(e_acute, 40);
  check_rows({
    {"unknown opcode", R"({"opcode":"FOO"})", unknown("FOO")},
    {"unknown opcode echoes listener", R"({"opcode":"FOO","listener":"L"})",
     unknown("FOO", "L")},
    {"unknown opcode ignores non-string listener",
     R"({"opcode":"FOO","listener":["L"]})", unknown("FOO")},
    {"server-only INIT_OK", R"({"opcode":"INIT_OK","payload":{}})",
     unknown("INIT_OK")},
    {"server-only RELAY_OK", R"({"opcode":"RELAY_OK","listener":"r"})",
     unknown("RELAY_OK", "r")},
    {"server-only VIOLATION", R"({"opcode":"VIOLATION"})",
     unknown("VIOLATION")},
    {"opcodes are case-sensitive", R"({"opcode":"lock"})", unknown("lock")},
    {"empty opcode", R"({"opcode":""})", unknown("")},
    {"long opcode is truncated", R"({"opcode":")" + long_ascii + R"("})",
     unknown(rep("X", 64))},
    {"long unicode opcode is cut at a code point",
     R"({"opcode":")" + long_utf8 + R"("})", unknown("a" + rep(e_acute, 31))},
    {"unknown opcode with bad payload is still a warning",
     R"({"opcode":"SIZES","payload":-1})", unknown("SIZES")},
  });
}

TEST(json_codec_decode, custom_limits) {
  codec_limits limits;
  limits.max_peers = 200;
  limits.max_depth = 4;
  auto host = config_host_cmd("x");
  host.max_peers = 200;
  check_rows(
    {
      {"size above the default limit", R"({"opcode":"SIZE","payload":150})",
       cmd::size{150, ""}},
      {"size above the custom limit", R"({"opcode":"SIZE","payload":201})",
       violation(opcode::size,
                 "SIZE payload must be an integer from 0 to 200")},
      {"max_peers at the custom limit",
       R"({"opcode":"CONFIG_HOST","payload":{"lobby_id":"x","max_peers":200}})",
       host},
      {"depth 4 accepted", R"({"opcode":"ICE","payload":[[[1]]]})",
       cmd::ice{"", "[[[1]]]", ""}},
      {"depth 5 rejected", R"({"opcode":"ICE","payload":[[[[1]]]]})",
       violation(opcode::none, "frame nesting exceeds 4 levels")},
    },
    limits);
}

TEST(json_codec_decode, binary_and_oversized_frames) {
  cmd::bad_frame binary{opcode::none, ec::violation,
                        "binary frames are not supported", 1003, ""};
  cmd::bad_frame oversized{opcode::none, ec::violation,
                           "frame exceeds 65536 bytes", 1009, ""};
  EXPECT_EQ(caf::deep_to_string(binary_frame()), caf::deep_to_string(binary));
  EXPECT_TRUE(binary_frame() == binary);
  EXPECT_EQ(caf::deep_to_string(oversized_frame(65536)),
            caf::deep_to_string(oversized));
  EXPECT_TRUE(oversized_frame(65536) == oversized);
  EXPECT_EQ(oversized_frame(1).reason, "frame exceeds 1 bytes");
}

// -- decode: nesting and size -----------------------------------------------

std::string nested_array(size_t depth, std::string_view leaf = "1") {
  return rep("[", depth) + std::string{leaf} + rep("]", depth);
}

std::string nested_object(size_t depth) {
  std::string result;
  for (size_t i = 0; i < depth; ++i)
    result += R"({"k":)";
  result += "null";
  result += rep("}", depth);
  return result;
}

TEST(json_codec_decode, deep_nesting) {
  auto too_deep = violation(opcode::none, "frame nesting exceeds 64 levels");
  // 60 levels inside the envelope: accepted and kept verbatim.
  for (auto payload : {nested_array(60), nested_object(60)}) {
    auto got = decode(R"({"opcode":"MAKE_OFFER","payload":)" + payload
                      + R"(,"recipient":"p"})");
    ASSERT_TRUE(std::holds_alternative<cmd::make_offer>(got)) << show(got);
    EXPECT_EQ(std::get<cmd::make_offer>(got).payload, payload);
    auto frame = encode(evt::relayed{
      opcode::make_offer, std::get<cmd::make_offer>(got).payload, "h"});
    EXPECT_EQ(frame, R"({"opcode":"MAKE_OFFER","payload":)" + payload
                       + R"(,"origin":"h"})");
  }
  // The envelope counts as one level: 64 in total pass, 65 do not.
  expect_decodes(R"({"opcode":"ICE","payload":)" + nested_array(63) + "}",
                 cmd::ice{"", nested_array(63), ""});
  expect_decodes(R"({"opcode":"ICE","payload":)" + nested_array(64) + "}",
                 too_deep);
  // Hostile depths neither crash nor pass, closed or not, arrays or objects.
  expect_decodes(R"({"opcode":"ICE","payload":)" + nested_array(10000) + "}",
                 too_deep);
  expect_decodes(R"({"opcode":"ICE","payload":)" + nested_object(10000) + "}",
                 too_deep);
  expect_decodes(rep("[", 10000), too_deep);
  expect_decodes(rep("{\"a\":", 100000), too_deep);
}

TEST(json_codec_decode, multi_megabyte_strings) {
  // The transport enforces the frame size limit; the codec copes with any.
  std::string big;
  big.reserve(4 << 20);
  for (size_t i = 0; big.size() < (4u << 20); ++i)
    big += static_cast<char>('a' + i % 26);
  auto frame = R"({"opcode":"MAKE_OFFER","payload":")" + big
               + R"(","recipient":"p","listener":"L"})";
  auto got = decode(frame);
  ASSERT_TRUE(std::holds_alternative<cmd::make_offer>(got));
  auto& offer = std::get<cmd::make_offer>(got);
  EXPECT_EQ(offer.payload.size(), big.size() + 2);
  EXPECT_EQ(offer.payload, "\"" + big + "\"");
  EXPECT_EQ(offer.recipient, "p");
  EXPECT_EQ(offer.listener, "L");
  auto relayed = encode(evt::relayed{opcode::make_offer, offer.payload, "h"});
  EXPECT_EQ(relayed, R"({"opcode":"MAKE_OFFER","payload":")" + big
                       + R"(","origin":"h"})");
  EXPECT_TRUE(decode(encode_command(offer)) == got);
  expect_decodes(config_host_frame(big),
                 violation(opcode::config_host,
                           "lobby_id must be 1 to 64 characters"));
  expect_decodes(R"({"opcode":"LOBBY_INFO","payload":")" + big + "\"}",
                 violation(opcode::lobby_info,
                           "LOBBY_INFO payload must be 1 to 64 characters"));
  expect_decodes(password_frame(big),
                 violation(opcode::config_peer,
                           "password must be at most 128 characters"));
}

// -- opaque payloads --------------------------------------------------------

const std::vector<std::string>& opaque_payloads() {
  static const std::vector<std::string> payloads = {
    R"({"type":"offer","sdp":"v=0\r\no=- 4611 2 IN IP4 127.0.0.1\r\ns=-\r\n"})",
    R"({"candidate":"candidate:1 1 UDP 2122252543 192.168.1.2 54321 typ host",)"
    R"("sdpMid":"0","sdpMLineIndex":0,"usernameFragment":null})",
    R"([1,2,3])",
    R"([])",
    R"({})",
    R"({"a":null,"b":[null,{"c":null}],"d":{"e":[[],{}]}})",
    R"(0)",
    R"(-17)",
    R"(9223372036854775807)",
    R"(-9223372036854775808)",
    R"(18446744073709551615)",
    R"(18446744073709551616)",
    R"(3.14159)",
    R"(-1.5e-7)",
    R"(1E300)",
    R"("esc \" \\ \/ \b\f\n\r\t \u0001 \u001f")",
    R"("\ud83d\ude00 \u6f22\u5b57 )" + emoji + cjk + R"(")",
    R"("")",
    R"(true)",
    R"(false)",
    R"({"nested":{"deep":[{"x":[1,{"y":"z"}],"w":-0.0}]},"n":[true,false]})",
    R"(  { "spaced" : [ 1 , 2 ] }  )",
  };
  return payloads;
}

/// True for the three relay commands.
template <class T>
constexpr bool is_relay = std::disjunction_v<std::is_same<T, cmd::make_offer>,
                                             std::is_same<T, cmd::make_answer>,
                                             std::is_same<T, cmd::ice>>;

json::value parse_frame(const std::string& frame) {
  json::error_code err;
  auto result = json::parse(frame, err);
  EXPECT_FALSE(err) << frame.substr(0, 200);
  return result;
}

TEST(json_codec_opaque, relayed_payloads_survive) {
  for (auto& payload : opaque_payloads()) {
    SCOPED_TRACE(payload);
    for (auto op : {opcode::make_offer, opcode::make_answer, opcode::ice}) {
      SCOPED_TRACE(opcode_name(op));
      auto frame = std::string{R"({"opcode":")"} + opcode_name(op)
                   + R"(","payload":)" + payload + R"(,"recipient":"r"})";
      auto got = decode(frame);
      std::string text;
      std::visit(
        [&](const auto& x) {
          using type = std::decay_t<decltype(x)>;
          if constexpr (is_relay<type>) {
            EXPECT_EQ(x.recipient, "r");
            text = x.payload;
          } else {
            ADD_FAILURE() << "unexpected " << show(x);
          }
        },
        got);
      auto out = encode(evt::relayed{op, text, "origin-id"});
      auto in_val = parse_frame(frame);
      auto out_val = parse_frame(out);
      ASSERT_TRUE(out_val.is_object());
      auto& out_obj = out_val.get_object();
      EXPECT_EQ(out_obj.size(), 3u) << out;
      EXPECT_EQ(out_obj.at("opcode"), json::value(opcode_name(op)));
      EXPECT_EQ(out_obj.at("origin"), json::value("origin-id"));
      EXPECT_EQ(out_obj.at("payload"), in_val.at("payload")) << out;
    }
    // KEEPALIVE echoes the same way.
    auto frame = R"({"opcode":"KEEPALIVE","payload":)" + payload + "}";
    auto got = decode(frame);
    ASSERT_TRUE(std::holds_alternative<cmd::keepalive>(got)) << show(got);
    auto out
      = encode(evt::keepalive{std::get<cmd::keepalive>(got).payload, "L"});
    auto out_val = parse_frame(out);
    EXPECT_EQ(out_val.at("payload"), parse_frame(frame).at("payload"));
    EXPECT_EQ(out_val.at("listener"), json::value("L"));
  }
}

TEST(json_codec_opaque, absent_payloads_stay_absent) {
  for (auto frame : {
         R"({"opcode":"MAKE_OFFER","recipient":"r"})",
         R"({"opcode":"MAKE_OFFER","payload":null,"recipient":"r"})",
         R"({"opcode":"ICE","recipient":"r","payload":null})",
       }) {
    SCOPED_TRACE(frame);
    auto got = decode(frame);
    std::string text = "unset";
    if (auto x = std::get_if<cmd::make_offer>(&got))
      text = x->payload;
    else if (auto y = std::get_if<cmd::ice>(&got))
      text = y->payload;
    EXPECT_EQ(text, "");
  }
  EXPECT_EQ(encode(evt::relayed{opcode::make_answer, "", "h"}),
            R"({"opcode":"MAKE_ANSWER","origin":"h"})");
  EXPECT_EQ(encode(evt::keepalive{}), R"({"opcode":"KEEPALIVE"})");
  // A nested null is not an absent payload.
  expect_decodes(R"({"opcode":"KEEPALIVE","payload":[null]})",
                 cmd::keepalive{"[null]", ""});
}

// -- encode: exact frames ---------------------------------------------------

struct encode_row {
  const char* name;
  event input;
  std::string expected;
};

std::vector<encode_row> encode_rows() {
  evt::lobby_info full_info{"lobby", "host-id", "alice", 8,
                            3,       true,      false,   "L"};
  evt::lobby_info hostless{"lobby", "", "", 0, 1, false, true, ""};
  return {
    {"keepalive", evt::keepalive{}, R"({"opcode":"KEEPALIVE"})"},
    {"keepalive with payload and listener",
     evt::keepalive{R"({"t":[1,null]})", "L"},
     R"({"opcode":"KEEPALIVE","payload":{"t":[1,null]},"listener":"L"})"},
    {"init_ok", evt::init_ok{"alice", "01HZY", "Game", "Dev", "L"},
     R"({"opcode":"INIT_OK","payload":{"user":"alice","id":"01HZY",)"
     R"("game":"Game","developer":"Dev"},"listener":"L"})"},
    {"init_ok without listener", evt::init_ok{"a", "b", "c", "d", ""},
     R"({"opcode":"INIT_OK","payload":{"user":"a","id":"b","game":"c",)"
     R"("developer":"d"}})"},
    {"ack_host", evt::ack_host{"lobby", ""},
     R"({"opcode":"ACK_HOST","payload":{"lobby_id":"lobby"}})"},
    {"ack_host with listener", evt::ack_host{"lobby", "L"},
     R"({"opcode":"ACK_HOST","payload":{"lobby_id":"lobby"},"listener":"L"})"},
    {"password_ack", evt::password_ack{}, R"({"opcode":"PASSWORD_ACK"})"},
    {"password_ack with listener", evt::password_ack{"L"},
     R"({"opcode":"PASSWORD_ACK","listener":"L"})"},
    {"ack_peer", evt::ack_peer{"lobby", "h", "host", "", "L"},
     R"({"opcode":"ACK_PEER","payload":{"lobby_id":"lobby","id":"h",)"
     R"("user":"host"},"listener":"L"})"},
    {"ack_peer with pubkey", evt::ack_peer{"lobby", "h", "host", "K", ""},
     R"({"opcode":"ACK_PEER","payload":{"lobby_id":"lobby","id":"h",)"
     R"("user":"host","pubkey":"K"}})"},
    {"new_host", evt::new_host{"h", "host", "lobby", ""},
     R"({"opcode":"NEW_HOST","payload":{"id":"h","user":"host",)"
     R"("lobby_id":"lobby"}})"},
    {"new_host with pubkey", evt::new_host{"h", "host", "lobby", "K"},
     R"({"opcode":"NEW_HOST","payload":{"id":"h","user":"host",)"
     R"("lobby_id":"lobby","pubkey":"K"}})"},
    {"new_peer", evt::new_peer{"p", "peer", ""},
     R"({"opcode":"NEW_PEER","payload":{"id":"p","user":"peer"}})"},
    {"new_peer with pubkey", evt::new_peer{"p", "peer", "K"},
     R"({"opcode":"NEW_PEER","payload":{"id":"p","user":"peer",)"
     R"("pubkey":"K"}})"},
    {"peer_gone", evt::peer_gone{"p", ""},
     R"({"opcode":"PEER_GONE","payload":"p"})"},
    {"peer_gone after kick", evt::peer_gone{"p", "L"},
     R"({"opcode":"PEER_GONE","payload":"p","listener":"L"})"},
    {"host_gone", evt::host_gone{"h"},
     R"({"opcode":"HOST_GONE","payload":"h"})"},
    {"host_reclaim", evt::host_reclaim{"p", "peer", "lobby", ""},
     R"({"opcode":"HOST_RECLAIM","payload":{"id":"p","user":"peer",)"
     R"("lobby_id":"lobby"}})"},
    {"host_reclaim after claim", evt::host_reclaim{"p", "peer", "lobby", "L"},
     R"({"opcode":"HOST_RECLAIM","payload":{"id":"p","user":"peer",)"
     R"("lobby_id":"lobby"},"listener":"L"})"},
    {"lobby_close", evt::lobby_close{"lobby"},
     R"({"opcode":"LOBBY_CLOSE","payload":"lobby"})"},
    {"relayed offer", evt::relayed{opcode::make_offer, R"({"sdp":"x"})", "h"},
     R"({"opcode":"MAKE_OFFER","payload":{"sdp":"x"},"origin":"h"})"},
    {"relayed answer", evt::relayed{opcode::make_answer, R"("a")", "p"},
     R"({"opcode":"MAKE_ANSWER","payload":"a","origin":"p"})"},
    {"relayed ice without payload", evt::relayed{opcode::ice, "", "p"},
     R"({"opcode":"ICE","origin":"p"})"},
    {"relayed without origin", evt::relayed{opcode::ice, "1", ""},
     R"({"opcode":"ICE","payload":1})"},
    {"relay_ok", evt::relay_ok{}, R"({"opcode":"RELAY_OK"})"},
    {"relay_ok with listener", evt::relay_ok{"L"},
     R"({"opcode":"RELAY_OK","listener":"L"})"},
    {"lock", evt::lock_state{"lobby", true, "L"},
     R"({"opcode":"LOCK","payload":{"lobby_id":"lobby","locked":true},)"
     R"("listener":"L"})"},
    {"unlock", evt::lock_state{"lobby", false, ""},
     R"({"opcode":"UNLOCK","payload":{"lobby_id":"lobby","locked":false}})"},
    {"size", evt::size_state{"lobby", 0, ""},
     R"({"opcode":"SIZE","payload":{"lobby_id":"lobby","max_peers":0}})"},
    {"size max uint32", evt::size_state{"lobby", UINT32_MAX, "L"},
     R"({"opcode":"SIZE","payload":{"lobby_id":"lobby",)"
     R"("max_peers":4294967295},"listener":"L"})"},
    {"empty lobby_list", evt::lobby_list{},
     R"({"opcode":"LOBBY_LIST","payload":[]})"},
    {"lobby_list", evt::lobby_list{{"a", "b"}, "L"},
     R"({"opcode":"LOBBY_LIST","payload":["a","b"],"listener":"L"})"},
    {"lobby_info", full_info,
     R"({"opcode":"LOBBY_INFO","payload":{"lobby_id":"lobby",)"
     R"("lobby_host_id":"host-id","lobby_host_username":"alice",)"
     R"("max_peers":8,"current_peers":3,"locked":true,)"
     R"("password_required":false},"listener":"L"})"},
    {"hostless lobby_info", hostless,
     R"({"opcode":"LOBBY_INFO","payload":{"lobby_id":"lobby","max_peers":0,)"
     R"("current_peers":1,"locked":false,"password_required":true}})"},
    {"error without reason", evt::error_reply{ec::lobby_full, "", ""},
     R"({"opcode":"LOBBY_FULL"})"},
    {"error with reason and listener",
     evt::error_reply{ec::config_required, "send INIT first", "L"},
     R"({"opcode":"CONFIG_REQUIRED","payload":"send INIT first",)"
     R"("listener":"L"})"},
    {"warning", evt::error_reply{ec::warning, "unknown opcode: FOO", "L"},
     R"({"opcode":"WARNING","payload":"unknown opcode: FOO","listener":"L"})"},
    {"token_origin_mismatch",
     evt::error_reply{ec::token_origin_mismatch, "", ""},
     R"({"opcode":"TOKEN_ORIGIN_MISMATCH"})"},
    {"password_fail", evt::error_reply{ec::password_fail, "", "x"},
     R"({"opcode":"PASSWORD_FAIL","listener":"x"})"},
    {"violation", evt::violation{"frame is not valid JSON", 1008, "L"},
     R"({"opcode":"VIOLATION","payload":"frame is not valid JSON",)"
     R"("listener":"L"})"},
    {"violation without reason", evt::violation{"", 1003, ""},
     R"({"opcode":"VIOLATION"})"},
    {"strings are escaped",
     evt::ack_host{"a\"b\\c\nd\x01" + emoji + "/", "tab\there"},
     R"({"opcode":"ACK_HOST","payload":{"lobby_id":"a\"b\\c\nd\u0001)" + emoji
       + R"(/"},"listener":"tab\there"})"},
    {"empty members are left out", evt::init_ok{},
     R"({"opcode":"INIT_OK","payload":{}})"},
  };
}

TEST(json_codec_encode, exact_frames) {
  for (auto& row : encode_rows()) {
    SCOPED_TRACE(row.name);
    auto frame = encode(row.input);
    EXPECT_EQ(frame, row.expected);
    // Every frame is a JSON object without nulls or empty strings, save
    // inside opaque payloads (echoed and relayed as the client sent them).
    auto val = parse_frame(frame);
    ASSERT_TRUE(val.is_object());
    auto present = [](const json::object& obj) {
      for (auto& kvp : obj) {
        SCOPED_TRACE(std::string{kvp.key()});
        EXPECT_FALSE(kvp.value().is_null());
        EXPECT_NE(kvp.value(), json::value(""));
      }
    };
    present(val.get_object());
    auto opaque = std::holds_alternative<evt::keepalive>(row.input)
                  || std::holds_alternative<evt::relayed>(row.input);
    if (auto payload = val.get_object().if_contains("payload");
        payload != nullptr && payload->is_object() && !opaque)
      present(payload->get_object());
  }
}

// -- round trips ------------------------------------------------------------

std::vector<command> sample_commands() {
  cmd::config_host host;
  host.lobby_id = "lobby " + emoji;
  host.allow_host_reclaim = true;
  host.max_peers = 100;
  host.password = "p\"w\\";
  host.pubkey = "K";
  cmd::config_host host_defaults;
  host_defaults.lobby_id = "l";
  host_defaults.allow_peers_to_claim_host = true;
  host_defaults.listener = "L";
  return {
    cmd::keepalive{},
    cmd::keepalive{R"({"n":null,"a":[1,"x"]})", "L"},
    cmd::init{"token", "L"},
    cmd::init{"", ""},
    host,
    host_defaults,
    cmd::config_peer{"l", "", "", ""},
    cmd::config_peer{cjk, "pw", "K", "L"},
    cmd::make_offer{"p", R"({"type":"offer","sdp":"v=0\r\n"})", "L"},
    cmd::make_offer{"", "", ""},
    cmd::make_answer{"h", R"("answer")", ""},
    cmd::ice{"h", "[null]", "L"},
    cmd::claim_host{"L"},
    cmd::transfer_host{"p", ""},
    cmd::transfer_host{"", "L"},
    cmd::lock{},
    cmd::unlock{"L"},
    cmd::size{0, ""},
    cmd::size{100, "L"},
    cmd::kick{"p", "L"},
    cmd::lobby_list{},
    cmd::lobby_info{"lobby", "L"},
  };
}

TEST(json_codec_round_trip, commands) {
  for (auto& x : sample_commands()) {
    auto frame = encode_command(x);
    SCOPED_TRACE(frame);
    auto got = decode(frame);
    EXPECT_EQ(show(got), show(x));
    EXPECT_TRUE(got == x);
  }
}

TEST(json_codec_round_trip, command_frames) {
  EXPECT_EQ(encode_command(cmd::lock{}), R"({"opcode":"LOCK"})");
  EXPECT_EQ(encode_command(cmd::size{5, "L"}),
            R"({"opcode":"SIZE","payload":5,"listener":"L"})");
  EXPECT_EQ(encode_command(cmd::make_offer{"p", "[1]", "L"}),
            R"({"opcode":"MAKE_OFFER","payload":[1],"recipient":"p",)"
            R"("listener":"L"})");
  cmd::config_host host;
  host.lobby_id = "l";
  EXPECT_EQ(encode_command(host),
            R"({"opcode":"CONFIG_HOST","payload":{"lobby_id":"l",)"
            R"("allow_host_reclaim":false,"allow_peers_to_claim_host":false,)"
            R"("max_peers":0}})");
  // A bad frame has no wire form; it encodes to an opcode-less object that
  // decodes to a bad frame again.
  auto bad = violation(opcode::size, "whatever", "L");
  EXPECT_EQ(encode_command(bad), R"({"listener":"L"})");
  expect_decodes(encode_command(bad),
                 violation(opcode::none, "frame has no opcode", "L"));
}

std::vector<event> sample_events() {
  std::vector<event> result;
  for (auto& row : encode_rows()) {
    // VIOLATION's close code travels in the close frame, not in JSON.
    if (auto x = std::get_if<evt::violation>(&row.input))
      x->close = 0;
    // The server always stamps `origin`; a relay without one is malformed.
    if (auto x = std::get_if<evt::relayed>(&row.input); x && x->origin.empty())
      continue;
    result.push_back(row.input);
  }
  result.push_back(evt::lobby_list{{"a", cjk, emoji + "\"\\"}, ""});
  result.push_back(evt::relayed{opcode::ice, R"({"candidate":"c"})", "p"});
  for (auto i = static_cast<int>(ec::warning);
       i <= static_cast<int>(ec::password_fail); ++i)
    result.push_back(evt::error_reply{static_cast<ec>(i), "why", "L"});
  return result;
}

TEST(json_codec_round_trip, events) {
  for (auto& x : sample_events()) {
    auto frame = encode(x);
    SCOPED_TRACE(frame);
    auto got = decode_event(frame);
    ASSERT_TRUE(got.has_value());
    EXPECT_EQ(show(*got), show(x));
    EXPECT_TRUE(*got == x);
  }
}

TEST(json_codec_round_trip, unrecognised_events) {
  for (auto frame : {
         "",
         "not json",
         "[]",
         R"({})",
         R"({"opcode":5})",
         R"({"opcode":"NO_SUCH_EVENT"})",
         R"({"opcode":"NONE"})",
         R"({"opcode":"MAKE_OFFER","payload":{}})",
         R"({"opcode":"ICE","payload":{},"origin":7})",
         R"({"opcode":"INIT_OK","payload":"alice"})",
         R"({"opcode":"INIT_OK","payload":{"user":5}})",
         R"({"opcode":"LOBBY_LIST","payload":{}})",
         R"({"opcode":"LOBBY_LIST","payload":["a",1]})",
         R"({"opcode":"LOCK","payload":{"lobby_id":"l","locked":false}})",
         R"({"opcode":"SIZE","payload":{"lobby_id":"l","max_peers":-1}})",
         R"({"opcode":"LOBBY_INFO","payload":{"locked":"yes"}})",
         R"({"opcode":"PEER_GONE","payload":{"id":"p"}})",
         R"({"opcode":"LOBBY_FULL","payload":1})",
         R"({"opcode":"RELAY_OK","listener":1})",
       }) {
    SCOPED_TRACE(frame);
    auto got = decode_event(frame);
    EXPECT_FALSE(got.has_value()) << show(*got);
  }
}

// -- robustness -------------------------------------------------------------

TEST(json_codec_robustness, mutated_frames_never_break_the_contract) {
  // Random byte edits of valid frames: decode must always return, decode
  // as the DOM path does, and every frame it accepts as a command must
  // survive encode_command unchanged.
  std::mt19937 rng{42};
  std::vector<std::string> seeds;
  for (auto& x : sample_commands())
    seeds.push_back(encode_command(x));
  const std::string alphabet = "{}[]\":,0-1.e\\nulltrue \xc3\xa9\xff";
  size_t accepted = 0;
  for (int i = 0; i < 20000; ++i) {
    auto frame = seeds[rng() % seeds.size()];
    auto edits = 1 + rng() % 3;
    for (size_t j = 0; j < edits && !frame.empty(); ++j) {
      auto pos = rng() % frame.size();
      switch (rng() % 3) {
        case 0:
          frame[pos] = alphabet[rng() % alphabet.size()];
          break;
        case 1:
          frame.erase(pos, 1);
          break;
        default:
          frame.insert(pos, 1, alphabet[rng() % alphabet.size()]);
      }
    }
    auto got = decode(frame);
    // A differential test of the DOM-free path for relays and KEEPALIVE.
    ASSERT_TRUE(got == detail::decode_with_dom(frame))
      << frame << "\n"
      << show(got) << "\n"
      << show(detail::decode_with_dom(frame));
    if (auto bad = std::get_if<cmd::bad_frame>(&got)) {
      EXPECT_FALSE(bad->reason.empty());
      EXPECT_EQ(bad->close, bad->code == ec::violation ? 1008 : 0);
      continue;
    }
    ++accepted;
    auto again = decode(encode_command(got));
    ASSERT_TRUE(again == got) << frame << "\n" << show(got);
  }
  EXPECT_GT(accepted, 1000u);
}

TEST(json_codec_robustness, utf8_length) {
  EXPECT_EQ(utf8_length(""), 0u);
  EXPECT_EQ(utf8_length("abc"), 3u);
  EXPECT_EQ(utf8_length(e_acute), 1u);
  EXPECT_EQ(utf8_length(cjk), 2u);
  EXPECT_EQ(utf8_length(emoji), 1u);
  EXPECT_EQ(utf8_length("a" + e_acute + cjk + emoji + "z"), 6u);
  EXPECT_EQ(utf8_length(rep(emoji, 64)), 64u);
}

} // namespace
