#pragma once

#include <optional>
#include <string_view>

#include "messages/commands.hpp"
#include "transport/json_codec.hpp"

/// The one-pass reader for relays and KEEPALIVE, nearly all of the traffic:
/// it decodes them without building a DOM. `decode` tries it first; the
/// DOM path (`detail::decode_with_dom`) is the reference that the
/// differential tests hold it to.

namespace omega::codec {

/// Decodes relays and KEEPALIVE without a DOM. Returns nullopt for
/// everything else, including every frame with an error, so that the DOM
/// path has the last word on all of those.
std::optional<command> decode_opaque(std::string_view frame,
                                     const codec_limits& limits);

} // namespace omega::codec
