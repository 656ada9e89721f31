#include "transport/json_codec.hpp"

#include <charconv>
#include <cmath>
#include <cstring>
#include <optional>
#include <utility>
#include <vector>

#include <boost/json.hpp>
#include <boost/json/basic_parser_impl.hpp>

namespace json = boost::json;

namespace omega {

namespace {

// -- helpers for both directions --------------------------------------------

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

/// Returns the text of the top-level member `key` of `frame`, a JSON object
/// that has already parsed without error: the last one with that name (as
/// Boost.JSON keeps the last of duplicate keys), an empty view if there is
/// none, or nullopt when a member name has escapes and so cannot be compared
/// as written. Relays pass their payload on as this text instead of
/// serializing the parsed value again (about a tenth of a relay's
/// instructions).
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

/// Appends `x` as a JSON string literal. Strings without characters that
/// need escaping (the common case: ids, names, lobby ids) are copied
/// directly; everything else goes through Boost.JSON's serializer.
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

/// A VIOLATION for a frame that has no readable opcode (and so no listener
/// either, or none that the codec got to read).
cmd::bad_frame
envelope_violation(std::string reason,
                   uint16_t close = close_code::policy_violation) {
  cmd::bad_frame result;
  result.op = opcode::none;
  result.code = ec::violation;
  result.reason = std::move(reason);
  result.close = close;
  return result;
}

/// Frames start small; reserving once avoids a few reallocations.
std::string frame_buffer(size_t payload_hint) {
  std::string result;
  result.reserve(64 + payload_hint);
  return result;
}

// -- decoding client frames -------------------------------------------------

/// Everything the per-opcode decoders need to know about one frame.
struct frame_context {
  opcode op;
  /// The envelope's payload; `nullptr` when absent or `null`.
  const json::value* payload;
  const json::object& envelope;
  const codec_limits& limits;
  std::string listener;
  /// The frame's text, for `raw_member`.
  std::string_view frame;

