#include "transport/json_codec.hpp"

#include <optional>
#include <utility>

#include <boost/json/monotonic_resource.hpp>
#include <boost/json/parse.hpp>

#include "transport/json_reading.hpp"
#include "transport/json_writer.hpp"
#include "transport/relay_reader.hpp"

namespace json = boost::json;

namespace omega {

namespace {

using namespace codec;

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

/// KICK: a peer id string, or (extension) `{"id": peer id, "ban": seconds}`.
command decode_kick(frame_context& ctx) {
  cmd::kick result;
  if (auto obj = ctx.payload != nullptr ? ctx.payload->if_object() : nullptr) {
    auto id = string_member(*obj, "id");
    auto ban = member(*obj, "ban");
    if (id == nullptr || ban == nullptr
        || !to_count(*ban, UINT32_MAX, result.ban))
      return ctx.fail("KICK with a ban needs {\"id\": peer id string, "
                      "\"ban\": seconds}");
    result.target = to_std_string(*id);
  } else if (!read_string_payload(ctx, result.target)) {
    return ctx.fail("KICK payload must be a peer id string");
  }
  result.listener = std::move(ctx.listener);
  return result;
}

/// RESUME: `{"token", "secret"}`, both strings.
command decode_resume(frame_context& ctx) {
  auto obj = ctx.payload != nullptr ? ctx.payload->if_object() : nullptr;
  auto token = obj != nullptr ? string_member(*obj, "token") : nullptr;
  auto secret = obj != nullptr ? string_member(*obj, "secret") : nullptr;
  if (token == nullptr || secret == nullptr)
    return ctx.fail("RESUME payload must be {\"token\", \"secret\"} strings");
  cmd::resume result;
  result.token = to_std_string(*token);
  result.secret = to_std_string(*secret);
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
      return decode_kick(ctx);
    case opcode::lobby_list:
      return decode_plain<cmd::lobby_list>(ctx);
    case opcode::lobby_info:
      return decode_lobby_info(ctx);
    case opcode::resumable:
      return decode_plain<cmd::resumable>(ctx);
    case opcode::resume:
      return decode_resume(ctx);
    case opcode::turn_credentials:
      return decode_plain<cmd::turn_credentials>(ctx);
    default: {
      std::string reason = "unknown opcode: ";
      reason += truncate_name(name);
      return cmd::bad_frame{opcode::unknown, ec::warning, std::move(reason), 0,
                            std::move(ctx.listener)};
    }
  }
}

// -- encoding events ----------------------------------------------------------

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
      // Lobby ids are never empty, so copying the array as-is emits no
      // empty strings; filtering would break round trips.
      put_string_array(env.key("payload"), x.lobby_ids);
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

  void operator()(const evt::resumable& x) {
    put_object_frame(out, x.wire_name, x.listener, [&](object_writer& pl) {
      pl.opt_str("secret", x.secret);
      pl.number("window", x.window);
    });
  }

  void operator()(const evt::resumed& x) {
    put_object_frame(out, x.wire_name, x.listener, [&](object_writer& pl) {
      pl.opt_str("secret", x.secret);
      pl.opt_str("lobby_id", x.lobby_id);
      pl.opt_str("role", x.role);
      pl.number("dropped", x.dropped);
    });
  }

  void operator()(const evt::turn_credentials& x) {
    put_frame(out, x.wire_name, x.listener, [&](object_writer& env) {
      auto& dst = env.key("payload");
      dst += '[';
      for (size_t i = 0; i < x.servers.size(); ++i) {
        if (i > 0)
          dst += ',';
        auto& server = x.servers[i];
        object_writer obj{dst};
        put_string_array(obj.key("urls"), server.urls);
        obj.str("username", server.username);
        obj.str("credential", server.credential);
        obj.close();
      }
      dst += ']';
    });
  }

  void operator()(const evt::encoded& x) {
    out += x.frame;
  }
};

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

std::string encode(const evt::relayed& x) {
  auto result = frame_buffer(x.payload.size() + x.origin.size());
  event_encoder{result}(x);
  return result;
}

std::string encode(const event& x) {
  // Only KEEPALIVE and relayed frames carry payloads of unbounded size.
  if (auto relay = std::get_if<evt::relayed>(&x))
    return encode(*relay);
  size_t hint = 0;
  if (auto echo = std::get_if<evt::keepalive>(&x))
    hint = echo->payload.size() + echo->listener.size();
  auto result = frame_buffer(hint);
  std::visit(event_encoder{result}, x);
  return result;
}

size_t utf8_length(std::string_view x) {
  size_t result = 0;
  for (auto c : x)
    if ((static_cast<unsigned char>(c) & 0xC0) != 0x80)
      ++result;
  return result;
}

} // namespace omega
