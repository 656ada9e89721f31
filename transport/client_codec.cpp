#include "transport/client_codec.hpp"

#include <utility>
#include <vector>

#include <boost/json/monotonic_resource.hpp>
#include <boost/json/parse.hpp>

#include "transport/json_reading.hpp"
#include "transport/json_writer.hpp"

namespace json = boost::json;

namespace omega {

namespace {

using namespace codec;

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
    if (x.ban == 0)
      return string_command(opcode::kick, x.target, x.listener);
    put_object_frame(out, opcode_name(opcode::kick), x.listener,
                     [&](object_writer& pl) {
                       pl.str("id", x.target);
                       pl.number("ban", x.ban);
                     });
  }

  void operator()(const cmd::resumable& x) {
    put_plain_frame(out, opcode_name(opcode::resumable), x.listener);
  }

  void operator()(const cmd::resume& x) {
    put_object_frame(out, opcode_name(opcode::resume), x.listener,
                     [&](object_writer& pl) {
                       pl.str("token", x.token);
                       pl.str("secret", x.secret);
                     });
  }

  void operator()(const cmd::turn_credentials& x) {
    put_plain_frame(out, opcode_name(opcode::turn_credentials), x.listener);
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

  /// Reads TURN_CREDENTIALS' payload: `[{urls, username, credential}]`.
  std::vector<evt::ice_server> ice_servers() {
    std::vector<evt::ice_server> result;
    auto arr = payload_ != nullptr ? payload_->if_array() : nullptr;
    if (arr == nullptr) {
      ok_ = false;
      return result;
    }
    for (auto& x : *arr) {
      auto obj = x.if_object();
      auto urls = obj != nullptr ? member(*obj, "urls") : nullptr;
      if (urls == nullptr || !urls->is_array()) {
        ok_ = false;
        break;
      }
      evt::ice_server server;
      for (auto& url : urls->get_array())
        server.urls.emplace_back(str_of(&url));
      server.username = str(*obj, "username");
      server.credential = str(*obj, "credential");
      result.emplace_back(std::move(server));
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
  auto last = static_cast<int>(ec::resume_failed);
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
    } else if (name == opcode_name(opcode::lock)
               || name == opcode_name(opcode::unlock)) {
      auto& pl = rd.payload_obj();
      evt::lock_state x{rd.str(pl, "lobby_id"),
                        name == opcode_name(opcode::lock), std::move(listener)};
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
    } else if (name == evt::resumable::wire_name) {
      auto& pl = rd.payload_obj();
      return evt::resumable{rd.str(pl, "secret"), rd.count(pl, "window"),
                            std::move(listener)};
    } else if (name == evt::resumed::wire_name) {
      auto& pl = rd.payload_obj();
      return evt::resumed{rd.str(pl, "secret"), rd.str(pl, "lobby_id"),
                          rd.str(pl, "role"), rd.count(pl, "dropped"),
                          std::move(listener)};
    } else if (name == evt::turn_credentials::wire_name) {
      return evt::turn_credentials{rd.ice_servers(), std::move(listener)};
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

} // namespace omega
