#pragma once

#include <optional>
#include <string>
#include <string_view>

#include "messages/commands.hpp"
#include "messages/events.hpp"

/// The client side of the protocol, for test clients, the load generator
/// and the codec tool: commands to frames and server frames to events. The
/// server does not link it.

namespace omega {

/// Encodes a client command as a text frame. For every command `c` the
/// server's codec accepts, `decode(encode_command(c)) == c`.
std::string encode_command(const command& x);

/// Decodes a server frame into an event. Returns `std::nullopt` for a frame
/// that is not a well-formed server event.
std::optional<event> decode_event(std::string_view frame);

} // namespace omega