  command fail(std::string reason) {
    return cmd::bad_frame{op, ec::violation, std::move(reason),
                          close_code::policy_violation, std::move(listener)};
  }
};

std::string range_reason(std::string_view what, uint32_t max) {
  std::string result{what};
  result += " must be an integer from 0 to ";
  put_number(result, max);
  return result;
}

/// Checks a lobby id: a string of 1 to 64 code points. Returns an empty
/// string on success, else the reason.
std::string read_lobby_id(const json::value* x, std::string_view what,
                          std::string& out) {
  auto str = x != nullptr ? x->if_string() : nullptr;
  if (str == nullptr) {
    std::string reason{what};
    reason += " must be a string";
    return reason;
  }
  std::string_view view{str->data(), str->size()};
  // A code point has at most 4 bytes: skip counting absurdly long input.
  if (view.empty() || view.size() > 4 * max_lobby_id_length
      || utf8_length(view) > max_lobby_id_length) {
    std::string reason{what};
    reason += " must be 1 to 64 characters";
    return reason;
  }
  out.assign(view.data(), view.size());
  return {};
}

/// Reads an optional string member (`password`, `pubkey`) of at most
/// `max_len` code points (0 = no limit).
std::string read_opt_string(const json::object& obj, std::string_view key,
                            size_t max_len, std::string& out) {
  auto ptr = member(obj, key);
  if (ptr == nullptr)
    return {};
  auto str = ptr->if_string();
  if (str == nullptr) {
    std::string reason{key};
    reason += " must be a string";
    return reason;
  }
  std::string_view view{str->data(), str->size()};
  if (max_len > 0
      && (view.size() > 4 * max_len || utf8_length(view) > max_len)) {
    std::string reason{key};
    reason += " must be at most ";
    put_number(reason, max_len);
    reason += " characters";
    return reason;
  }
  out.assign(view.data(), view.size());
  return {};
}

/// Reads an optional boolean member; absent means false.
std::string read_opt_bool(const json::object& obj, std::string_view key,
                          bool& out) {
  auto ptr = member(obj, key);
  if (ptr == nullptr) {
    out = false;
    return {};
  }
  if (!ptr->is_bool()) {
    std::string reason{key};
    reason += " must be a boolean";
    return reason;
  }
  out = ptr->get_bool();
  return {};
}

/// KEEPALIVE: any payload, echoed verbatim.
command decode_keepalive(frame_context& ctx) {
  cmd::keepalive result;
  if (!opaque_text(ctx.payload, raw_member(ctx.frame, "payload"),
                   result.payload))
    return ctx.fail("payload holds a number out of range");
  result.listener = std::move(ctx.listener);
  return result;
}

/// MAKE_OFFER, MAKE_ANSWER and ICE: opaque payload plus a recipient.
template <class Relay>
command decode_relay(frame_context& ctx) {
  Relay result;
  if (!opaque_text(ctx.payload, raw_member(ctx.frame, "payload"),
                   result.payload))
    return ctx.fail("payload holds a number out of range");
  // A missing or non-string recipient stays empty: the actors answer it
  // with PEER_INVALID, which is not a violation.
  if (auto str = string_member(ctx.envelope, "recipient"))
    result.recipient = to_std_string(*str);
  result.listener = std::move(ctx.listener);
  return result;
}

/// CLAIM_HOST, LOCK, UNLOCK and LOBBY_LIST: the payload is ignored.
template <class Command>
command decode_plain(frame_context& ctx) {
  Command result;
  result.listener = std::move(ctx.listener);
  return result;
}

/// INIT, TRANSFER_HOST and KICK: a string payload, empty allowed (an empty
/// token or peer id fails later, with the protocol's own error reply).
bool read_string_payload(const frame_context& ctx, std::string& out) {
  auto str = ctx.payload != nullptr ? ctx.payload->if_string() : nullptr;
  if (str == nullptr)
    return false;
  out = to_std_string(*str);
  return true;
}

command decode_init(frame_context& ctx) {
  cmd::init result;
  if (!read_string_payload(ctx, result.token))
    return ctx.fail("INIT payload must be a token string");
  result.listener = std::move(ctx.listener);
  return result;
}

template <class Command>
command decode_target(frame_context& ctx, const char* reason) {
  Command result;
  if (!read_string_payload(ctx, result.target))
    return ctx.fail(reason);
  result.listener = std::move(ctx.listener);
  return result;
}

command decode_config_host(frame_context& ctx) {
  auto obj = ctx.payload != nullptr ? ctx.payload->if_object() : nullptr;
  if (obj == nullptr)
    return ctx.fail("CONFIG_HOST payload must be an object");
  cmd::config_host result;
  auto err = read_lobby_id(member(*obj, "lobby_id"), "lobby_id",
                           result.lobby_id);
  if (err.empty())
    err = read_opt_bool(*obj, "allow_host_reclaim", result.allow_host_reclaim);
  if (err.empty())
    err = read_opt_bool(*obj, "allow_peers_to_claim_host",
                        result.allow_peers_to_claim_host);
  if (err.empty()) {
    auto ptr = member(*obj, "max_peers");
    if (ptr != nullptr
        && !to_count(*ptr, ctx.limits.max_peers, result.max_peers))
      err = range_reason("max_peers", ctx.limits.max_peers);
  }
  if (err.empty())
    err = read_opt_string(*obj, "password", max_password_length,
                          result.password);
  if (err.empty())
    err = read_opt_string(*obj, "pubkey", 0, result.pubkey);
  if (!err.empty())
    return ctx.fail(std::move(err));
  result.listener = std::move(ctx.listener);
  return result;
}

command decode_config_peer(frame_context& ctx) {
  auto obj = ctx.payload != nullptr ? ctx.payload->if_object() : nullptr;
  if (obj == nullptr)
    return ctx.fail("CONFIG_PEER payload must be an object");
  cmd::config_peer result;
  auto err = read_lobby_id(member(*obj, "lobby_id"), "lobby_id",
                           result.lobby_id);
  if (err.empty())
    err = read_opt_string(*obj, "password", max_password_length,
                          result.password);
  if (err.empty())
    err = read_opt_string(*obj, "pubkey", 0, result.pubkey);
  if (!err.empty())
    return ctx.fail(std::move(err));
  result.listener = std::move(ctx.listener);
  return result;
}

command decode_size(frame_context& ctx) {
  cmd::size result;
  if (ctx.payload == nullptr
      || !to_count(*ctx.payload, ctx.limits.max_peers, result.max_peers))
    return ctx.fail(range_reason("SIZE payload", ctx.limits.max_peers));
  result.listener = std::move(ctx.listener);
  return result;
}

command decode_lobby_info(frame_context& ctx) {
  cmd::lobby_info result;
  auto err = read_lobby_id(ctx.payload, "LOBBY_INFO payload", result.lobby_id);
  if (!err.empty())
    return ctx.fail(std::move(err));
  result.listener = std::move(ctx.listener);
  return result;
}

/// Shortens an unknown opcode for the WARNING reason to at most 64 bytes,
/// cutting at a code point boundary so the reply stays valid UTF-8.
std::string_view truncate_name(std::string_view x) {
  constexpr size_t max_len = 64;
  if (x.size() <= max_len)
    return x;
  auto len = max_len;
  while (len > 0 && (static_cast<unsigned char>(x[len]) & 0xC0) == 0x80)
    --len;
  return x.substr(0, len);
}

/// One pass of Boost.JSON's SAX parser over a frame, keeping only what the
/// frames with opaque payloads (the relays and KEEPALIVE, nearly all of the
/// traffic) need: the top-level `opcode`, `listener` and `recipient` strings
/// and whether the payload is null. Building
/// the DOM instead cost about a sixth of a relay's instructions (callgrind),
/// mostly copying the payload into nodes that were thrown away again. Like
/// the DOM, the last of duplicate members counts.
class envelope_reader {
public:
  static constexpr std::size_t max_object_size = std::size_t(-1);
  static constexpr std::size_t max_array_size = std::size_t(-1);
  static constexpr std::size_t max_key_size = std::size_t(-1);
  static constexpr std::size_t max_string_size = std::size_t(-1);

