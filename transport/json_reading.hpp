#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include <boost/json/object.hpp>
#include <boost/json/string.hpp>
#include <boost/json/value.hpp>

/// Reading parsed frames: the member lookups and opaque-payload rules that
/// the server's decoder, the one-pass relay reader and the client side
/// share.

namespace omega::codec {

/// Returns the member `key` of `x`, or `nullptr` when it is absent or `null`:
/// the protocol treats a JSON `null` exactly like a missing member.
const boost::json::value* member(const boost::json::object& x,
                                 std::string_view key);

/// Returns the member `key` of `x` if it is a string, else `nullptr`.
const boost::json::string* string_member(const boost::json::object& x,
                                         std::string_view key);

std::string to_std_string(const boost::json::string& x);

/// Reads a non-negative integer of at most `max` (an integral double such
/// as `4.0` counts).
bool to_count(const boost::json::value& x, uint32_t max, uint32_t& out);

/// Copies an opaque payload into `out` (empty for an absent payload): its
/// text as the client sent it (`raw`, see `raw_member`), or when that is not
/// known, the value serialized again. Returns false if the payload holds a
/// number JSON text cannot carry (a literal beyond the range of a double).
bool opaque_text(const boost::json::value* x,
                 std::optional<std::string_view> raw, std::string& out);

/// Returns the text of the top-level member `key` of `frame`, a JSON object
/// that has already parsed without error: the last one with that name, an
/// empty view if there is none, or nullopt when a member name has escapes.
std::optional<std::string_view> raw_member(std::string_view frame,
                                           std::string_view key);

} // namespace omega::codec
