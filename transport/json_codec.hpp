#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <variant>

#include "messages/commands.hpp"
#include "messages/events.hpp"

/// The gateway's JSON codec: pure functions between WebSocket text frames and
/// the typed messages of `messages/`. Nothing here touches sockets or actors,
/// so every rule of PROTOCOL.md section 1 is testable as a table.

namespace omega {

/// Limits the codec enforces while decoding.
struct codec_limits {
  /// The server's limit for `max_peers` (CONFIG_HOST) and SIZE.
  uint32_t max_peers = 100;
  /// Deepest JSON nesting accepted in a frame. Real SDP/ICE payloads nest two
  /// or three levels; the cap keeps hostile frames from costing stack or time.
  size_t max_depth = 64;
};

/// Maximum length of a lobby id, in characters (Unicode code points).
constexpr size_t max_lobby_id_length = 64;

/// Maximum length of a lobby password, in characters (Unicode code points).
constexpr size_t max_password_length = 128;

/// Decodes one text frame. Never throws. Malformed input comes back as a
/// `cmd::bad_frame`: `ec::violation` with close code 1008 for invalid JSON, a
/// non-object, a missing or non-string opcode, a payload of the wrong type or
/// out of range; `ec::warning` (no close) for an unknown opcode.
command decode(std::string_view frame, const codec_limits& limits = {});

/// The reply to a binary frame: VIOLATION, close code 1003.
cmd::bad_frame binary_frame();

/// The reply to a frame over `limit` bytes: VIOLATION, close code 1009.
cmd::bad_frame oversized_frame(size_t limit);

/// Encodes one server event as a text frame. Absent fields (empty strings)
/// are left out; `listener` is echoed when set.
std::string encode(const event& x);

/// Encodes a relayed frame (the one event a LOBBY hands over without the
/// `event` variant, see `relay_handoff`).
std::string encode(const evt::relayed& x);

namespace detail {

/// `decode` without its DOM-free path for relays and KEEPALIVE: the
/// reference that the tests hold that path to.
command decode_with_dom(std::string_view frame,
                        const codec_limits& limits = {});

} // namespace detail

/// Counts Unicode code points in valid UTF-8.
size_t utf8_length(std::string_view x);

} // namespace omega