  /// A top-level member that holds a string, or not.
  struct text_member {
    bool is_string = false;
    std::string text;
  };

  bool is_object = false;
  text_member op;
  text_member listener;
  text_member recipient;
  /// What `op` names, once it is a string.
  opcode code = opcode::none;
  /// True while the payload is absent or `null`.
  bool payload_null = true;

  bool on_document_begin(json::error_code&) {
    return true;
  }

  bool on_document_end(json::error_code&) {
    return true;
  }

  bool on_object_begin(json::error_code&) {
    if (depth_ == 0)
      is_object = true;
    else
      on_value();
    ++depth_;
    return true;
  }

  bool on_object_end(std::size_t, json::error_code&) {
    --depth_;
    return true;
  }

  bool on_array_begin(json::error_code&) {
    on_value();
    ++depth_;
    return true;
  }

  bool on_array_end(std::size_t, json::error_code&) {
    --depth_;
    return true;
  }

  bool on_key_part(json::string_view x, std::size_t, json::error_code&) {
    if (depth_ == 1)
      add_key_part(x);
    return true;
  }

  bool on_key(json::string_view x, std::size_t, json::error_code&) {
    if (depth_ != 1)
      return true;
    add_key_part(x);
    std::string_view name;
    if (!key_long_)
      name = std::string_view{key_, key_size_};
    key_size_ = 0;
    key_long_ = false;
    current_ = nullptr;
    in_payload_ = false;
    if (name == "opcode")
      current_ = &op;
    else if (name == "listener")
      current_ = &listener;
    else if (name == "recipient")
      current_ = &recipient;
    else if (name == "payload")
      in_payload_ = true;
    return true;
  }

  bool on_string_part(json::string_view x, std::size_t, json::error_code&) {
    if (depth_ == 1 && current_ != nullptr) {
      if (!part_open_)
        current_->text.clear();
      part_open_ = true;
      current_->text.append(x.data(), x.size());
    } else {
      on_value();
    }
    return true;
  }

  bool on_string(json::string_view x, std::size_t, json::error_code& ec) {
    if (depth_ != 1 || current_ == nullptr) {
      on_value();
      return true;
    }
    if (!part_open_)
      current_->text.clear();
    part_open_ = false;
    current_->text.append(x.data(), x.size());
    current_->is_string = true;
    if (current_ == &op) {
      code = opcode_from_name(op.text);
      if (!fast_opcode(code)) {
        // Not one for this path: stop the parse, the DOM path takes over.
        ec = json::error::extra_data;
        return false;
      }
    }
    return true;
  }

  bool on_number_part(json::string_view, json::error_code&) {
    return true;
  }

  bool on_int64(std::int64_t, json::string_view, json::error_code&) {
    on_value();
    return true;
  }

  bool on_uint64(std::uint64_t, json::string_view, json::error_code&) {
    on_value();
    return true;
  }

  bool on_double(double, json::string_view, json::error_code&) {
    on_value();
    return true;
  }

  bool on_bool(bool, json::error_code&) {
    on_value();
    return true;
  }

  bool on_null(json::error_code&) {
    on_value();
    if (depth_ == 1 && in_payload_)
      payload_null = true;
    return true;
  }

  bool on_comment_part(json::string_view, json::error_code&) {
    return true;
  }

  bool on_comment(json::string_view, json::error_code&) {
    return true;
  }

  static bool fast_opcode(opcode x) {
    return x == opcode::keepalive || x == opcode::make_offer
           || x == opcode::make_answer || x == opcode::ice;
  }

private:
  /// Called for every value (or the start of one) before it is read: a
  /// top-level member's value replaces what an earlier duplicate said.
  void on_value() {
    if (depth_ != 1)
      return;
    if (current_ != nullptr) {
      current_->is_string = false;
      current_->text.clear();
    } else if (in_payload_) {
      payload_null = false;
    }
  }

  /// Keeps up to 10 characters of a top-level member name: enough to tell
  /// the four names apart, longer ones are none of them.
  void add_key_part(json::string_view x) {
    if (key_long_ || x.size() > sizeof(key_) - key_size_) {
      key_long_ = true;
      return;
    }
    std::memcpy(key_ + key_size_, x.data(), x.size());
    key_size_ += x.size();
  }

