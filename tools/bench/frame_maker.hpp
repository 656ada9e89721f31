#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "tools/bench/frames.hpp"
#include "tools/bench/options.hpp"

namespace omega::bench {

/// Builds relay frames of one size for every target: the payload is a JSON
/// object shaped like a WebRTC signal, {"type":"offer","t":<ns>,"sdp":"x.."},
/// padded to `bytes` so that all three targets move the same bytes.
class frame_maker {
public:
  frame_maker(target_kind target, size_t bytes);

  /// A frame of `kind` for the client addressed as `dst`, stamped with `t`.
  std::string make(msg_kind kind, std::string_view dst, int64_t t) const;

private:
  void append_payload(std::string& out, msg_kind kind, int64_t t) const;

  target_kind target_;
  size_t bytes_;
  std::string filler_;
};

} // namespace omega::bench
