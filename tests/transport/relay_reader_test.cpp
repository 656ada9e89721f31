#include "transport/relay_reader.hpp"

#include <string>
#include <variant>
#include <vector>

#include <caf/deep_to_string.hpp>
#include <gtest/gtest.h>

#include "messages/type_ids.hpp"

/// Differential tests of the one-pass reader: on every frame it accepts it
/// must decode exactly as the DOM path, which is the reference.

namespace omega {
namespace {

std::string show(const command& x) {
  return std::visit([](const auto& y) { return caf::deep_to_string(y); }, x);
}

/// Checks that `frame` decodes to `expected` on both paths.
void expect_decodes(const std::string& frame, const command& expected) {
  SCOPED_TRACE(frame.substr(0, 80));
  auto got = decode(frame);
  EXPECT_EQ(show(got), show(expected));
  EXPECT_TRUE(got == expected);
  EXPECT_EQ(show(got), show(detail::decode_with_dom(frame)));
}

TEST(json_codec_decode, relays_decode_as_the_dom_does) {
  // Frames aimed at the one-pass reader of relays and KEEPALIVE: duplicates
  // of different types (the last counts), nulls, nested look-alike names,
  // escapes, long names, numbers beyond a double inside and outside the
  // payload, and opcodes it hands on to the DOM.
  std::vector<std::string> frames = {
    R"({"opcode":"ICE","payload":{"recipient":"x","payload":null},)"
    R"("recipient":"h"})",
    R"({"opcode":"ICE","payload":1,"payload":null,"recipient":"h"})",
    R"({"opcode":"ICE","payload":null,"payload":[1],"recipient":"h"})",
    R"({"opcode":"ICE","payload":1e999,"payload":2,"recipient":"h"})",
    R"({"opcode":"ICE","payload":2,"payload":[1e999],"recipient":"h"})",
    R"({"opcode":"ICE","payload":{"a":{"b":[-1e400]}},"listener":"L"})",
    R"({"opcode":"ICE","payload":2,"other":1e999,"recipient":"h"})",
    R"({"opcode":"ICE","payload":2,"recipient":"h","recipient":7})",
    R"({"opcode":"ICE","payload":2,"recipient":7,"recipient":"h"})",
    R"({"opcode":"ICE","payload":2,"recipient":"h\u0041\n"})",
    R"({"opcode":"ICE","payload":2,"recipient":null})",
    R"({"opcode":"ICE","payload":2,"recipientX":"h","recipientXrecipient":"h"})",
    R"({"opcode":"ICE","payload":2,"listener":"L","listener":{"a":"b"}})",
    R"({"opcode":"ICE","payload":2,"listener":["L"],"listener":"M"})",
    R"({"payload":"p","recipient":"h","opcode":"MAKE_ANSWER"})",
    R"({"opcode":"IC\u0045","payload":2,"recipient":"h"})",
    R"({"opcode":"INIT","payload":"t","opcode":"ICE"})",
    R"({"opcode":"ICE","payload":"t","opcode":"INIT"})",
    R"({"opcode":"ICE","opcode":5,"payload":1})",
    R"({"opcode":"KEEPALIVE","payload":{"opcode":"ICE"},"listener":"k"})",
    R"({"opcode":"KEEPALIVE","payload":"\ud83d\ude00 x"})",
    R"({"opcode":"MAKE_OFFER","payload":true,"recipient":""})",
    R"({"opcode":"MAKE_OFFER","payload":"no end)",
    R"({"opcode":"MAKE_OFFER"} {})",
    R"(["opcode","ICE"])",
    "{\"opcode\":\"ICE\",\"payload\":\"\xC3\x28\"}",
  };
  for (auto& frame : frames) {
    SCOPED_TRACE(frame);
    auto dom = detail::decode_with_dom(frame);
    EXPECT_EQ(show(decode(frame)), show(dom));
    EXPECT_TRUE(decode(frame) == dom);
    // The reader itself either declines or agrees with the DOM.
    if (auto got = codec::decode_opaque(frame, {})) {
      EXPECT_EQ(show(*got), show(dom));
    }
  }
  // Spot checks that the frames above exercise both outcomes.
  expect_decodes(frames[1], cmd::ice{"h", "", ""});
  expect_decodes(frames[4], cmd::ice{"h", "[1e999]", ""});
  expect_decodes(frames[9], cmd::ice{"hA\n", "2", ""});
}

TEST(relay_reader, declines_what_is_not_a_relay_or_keepalive) {
  for (std::string frame : {R"({"opcode":"INIT","payload":"t"})",
                            R"({"opcode":"LOCK"})", R"({"opcode":"ICE"} x)"}) {
    SCOPED_TRACE(frame);
    EXPECT_FALSE(codec::decode_opaque(frame, {}).has_value());
  }
  EXPECT_TRUE(codec::decode_opaque(R"({"opcode":"ICE","payload":1})", {}));
}

} // namespace
} // namespace omega