  size_t depth_ = 0;
  char key_[10];
  size_t key_size_ = 0;
  bool key_long_ = false;
  text_member* current_ = nullptr;
  bool in_payload_ = false;
  bool part_open_ = false;
};

/// Decodes relays and KEEPALIVE without a DOM (see `envelope_reader`).
/// Returns nullopt for everything else, including every frame with an
/// error, so that the DOM path has the last word on all of those.
std::optional<command> decode_opaque(std::string_view frame,
                                     const codec_limits& limits) {
  json::parse_options opts;
  opts.max_depth = limits.max_depth;
  json::basic_parser<envelope_reader> parser{opts};
  json::error_code err;
  // The parser stops after the first value: what follows it is the DOM
  // path's to refuse.
  auto used = parser.write_some(false, frame.data(), frame.size(), err);
  auto& rd = parser.handler();
  if (err || used != frame.size() || !rd.is_object || !rd.op.is_string)
    return std::nullopt;
  auto op = rd.code;
  auto raw = raw_member(frame, "payload");
  if (!raw || (!rd.payload_null && raw->empty()))
    return std::nullopt;
  std::string listener;
  if (rd.listener.is_string)
    listener = std::move(rd.listener.text);
  // The payload goes on as written (see `opaque_text`).
  std::string payload;
  if (!rd.payload_null)
    payload.assign(raw->data(), raw->size());
  auto relay = [&](auto result) {
    result.payload = std::move(payload);
    if (rd.recipient.is_string)
      result.recipient = std::move(rd.recipient.text);
    result.listener = std::move(listener);
    return command{std::move(result)};
  };
  switch (op) {
    case opcode::keepalive:
      return command{cmd::keepalive{std::move(payload), std::move(listener)}};
    case opcode::make_offer:
      return relay(cmd::make_offer{});
    case opcode::make_answer:
      return relay(cmd::make_answer{});
    default:
      return relay(cmd::ice{});
  }
}

command decode_impl(std::string_view frame, const codec_limits& limits) {
  // Relay frames are about 1 KiB; their DOM fits into this buffer, so the
  // common case allocates nothing for the parse and frees in O(1).
  unsigned char buf[4096];
  json::monotonic_resource mr{buf, sizeof(buf)};
  json::parse_options opts;
  opts.max_depth = limits.max_depth;
  json::error_code err;
  auto jv = json::parse(json::string_view{frame.data(), frame.size()}, err, &mr,
                        opts);
  if (err) {
    std::string reason;
    if (err == json::error::too_deep) {
      reason = "frame nesting exceeds ";
      put_number(reason, limits.max_depth);
      reason += " levels";
    } else {
      reason = "frame is not valid JSON";
    }
    return envelope_violation(std::move(reason));
  }
  auto envelope = jv.if_object();
  if (envelope == nullptr)
    return envelope_violation("frame must be a JSON object");
  frame_context ctx{
    opcode::none, member(*envelope, "payload"), *envelope, limits, {}, frame};
  if (auto str = string_member(*envelope, "listener"))
    ctx.listener = to_std_string(*str);
  auto op_val = member(*envelope, "opcode");
  if (op_val == nullptr)
    return ctx.fail("frame has no opcode");
  auto op_str = op_val->if_string();
  if (op_str == nullptr)
    return ctx.fail("opcode must be a string");
  std::string_view name{op_str->data(), op_str->size()};
  ctx.op = opcode_from_name(name);
  switch (ctx.op) {
    case opcode::keepalive:
      return decode_keepalive(ctx);
    case opcode::init:
      return decode_init(ctx);
    case opcode::config_host:
      return decode_config_host(ctx);
    case opcode::config_peer:
      return decode_config_peer(ctx);
    case opcode::make_offer:
      return decode_relay<cmd::make_offer>(ctx);
    case opcode::make_answer:
      return decode_relay<cmd::make_answer>(ctx);
    case opcode::ice:
      return decode_relay<cmd::ice>(ctx);
    case opcode::claim_host:
      return decode_plain<cmd::claim_host>(ctx);
    case opcode::transfer_host:
      return decode_target<cmd::transfer_host>(
        ctx, "TRANSFER_HOST payload must be a peer id string");
    case opcode::lock:
      return decode_plain<cmd::lock>(ctx);
    case opcode::unlock:
      return decode_plain<cmd::unlock>(ctx);
    case opcode::size:
      return decode_size(ctx);
    case opcode::kick:
      return decode_target<cmd::kick>(ctx,
                                      "KICK payload must be a peer id string");
    case opcode::lobby_list:
      return decode_plain<cmd::lobby_list>(ctx);
    case opcode::lobby_info:
      return decode_lobby_info(ctx);
    default: {
      std::string reason = "unknown opcode: ";
      reason += truncate_name(name);
      return cmd::bad_frame{opcode::unknown, ec::warning, std::move(reason), 0,
                            std::move(ctx.listener)};
    }
  }
}

// -- encoding frames --------------------------------------------------------

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
                      std::string_view payload, std::string_view listener) {
  put_frame(out, op, listener,
            [&](object_writer& env) { env.opt_str("payload", payload); });
}

/// Writes a frame without payload.
void put_plain_frame(std::string& out, std::string_view op,
                     std::string_view listener) {
  put_frame(out, op, listener, [](object_writer&) {});
}

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

struct event_encoder {
  std::string& out;

