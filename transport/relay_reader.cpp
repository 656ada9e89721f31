#include "transport/relay_reader.hpp"

#include <cstring>
#include <string>

#include <boost/json/basic_parser_impl.hpp>

#include "transport/json_reading.hpp"

namespace json = boost::json;

namespace omega::codec {

namespace {

/// One pass of Boost.JSON's SAX parser over a frame, keeping only what the
/// frames with opaque payloads (the relays and KEEPALIVE, nearly all of the
/// traffic) need: the top-level `opcode`, `listener` and `recipient` strings
/// and whether the payload is null. A DOM would copy the payload into nodes
/// only to throw them away (docs/benchmarks.md has the measurements). Like
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

} // namespace

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

} // namespace omega::codec
