#include "transport/json_reading.hpp"

#include <cmath>

#include <boost/json/serialize.hpp>

namespace json = boost::json;

namespace omega::codec {

/// Returns the member `key` of `x`, or `nullptr` when it is absent or `null`:
/// the protocol treats a JSON `null` exactly like a missing member.
const json::value* member(const json::object& x, std::string_view key) {
  auto result = x.if_contains(json::string_view{key.data(), key.size()});
  if (result == nullptr || result->is_null())
    return nullptr;
  return result;
}

/// Returns the string member `key` of `x`, or `nullptr` if it is absent or
/// not a string.
const json::string* string_member(const json::object& x, std::string_view key) {
  if (auto ptr = member(x, key))
    return ptr->if_string();
  return nullptr;
}

std::string to_std_string(const json::string& x) {
  return std::string{x.data(), x.size()};
}

/// Converts a JSON number to an integer in `[0, max]`. Accepts int64 and
/// uint64 values and doubles that are finite and integral (`2.0`, `1e1`),
/// because JSON itself does not tell integers from floats.
bool to_count(const json::value& x, uint32_t max, uint32_t& out) {
  switch (x.kind()) {
    case json::kind::int64: {
      auto val = x.get_int64();
      if (val < 0 || static_cast<uint64_t>(val) > max)
        return false;
      out = static_cast<uint32_t>(val);
      return true;
    }
    case json::kind::uint64: {
      auto val = x.get_uint64();
      if (val > max)
        return false;
      out = static_cast<uint32_t>(val);
      return true;
    }
    case json::kind::double_: {
      auto val = x.get_double();
      if (!std::isfinite(val) || val < 0 || val > static_cast<double>(max)
          || std::trunc(val) != val)
        return false;
      out = static_cast<uint32_t>(val);
      return true;
    }
    default:
      return false;
  }
}

namespace {

/// Checks whether `x` holds a non-finite number anywhere. Boost.JSON parses an
/// overflowing literal such as `1e400` as infinity and serializes it as
/// `Infinity`, which is not JSON: such a payload can go on only as written.
/// The recursion is bounded by the parser's `max_depth`.
bool has_non_finite(const json::value& x) {
  switch (x.kind()) {
    case json::kind::double_:
      return !std::isfinite(x.get_double());
    case json::kind::array:
      for (auto& y : x.get_array())
        if (has_non_finite(y))
          return true;
      return false;
    case json::kind::object:
      for (auto& kvp : x.get_object())
        if (has_non_finite(kvp.value()))
          return true;
      return false;
    default:
      return false;
  }
}

} // namespace

/// Copies an opaque payload into `out` (empty for an absent payload): its
/// text as the client sent it (`raw`, see `raw_member`), or when that is not
/// known, the value serialized again. Returns false if the payload holds a
/// number JSON text cannot carry (a literal beyond the range of a double).
bool opaque_text(const json::value* x, std::optional<std::string_view> raw,
                 std::string& out) {
  if (x == nullptr) {
    out.clear();
    return true;
  }
  if (raw && !raw->empty()) {
    // As written, `1e999` is valid JSON and goes on unchanged.
    out.assign(raw->data(), raw->size());
    return true;
  }
  if (has_non_finite(*x))
    return false;
  out = json::serialize(*x);
  return true;
}

namespace {

bool is_json_space(char c) {
  return c == ' ' || c == '\t' || c == '\n' || c == '\r';
}

size_t skip_space(std::string_view s, size_t i) {
  while (i < s.size() && is_json_space(s[i]))
    ++i;
  return i;
}

/// Returns the index just past the string that starts at `s[i]` (a quote).
/// `memchr` finds the candidates for its end: SDP text is most of a relay.
size_t skip_string(std::string_view s, size_t i) {
  ++i;
  while (i < s.size()) {
    auto p
      = static_cast<const char*>(std::memchr(s.data() + i, '"', s.size() - i));
    if (p == nullptr)
      break;
    auto q = static_cast<size_t>(p - s.data());
    auto b = q;
    while (b > i && s[b - 1] == '\\')
      --b;
    if ((q - b) % 2 == 0)
      return q + 1;
    i = q + 1;
  }
  return s.size();
}

/// Returns the index just past the JSON value that starts at `s[i]`.
size_t skip_value(std::string_view s, size_t i) {
  if (s[i] == '"')
    return skip_string(s, i);
  if (s[i] == '{' || s[i] == '[') {
    size_t depth = 0;
    while (i < s.size()) {
      auto c = s[i];
      if (c == '"') {
        i = skip_string(s, i);
        continue;
      }
      if (c == '{' || c == '[') {
        ++depth;
      } else if ((c == '}' || c == ']') && --depth == 0) {
        return i + 1;
      }
      ++i;
    }
    return s.size();
  }
  while (i < s.size() && s[i] != ',' && s[i] != '}' && s[i] != ']'
         && !is_json_space(s[i]))
    ++i;
  return i;
}

} // namespace

/// Returns the text of the top-level member `key` of `frame`, a JSON object
/// that has already parsed without error: the last one with that name (as
/// Boost.JSON keeps the last of duplicate keys), an empty view if there is
/// none, or nullopt when a member name has escapes and so cannot be compared
/// as written. Relays pass their payload on as this text rather than
/// serializing the parsed value again.
std::optional<std::string_view> raw_member(std::string_view frame,
                                           std::string_view key) {
  std::string_view found;
  auto i = skip_space(frame, 0);
  if (i >= frame.size() || frame[i] != '{')
    return std::nullopt;
  i = skip_space(frame, i + 1);
  while (i < frame.size() && frame[i] == '"') {
    auto end = skip_string(frame, i);
    auto name = frame.substr(i + 1, end - i - 2);
    if (name.find('\\') != std::string_view::npos)
      return std::nullopt;
    i = skip_space(frame, end);
    if (i >= frame.size() || frame[i] != ':')
      return std::nullopt;
    i = skip_space(frame, i + 1);
    if (i >= frame.size())
      return std::nullopt;
    auto value_end = skip_value(frame, i);
    if (name == key)
      found = frame.substr(i, value_end - i);
    i = skip_space(frame, value_end);
    if (i < frame.size() && frame[i] == ',')
      i = skip_space(frame, i + 1);
  }
  return found;
}

} // namespace omega::codec