  void operator()(const evt::keepalive& x) {
    put_frame(out, x.wire_name, x.listener,
              [&](object_writer& env) { env.opt_raw("payload", x.payload); });
  }

  void operator()(const evt::init_ok& x) {
    put_object_frame(out, x.wire_name, x.listener, [&](object_writer& pl) {
      pl.opt_str("user", x.user);
      pl.opt_str("id", x.id);
      pl.opt_str("game", x.game);
      pl.opt_str("developer", x.developer);
    });
  }

  void operator()(const evt::ack_host& x) {
    put_object_frame(out, x.wire_name, x.listener, [&](object_writer& pl) {
      pl.opt_str("lobby_id", x.lobby_id);
    });
  }

  void operator()(const evt::password_ack& x) {
    put_plain_frame(out, x.wire_name, x.listener);
  }

  void operator()(const evt::ack_peer& x) {
    put_object_frame(out, x.wire_name, x.listener, [&](object_writer& pl) {
      pl.opt_str("lobby_id", x.lobby_id);
      pl.opt_str("id", x.id);
      pl.opt_str("user", x.user);
      pl.opt_str("pubkey", x.pubkey);
    });
  }

  void operator()(const evt::new_host& x) {
    put_object_frame(out, x.wire_name, {}, [&](object_writer& pl) {
      pl.opt_str("id", x.id);
      pl.opt_str("user", x.user);
      pl.opt_str("lobby_id", x.lobby_id);
      pl.opt_str("pubkey", x.pubkey);
    });
  }

  void operator()(const evt::new_peer& x) {
    put_member_frame(out, x.wire_name, x);
  }

  void operator()(const evt::anticipate& x) {
    put_member_frame(out, x.wire_name, x);
  }

  void operator()(const evt::discover& x) {
    put_member_frame(out, x.wire_name, x);
  }

  void operator()(const evt::peer_gone& x) {
    put_string_frame(out, x.wire_name, x.id, x.listener);
  }

  void operator()(const evt::host_gone& x) {
    put_string_frame(out, x.wire_name, x.id, {});
  }

  void operator()(const evt::host_reclaim& x) {
    put_object_frame(out, x.wire_name, x.listener, [&](object_writer& pl) {
      pl.opt_str("id", x.id);
      pl.opt_str("user", x.user);
      pl.opt_str("lobby_id", x.lobby_id);
    });
  }

  void operator()(const evt::lobby_close& x) {
    put_string_frame(out, x.wire_name, x.lobby_id, {});
  }

  void operator()(const evt::relayed& x) {
    // The hot path: the payload text is spliced in as received.
    put_frame(out, opcode_name(x.op), {}, [&](object_writer& env) {
      env.opt_raw("payload", x.payload);
      if (x.origin_user.empty()) {
        env.opt_str("origin", x.origin);
        return;
      }
      object_writer origin{env.key("origin")};
      origin.str("id", x.origin);
      origin.str("user", x.origin_user);
      origin.close();
    });
  }

  void operator()(const evt::relay_ok& x) {
    put_plain_frame(out, x.wire_name, x.listener);
  }

  void operator()(const evt::lock_state& x) {
    auto op = opcode_name(x.locked ? opcode::lock : opcode::unlock);
    put_object_frame(out, op, x.listener, [&](object_writer& pl) {
      pl.opt_str("lobby_id", x.lobby_id);
      pl.boolean("locked", x.locked);
    });
  }

  void operator()(const evt::size_state& x) {
    put_object_frame(out, x.wire_name, x.listener, [&](object_writer& pl) {
      pl.opt_str("lobby_id", x.lobby_id);
      pl.number("max_peers", x.max_peers);
    });
  }

  void operator()(const evt::lobby_list& x) {
    put_frame(out, x.wire_name, x.listener, [&](object_writer& env) {
      auto& dst = env.key("payload");
      dst += '[';
      for (size_t i = 0; i < x.lobby_ids.size(); ++i) {
        if (i > 0)
          dst += ',';
        // Lobby ids are never empty, so copying the array as-is emits no
        // empty strings; filtering would break round trips.
        put_string(dst, x.lobby_ids[i]);
      }
      dst += ']';
    });
  }

  void operator()(const evt::lobby_info& x) {
    put_object_frame(out, x.wire_name, x.listener, [&](object_writer& pl) {
      pl.opt_str("lobby_id", x.lobby_id);
      pl.opt_str("lobby_host_id", x.host_id);
      pl.opt_str("lobby_host_username", x.host_user);
      pl.number("max_peers", x.max_peers);
      pl.number("current_peers", x.current_peers);
      pl.boolean("locked", x.locked);
      pl.boolean("password_required", x.password_required);
    });
  }

