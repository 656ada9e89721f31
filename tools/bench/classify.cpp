#include "tools/bench/classify.hpp"

#include <optional>
#include <string>
#include <utility>
#include <variant>

#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>
#include <boost/json/value.hpp>
#include <boost/system/error_code.hpp>

#include "messages/events.hpp"
#include "tools/bench/report_format.hpp"
#include "transport/client_codec.hpp"
#include "transport/json_codec.hpp"

namespace omega::bench {

namespace {

namespace json = boost::json;

bool starts_with(std::string_view x, std::string_view prefix) {
  return x.size() >= prefix.size() && x.compare(0, prefix.size(), prefix) == 0;
}

/// The string value that starts at `pos` and ends at the next quote. Ids and
/// opcodes never contain escapes, so no unescaping is needed.
std::string_view quoted_at(std::string_view x, size_t pos) {
  if (pos > x.size())
    return {};
  auto end = x.find('"', pos);
  if (end == std::string_view::npos)
    return {};
  return x.substr(pos, end - pos);
}

/// Reads the integer after the first `"t":` at or after `from`; our payloads
/// carry their send timestamp under that key.
bool timestamp_in(std::string_view x, size_t from, int64_t& out) {
  auto pos = x.find(R"("t":)", from);
  if (pos == std::string_view::npos)
    return false;
  pos += 4;
  int64_t v = 0;
  size_t digits = 0;
  for (; pos < x.size() && x[pos] >= '0' && x[pos] <= '9'; ++pos, ++digits)
    v = v * 10 + (x[pos] - '0');
  if (digits == 0)
    return false;
  out = v;
  return true;
}

void set_error(incoming& in, std::string text) {
  in.type = in_type::error;
  in.text = std::move(text);
}

/// Slow path for omega frames: the codec's client-side decoder. It handles
/// setup replies, notifications and anything the fast path did not expect.
struct omega_visitor {
  incoming& in;

  void operator()(omega::evt::init_ok& x) {
    in.type = in_type::ready;
    in.storage = std::move(x.id);
    in.src = in.storage;
  }

  void operator()(omega::evt::ack_host&) {
    in.type = in_type::ack_host;
  }

  void operator()(omega::evt::ack_peer& x) {
    in.type = in_type::ack_peer;
    in.storage = std::move(x.id);
    in.src = in.storage;
  }

  void operator()(omega::evt::new_peer& x) {
    in.type = in_type::new_peer;
    in.storage = std::move(x.id);
    in.src = in.storage;
  }

  void operator()(omega::evt::relay_ok&) {
    in.type = in_type::ack;
  }

  void operator()(omega::evt::relayed& x) {
    in.type = in_type::delivery;
    in.kind = x.op == omega::opcode::make_offer    ? msg_kind::offer
              : x.op == omega::opcode::make_answer ? msg_kind::answer
                                                   : msg_kind::ice;
    if (!timestamp_in(x.payload, 0, in.sent_ns))
      return set_error(in, "relayed payload without timestamp: "
                             + excerpt(x.payload));
    in.storage = std::move(x.origin);
    in.src = in.storage;
  }

  void gone(std::string what, std::string opcode) {
    in.type = in_type::gone;
    in.storage = std::move(what);
    in.src = in.storage;
    in.text = std::move(opcode);
  }

  void operator()(omega::evt::lobby_close& x) {
    gone(std::move(x.lobby_id), std::string{x.wire_name});
  }

  void operator()(omega::evt::host_gone& x) {
    gone(std::move(x.id), std::string{x.wire_name});
  }

  void operator()(omega::evt::peer_gone& x) {
    gone(std::move(x.id), std::string{x.wire_name});
  }

  void operator()(omega::evt::error_reply& x) {
    set_error(in, std::string{"error reply "} + omega::opcode_name(x.code)
                    + (x.reason.empty() ? "" : ": " + x.reason));
  }

  void operator()(omega::evt::violation& x) {
    set_error(in, std::string{x.wire_name} + ": " + x.reason);
  }

  template <class T>
  void operator()(T&) {
    // NEW_HOST, KEEPALIVE, ...: not part of any measurement.
  }
};

/// Fast path for the hot omega frames, in the layout omega's encoder writes:
/// {"opcode":"RELAY_OK"} and {"opcode":"ICE","payload":{...},"origin":"..."}.
/// Scanning instead of decoding keeps the client's CPU per message low.
/// Returns false for any other frame.
bool classify_omega_fast(std::string_view f, incoming& in) {
  constexpr std::string_view prefix = R"({"opcode":")";
  if (!starts_with(f, prefix))
    return false;
  auto op = quoted_at(f, prefix.size());
  if (op == omega::evt::relay_ok::wire_name
      && f.size() == prefix.size() + op.size() + 2) {
    in.type = in_type::ack;
    return true;
  }
  std::optional<msg_kind> kind;
  if (op == omega::cmd::make_offer::wire_name)
    kind = msg_kind::offer;
  else if (op == omega::cmd::make_answer::wire_name)
    kind = msg_kind::answer;
  else if (op == omega::cmd::ice::wire_name)
    kind = msg_kind::ice;
  constexpr std::string_view origin_key = R"("origin":")";
  auto origin = f.rfind(origin_key);
  if (!kind || origin == std::string_view::npos
      || !timestamp_in(f.substr(0, origin), prefix.size(), in.sent_ns))
    return false;
  in.type = in_type::delivery;
  in.kind = *kind;
  in.src = quoted_at(f, origin + origin_key.size());
  return true;
}

