#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <string_view>
#include <variant>

#include "transport/client_codec.hpp"
#include "transport/json_codec.hpp"

/// libFuzzer target for the frame decoder: every WebSocket text frame a
/// client sends goes through `decode`. Besides the sanitizers it checks the
/// codec's contract (the one json_codec_test's mutation test samples): the
/// DOM-free path decodes exactly as the DOM path, no exception escapes into
/// the catch-all, and a frame accepted as a command survives
/// `encode_command` unchanged.

namespace {

[[noreturn]] void fail(const char* what, std::string_view frame) {
  std::fprintf(stderr, "frame_decoder_fuzz: %s\nframe: %.*s\n", what,
               static_cast<int>(frame.size()), frame.data());
  std::abort();
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view frame{reinterpret_cast<const char*>(data), size};
  // A small server limit, so that SIZE and max_peers reach both sides of it.
  omega::codec_limits limits;
  limits.max_peers = 16;
  auto got = omega::decode(frame, limits);
  if (!(got == omega::detail::decode_with_dom(frame, limits)))
    fail("decode and decode_with_dom disagree", frame);
  if (auto bad = std::get_if<omega::cmd::bad_frame>(&got)) {
    // "decoder failed" is decode's catch-all: an exception got out of it.
    if (bad->reason.empty() || bad->reason == "decoder failed")
      fail("bad_frame without a reason, or an exception in the decoder", frame);
    if (bad->close != (bad->code == omega::ec::violation ? 1008 : 0))
      fail("bad_frame with the wrong close code", frame);
    return 0;
  }
  auto again = omega::encode_command(got);
  if (!(omega::decode(again, limits) == got))
    fail("an accepted command does not survive encode_command", frame);
  return 0;
}