  void operator()(const evt::error_reply& x) {
    put_string_frame(out, opcode_name(x.code), x.reason, x.listener);
  }

  void operator()(const evt::violation& x) {
    put_string_frame(out, x.wire_name, x.reason, x.listener);
  }
};

struct command_encoder {
  std::string& out;

  void operator()(const cmd::keepalive& x) {
    put_frame(out, opcode_name(opcode::keepalive), x.listener,
              [&](object_writer& env) { env.opt_raw("payload", x.payload); });
  }

  void operator()(const cmd::init& x) {
    // The token is always written: decode requires a string, even "".
    put_frame(out, opcode_name(opcode::init), x.listener,
              [&](object_writer& env) { env.str("payload", x.token); });
  }

  void operator()(const cmd::config_host& x) {
    put_object_frame(out, opcode_name(opcode::config_host), x.listener,
                     [&](object_writer& pl) {
                       pl.str("lobby_id", x.lobby_id);
                       pl.boolean("allow_host_reclaim", x.allow_host_reclaim);
                       pl.boolean("allow_peers_to_claim_host",
                                  x.allow_peers_to_claim_host);
                       pl.number("max_peers", x.max_peers);
                       pl.opt_str("password", x.password);
                       pl.opt_str("pubkey", x.pubkey);
                     });
  }

  void operator()(const cmd::config_peer& x) {
    put_object_frame(out, opcode_name(opcode::config_peer), x.listener,
                     [&](object_writer& pl) {
                       pl.str("lobby_id", x.lobby_id);
                       pl.opt_str("password", x.password);
                       pl.opt_str("pubkey", x.pubkey);
                     });
  }

  template <class Relay>
  void relay(opcode op, const Relay& x) {
    put_frame(out, opcode_name(op), x.listener, [&](object_writer& env) {
      env.opt_raw("payload", x.payload);
      env.opt_str("recipient", x.recipient);
    });
  }

  void operator()(const cmd::make_offer& x) {
    relay(opcode::make_offer, x);
  }

  void operator()(const cmd::make_answer& x) {
    relay(opcode::make_answer, x);
  }

  void operator()(const cmd::ice& x) {
    relay(opcode::ice, x);
  }

  void operator()(const cmd::claim_host& x) {
    put_plain_frame(out, opcode_name(opcode::claim_host), x.listener);
  }

  void operator()(const cmd::lock& x) {
    put_plain_frame(out, opcode_name(opcode::lock), x.listener);
  }

  void operator()(const cmd::unlock& x) {
    put_plain_frame(out, opcode_name(opcode::unlock), x.listener);
  }

  void operator()(const cmd::lobby_list& x) {
    put_plain_frame(out, opcode_name(opcode::lobby_list), x.listener);
  }

  /// Writes a command whose payload is a required string (written even
  /// when empty, because decode accepts exactly that).
  void string_command(opcode op, const std::string& payload,
                      const std::string& listener) {
    put_frame(out, opcode_name(op), listener,
              [&](object_writer& env) { env.str("payload", payload); });
  }

  void operator()(const cmd::transfer_host& x) {
    string_command(opcode::transfer_host, x.target, x.listener);
  }

  void operator()(const cmd::kick& x) {
    string_command(opcode::kick, x.target, x.listener);
  }

  void operator()(const cmd::lobby_info& x) {
    string_command(opcode::lobby_info, x.lobby_id, x.listener);
  }

  void operator()(const cmd::size& x) {
    put_frame(out, opcode_name(opcode::size), x.listener,
              [&](object_writer& env) {
                put_number(env.key("payload"), x.max_peers);
              });
  }

  void operator()(const cmd::bad_frame& x) {
    // A bad frame has no wire form of its own. An object without an opcode
    // (keeping the listener) at least decodes to a bad frame again.
    object_writer env{out};
    env.opt_str("listener", x.listener);
    env.close();
  }
};

// -- decoding server events -------------------------------------------------

/// Reads server frames leniently about absent members (absent or null means
/// empty, false or 0, mirroring how `encode` leaves them out) and strictly
/// about types: a member of the wrong type makes the frame unrecognised.
class event_reader {
public:
  explicit event_reader(const json::object& envelope)
    : envelope_(envelope), payload_(member(envelope, "payload")) {
    // nop
  }

  bool ok() const {
    return ok_;
  }

  /// Reads a string member of the envelope.
  std::string env_str(std::string_view key) {
    return str_of(member(envelope_, key));
  }

  /// Reads a notification that names a member (`{id, user, pubkey?}`).
  template <class Member>
  Member member_notice() {
    auto& pl = payload_obj();
    return Member{str(pl, "id"), str(pl, "user"), str(pl, "pubkey")};
  }

  /// Reads the payload as a string.
  std::string payload_str() {
    return str_of(payload_);
  }

  /// Reads the payload as opaque JSON text.
  std::string payload_raw() {
    std::string result;
    if (!opaque_text(payload_, std::nullopt, result))
      ok_ = false;
    return result;
  }

