#include "transport/json_writer.hpp"

namespace omega::codec {

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
