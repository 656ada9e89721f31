#pragma once

#include <charconv>
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include <boost/json/serialize.hpp>
#include <boost/json/string_view.hpp>

/// Writing frames as JSON text, member by member, so that the encoders fix
/// every frame's member order in one place and splice opaque payload text
/// in verbatim. Shared by the server's encoder (json_codec) and the client
/// side (client_codec).

namespace omega::codec {

/// Appends `x` as a JSON string literal. Strings without characters that
/// need escaping (the common case: ids, names, lobby ids) are copied
/// directly; everything else goes through Boost.JSON's serializer. Inline:
/// every member of every frame goes through it.
inline void put_string(std::string& out, std::string_view x) {
  auto needs_escape = [](char c) {
    return static_cast<unsigned char>(c) < 0x20 || c == '"' || c == '\\';
  };
  for (auto c : x) {
    if (needs_escape(c)) {
      out
        += boost::json::serialize(boost::json::string_view{x.data(), x.size()});
      return;
    }
  }
  out += '"';
  out += x;
  out += '"';
}

/// Appends `xs` as a JSON array of strings.
template <class Strings>
void put_string_array(std::string& out, const Strings& xs) {
  out += '[';
  for (size_t i = 0; i < xs.size(); ++i) {
    if (i > 0)
      out += ',';
    put_string(out, xs[i]);
  }
  out += ']';
}

/// Appends `x` as a JSON number.
inline void put_number(std::string& out, uint64_t x) {
  char buf[24];
  auto res = std::to_chars(buf, buf + sizeof(buf), x);
  out.append(buf, res.ptr);
}

/// Returns an empty frame buffer with room for `payload_hint` more bytes:
/// frames start small, and reserving once saves a few reallocations.
std::string frame_buffer(size_t payload_hint);

/// Writes one JSON object as text, member by member, so that the encoder
/// controls member order and can splice in opaque payload text verbatim.
class object_writer {
public:
  explicit object_writer(std::string& out) : out_(out) {
    out_ += '{';
  }

  object_writer(const object_writer&) = delete;
  object_writer& operator=(const object_writer&) = delete;

  /// Closes the object. Explicit rather than in a destructor, because
  /// appending may allocate and a throwing destructor would terminate.
  void close() {
    out_ += '}';
  }

  /// Writes the key of the next member; the caller writes its value.
  std::string& key(std::string_view name) {
    if (first_)
      first_ = false;
    else
      out_ += ',';
    put_string(out_, name);
    out_ += ':';
    return out_;
  }

  void str(std::string_view name, std::string_view val) {
    put_string(key(name), val);
  }

  /// Writes a string member unless it is empty: frames never carry empty
  /// strings, an empty string means "absent".
  void opt_str(std::string_view name, std::string_view val) {
    if (!val.empty())
      str(name, val);
  }

  /// Splices in JSON text produced by `json::serialize` without re-parsing.
  void opt_raw(std::string_view name, std::string_view json_text) {
    if (!json_text.empty())
      key(name) += json_text;
  }

  void boolean(std::string_view name, bool val) {
    key(name) += val ? "true" : "false";
  }

  void number(std::string_view name, uint64_t val) {
    put_number(key(name), val);
  }

private:
  std::string& out_;
  bool first_ = true;
};

/// Writes one frame: `opcode`, whatever `put_body` writes (the payload, then
/// `origin` or `recipient`), then `listener` when set. This fixes the member
/// order of every frame in one place.
template <class F>
void put_frame(std::string& out, std::string_view op, std::string_view listener,
               F&& put_body) {
  object_writer env{out};
  env.str("opcode", op);
  put_body(env);
  env.opt_str("listener", listener);
  env.close();
}

/// Writes a frame whose payload is an object; `put_members` fills it.
template <class F>
void put_object_frame(std::string& out, std::string_view op,
                      std::string_view listener, F&& put_members) {
  put_frame(out, op, listener, [&](object_writer& env) {
    object_writer payload{env.key("payload")};
    put_members(payload);
    payload.close();
  });
}

/// Writes a frame whose payload is a string, left out when empty.
void put_string_frame(std::string& out, std::string_view op,
                      std::string_view payload, std::string_view listener);

/// Writes a frame without payload.
void put_plain_frame(std::string& out, std::string_view op,
                     std::string_view listener);

/// Writes a notification naming one lobby member (NEW_PEER, ANTICIPATE,
/// DISCOVER): payload `{id, user, pubkey?}`, no listener.
template <class Member>
void put_member_frame(std::string& out, std::string_view op, const Member& x) {
  put_object_frame(out, op, {}, [&](object_writer& pl) {
    pl.opt_str("id", x.id);
    pl.opt_str("user", x.user);
    pl.opt_str("pubkey", x.pubkey);
  });
}

} // namespace omega::codec