  /// Requires the payload to be an object.
  const json::object& payload_obj() {
    static const json::object empty;
    auto obj = payload_ != nullptr ? payload_->if_object() : nullptr;
    if (obj == nullptr) {
      ok_ = false;
      return empty;
    }
    return *obj;
  }

  std::string str(const json::object& obj, std::string_view key) {
    return str_of(member(obj, key));
  }

  bool boolean(const json::object& obj, std::string_view key) {
    auto ptr = member(obj, key);
    if (ptr == nullptr)
      return false;
    if (!ptr->is_bool()) {
      ok_ = false;
      return false;
    }
    return ptr->get_bool();
  }

  uint32_t count(const json::object& obj, std::string_view key) {
    uint32_t result = 0;
    auto ptr = member(obj, key);
    if (ptr != nullptr && !to_count(*ptr, UINT32_MAX, result))
      ok_ = false;
    return result;
  }

  std::vector<std::string> payload_strings() {
    std::vector<std::string> result;
    auto arr = payload_ != nullptr ? payload_->if_array() : nullptr;
    if (arr == nullptr) {
      ok_ = false;
      return result;
    }
    result.reserve(arr->size());
    for (auto& x : *arr) {
      if (auto s = x.if_string()) {
        result.emplace_back(to_std_string(*s));
      } else {
        ok_ = false;
        break;
      }
    }
    return result;
  }

private:
  std::string str_of(const json::value* x) {
    if (x == nullptr)
      return {};
    if (auto s = x->if_string())
      return to_std_string(*s);
    ok_ = false;
    return {};
  }

  const json::object& envelope_;
  const json::value* payload_;
  bool ok_ = true;
};

/// Maps an error opcode (e.g. `LOBBY_FULL`) to its code; `false` if `name`
/// is not one. VIOLATION is left out: it has an event of its own.
bool error_from_name(std::string_view name, ec& out) {
  auto first = static_cast<int>(ec::warning);
  auto last = static_cast<int>(ec::password_fail);
  for (auto i = first; i <= last; ++i) {
    auto code = static_cast<ec>(i);
    if (name == opcode_name(code)) {
      out = code;
      return true;
    }
  }
  return false;
}

std::optional<event> decode_event_impl(std::string_view frame) {
  unsigned char buf[4096];
  json::monotonic_resource mr{buf, sizeof(buf)};
  json::parse_options opts;
  // Relayed payloads were accepted by a server with its own depth limit;
  // the client side only guards against runaway input.
  opts.max_depth = 1024;
  json::error_code err;
  auto jv = json::parse(json::string_view{frame.data(), frame.size()}, err, &mr,
                        opts);
  if (err || !jv.is_object())
    return std::nullopt;
  auto& envelope = jv.get_object();
  auto op_str = string_member(envelope, "opcode");
  if (op_str == nullptr)
    return std::nullopt;
  std::string_view name{op_str->data(), op_str->size()};
  event_reader rd{envelope};
  auto listener = rd.env_str("listener");
  auto result = [&]() -> std::optional<event> {
    if (name == evt::keepalive::wire_name) {
      return evt::keepalive{rd.payload_raw(), std::move(listener)};
    } else if (name == evt::init_ok::wire_name) {
      auto& pl = rd.payload_obj();
      return evt::init_ok{rd.str(pl, "user"), rd.str(pl, "id"),
                          rd.str(pl, "game"), rd.str(pl, "developer"),
                          std::move(listener)};
    } else if (name == evt::ack_host::wire_name) {
      auto& pl = rd.payload_obj();
      return evt::ack_host{rd.str(pl, "lobby_id"), std::move(listener)};
    } else if (name == evt::password_ack::wire_name) {
      return evt::password_ack{std::move(listener)};
    } else if (name == evt::ack_peer::wire_name) {
      auto& pl = rd.payload_obj();
      return evt::ack_peer{rd.str(pl, "lobby_id"), rd.str(pl, "id"),
                           rd.str(pl, "user"), rd.str(pl, "pubkey"),
                           std::move(listener)};
    } else if (name == evt::new_host::wire_name) {
      auto& pl = rd.payload_obj();
      return evt::new_host{rd.str(pl, "id"), rd.str(pl, "user"),
                           rd.str(pl, "lobby_id"), rd.str(pl, "pubkey")};
    } else if (name == evt::new_peer::wire_name) {
      return rd.member_notice<evt::new_peer>();
    } else if (name == evt::anticipate::wire_name) {
      return rd.member_notice<evt::anticipate>();
    } else if (name == evt::discover::wire_name) {
      return rd.member_notice<evt::discover>();
    } else if (name == evt::peer_gone::wire_name) {
      return evt::peer_gone{rd.payload_str(), std::move(listener)};
    } else if (name == evt::host_gone::wire_name) {
      return evt::host_gone{rd.payload_str()};
    } else if (name == evt::host_reclaim::wire_name) {
      auto& pl = rd.payload_obj();
      return evt::host_reclaim{rd.str(pl, "id"), rd.str(pl, "user"),
                               rd.str(pl, "lobby_id"), std::move(listener)};
    } else if (name == evt::lobby_close::wire_name) {
      return evt::lobby_close{rd.payload_str()};
    } else if (is_relay(opcode_from_name(name))) {
      evt::relayed x{opcode_from_name(name), rd.payload_raw(), {}, {}};
      // A `cl5` lobby's origin is an object `{id, user}`.
      auto origin = member(envelope, "origin");
      if (origin != nullptr && origin->is_object()) {
        x.origin = rd.str(origin->get_object(), "id");
        x.origin_user = rd.str(origin->get_object(), "user");
        if (x.origin_user.empty())
          return std::nullopt;
      } else {
        x.origin = rd.env_str("origin");
      }
      if (x.origin.empty())
        return std::nullopt;
      return x;
    } else if (name == evt::relay_ok::wire_name) {
      return evt::relay_ok{std::move(listener)};
    } else if (name == opcode_name(opcode::lock) || name == opcode_name(opcode::unlock)) {
      auto& pl = rd.payload_obj();
      evt::lock_state x{rd.str(pl, "lobby_id"), name == opcode_name(opcode::lock),
                        std::move(listener)};
      // The opcode decides; a contradicting `locked` member is malformed.
      auto locked = member(pl, "locked");
      if (locked != nullptr
          && (!locked->is_bool() || locked->get_bool() != x.locked))
        return std::nullopt;
      return x;
    } else if (name == evt::size_state::wire_name) {
      auto& pl = rd.payload_obj();
      return evt::size_state{rd.str(pl, "lobby_id"), rd.count(pl, "max_peers"),
                             std::move(listener)};
    } else if (name == evt::lobby_list::wire_name) {
      return evt::lobby_list{rd.payload_strings(), std::move(listener)};
    } else if (name == evt::lobby_info::wire_name) {
      auto& pl = rd.payload_obj();
      return evt::lobby_info{rd.str(pl, "lobby_id"),
                             rd.str(pl, "lobby_host_id"),
                             rd.str(pl, "lobby_host_username"),
                             rd.count(pl, "max_peers"),
                             rd.count(pl, "current_peers"),
                             rd.boolean(pl, "locked"),
                             rd.boolean(pl, "password_required"),
                             std::move(listener)};
    } else if (name == evt::violation::wire_name) {
      // The close code travels in the WebSocket close frame, not here.
      return evt::violation{rd.payload_str(), 0, std::move(listener)};
    }
    ec code;
    if (error_from_name(name, code))
      return evt::error_reply{code, rd.payload_str(), std::move(listener)};
    return std::nullopt;
  }();
  if (!rd.ok())
    return std::nullopt;
  return result;
}

} // namespace