void classify_omega(std::string_view f, incoming& in) {
  if (classify_omega_fast(f, in))
    return;
  auto ev = omega::decode_event(f);
  if (!ev)
    return set_error(in, "undecodable frame: " + excerpt(f));
  std::visit(omega_visitor{in}, *ev);
}

/// The parts of a PeerJS frame that classification needs. `type` and `src`
/// view the frame or `incoming::storage`.
struct peerjs_fields {
  std::string_view type;
  std::string_view src;
  /// The serialized payload when the frame was parsed (slow path).
  std::string payload;
  /// Where the fast path's timestamp search starts.
  size_t body = 0;
};

/// Reads a PeerJS frame in another key order with Boost.JSON; false if it
/// has no string `type`.
bool parse_peerjs(std::string_view f, incoming& in, peerjs_fields& out) {
  boost::system::error_code ec;
  auto v = json::parse(f, ec);
  auto obj = ec ? nullptr : v.if_object();
  auto t = obj ? obj->if_contains("type") : nullptr;
  if (!t || !t->is_string())
    return false;
  in.storage = std::string{t->as_string()} + '\n';
  if (auto s = obj->if_contains("src"); s && s->is_string())
    in.storage += std::string{s->as_string()};
  auto nl = in.storage.find('\n');
  out.type = std::string_view{in.storage}.substr(0, nl);
  out.src = std::string_view{in.storage}.substr(nl + 1);
  if (auto p = obj->if_contains("payload"))
    out.payload = json::serialize(*p);
  return true;
}

/// PeerJS frames, as its server writes them with JSON.stringify:
/// {"type":"OPEN"} and {"type":"OFFER","src":"a","dst":"b","payload":{...}}.
void classify_peerjs(std::string_view f, incoming& in) {
  constexpr std::string_view prefix = R"({"type":")";
  constexpr std::string_view src_key = R"("src":")";
  peerjs_fields x;
  if (starts_with(f, prefix)) {
    x.type = quoted_at(f, prefix.size());
    if (auto pos = f.find(src_key); pos != std::string_view::npos)
      x.src = quoted_at(f, pos + src_key.size());
    x.body = prefix.size() + x.type.size();
  } else if (!parse_peerjs(f, in, x)) {
    return set_error(in, "unexpected PeerJS frame: " + excerpt(f));
  }
  if (x.type == "OPEN") {
    in.type = in_type::ready;
    return;
  }
  std::optional<msg_kind> kind;
  if (x.type == "OFFER")
    kind = msg_kind::offer;
  else if (x.type == "ANSWER")
    kind = msg_kind::answer;
  else if (x.type == "CANDIDATE")
    kind = msg_kind::ice;
  if (!kind)
    return set_error(in, "PeerJS " + std::string{x.type} + ": " + excerpt(f));
  bool stamped = x.payload.empty() ? timestamp_in(f, x.body, in.sent_ns)
                                   : timestamp_in(x.payload, 0, in.sent_ns);
  if (!stamped || x.src.empty())
    return set_error(in,
                     "PeerJS relay without src or timestamp: " + excerpt(f));
  in.type = in_type::delivery;
  in.kind = *kind;
  in.src = x.src;
}

/// plain-relay frames: "ok" (ack), "err ..." and "<src-id> <payload>".
void classify_plain(std::string_view f, incoming& in) {
  if (f == "ok") {
    in.type = in_type::ack;
    return;
  }
  auto space = f.find(' ');
  if (space == std::string_view::npos || starts_with(f, "err "))
    return set_error(in, "plain-relay: " + excerpt(f));
  constexpr std::string_view type_key = R"("type":")";
  auto type = f.find(type_key, space);
  if (type == std::string_view::npos || !timestamp_in(f, space, in.sent_ns))
    return set_error(in,
                     "plain relay without type or timestamp: " + excerpt(f));
  switch (f[type + type_key.size()]) {
    case 'o':
      in.kind = msg_kind::offer;
      break;
    case 'a':
      in.kind = msg_kind::answer;
      break;
    default:
      in.kind = msg_kind::ice;
  }
  in.type = in_type::delivery;
  in.src = f.substr(0, space);
}

} // namespace

void classify(target_kind target, std::string_view frame, incoming& in) {
  switch (target) {
    case target_kind::omega:
      return classify_omega(frame, in);
    case target_kind::plain:
      return classify_plain(frame, in);
    default:
      return classify_peerjs(frame, in);
  }
}

} // namespace omega::bench
