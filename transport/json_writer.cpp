#include "transport/json_writer.hpp"

#include <charconv>

#include <boost/json/serialize.hpp>
#include <boost/json/string_view.hpp>

namespace json = boost::json;

namespace omega::codec {

void put_string(std::string& out, std::string_view x) {
  auto needs_escape = [](char c) {
    return static_cast<unsigned char>(c) < 0x20 || c == '"' || c == '\\';
  };
  for (auto c : x) {
    if (needs_escape(c)) {
      out += json::serialize(json::string_view{x.data(), x.size()});
      return;
    }
  }
  out += '"';
  out += x;
  out += '"';
}

void put_number(std::string& out, uint64_t x) {
  char buf[24];
  auto res = std::to_chars(buf, buf + sizeof(buf), x);
  out.append(buf, res.ptr);
}

/// Frames start small; reserving once avoids a few reallocations.
std::string frame_buffer(size_t payload_hint) {
  std::string result;
  result.reserve(64 + payload_hint);
  return result;
}

/// Writes a frame whose payload is a string, left out when empty.
void put_string_frame(std::string& out, std::string_view op,
                      std::string_view payload, std::string_view listener) {
  put_frame(out, op, listener,
            [&](object_writer& env) { env.opt_str("payload", payload); });
}

/// Writes a frame without payload.
void put_plain_frame(std::string& out, std::string_view op,
                     std::string_view listener) {
  put_frame(out, op, listener, [](object_writer&) {});
}

} // namespace omega::codec