// -- public API -------------------------------------------------------------

command decode(std::string_view frame, const codec_limits& limits) {
  try {
    if (auto result = decode_opaque(frame, limits))
      return std::move(*result);
    return decode_impl(frame, limits);
  } catch (...) {
    // Only allocation can fail here. The reason fits the small-string
    // buffer, so building the reply does not allocate again.
    return envelope_violation("decoder failed");
  }
}

namespace detail {

command decode_with_dom(std::string_view frame, const codec_limits& limits) {
  try {
    return decode_impl(frame, limits);
  } catch (...) {
    return envelope_violation("decoder failed");
  }
}

} // namespace detail

cmd::bad_frame binary_frame() {
  return envelope_violation("binary frames are not supported",
                            close_code::unsupported_data);
}

cmd::bad_frame oversized_frame(size_t limit) {
  std::string reason = "frame exceeds ";
  put_number(reason, limit);
  reason += " bytes";
  return envelope_violation(std::move(reason), close_code::message_too_big);
}

std::string encode(const event& x) {
  // Only KEEPALIVE and relayed frames carry payloads of unbounded size.
  size_t hint = 0;
  if (auto relay = std::get_if<evt::relayed>(&x))
    hint = relay->payload.size() + relay->origin.size();
  else if (auto echo = std::get_if<evt::keepalive>(&x))
    hint = echo->payload.size() + echo->listener.size();
  auto result = frame_buffer(hint);
  std::visit(event_encoder{result}, x);
  return result;
}

std::string encode_command(const command& x) {
  auto result = frame_buffer(0);
  std::visit(command_encoder{result}, x);
  return result;
}

std::optional<event> decode_event(std::string_view frame) {
  try {
    return decode_event_impl(frame);
  } catch (...) {
    return std::nullopt;
  }
}

size_t utf8_length(std::string_view x) {
  size_t result = 0;
  for (auto c : x)
    if ((static_cast<unsigned char>(c) & 0xC0) != 0x80)
      ++result;
  return result;
}

} // namespace omega
