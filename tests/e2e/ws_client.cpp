#include "tests/e2e/ws_client.hpp"

#include <cctype>

#include <boost/asio/buffer.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/core/buffers_to_string.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/websocket.hpp>
#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>

#include <gtest/gtest.h>

namespace beast = boost::beast;
namespace http = beast::http;
namespace websocket = beast::websocket;
namespace net = boost::asio;
namespace json = boost::json;
using tcp = net::ip::tcp;
using std::chrono::milliseconds;

namespace omega::e2e {

namespace {

std::string lower(std::string_view x) {
  std::string result{x};
  for (auto& c : result)
    c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return result;
}

tcp::endpoint loopback(uint16_t port) {
  return {net::ip::make_address_v4("127.0.0.1"), port};
}

/// Runs `ioc` until the operation `start` begins has completed; the
/// stream's own expiry bounds it.
template <class Stream, class Start>
beast::error_code run_op(net::io_context& ioc, Stream& lowest,
                         milliseconds timeout, Start&& start) {
  beast::error_code result = net::error::would_block;
  lowest.expires_after(timeout);
  start([&result](beast::error_code ec, auto&&...) { result = ec; });
  ioc.restart();
  ioc.run();
  return result;
}

} // namespace

// -- HTTP ---------------------------------------------------------------------

std::string http_result::header(const std::string& name) const {
  auto i = headers.find(name);
  return i != headers.end() ? i->second : std::string{};
}

http_result
http_request(uint16_t port, http::verb method, const std::string& target,
             const std::string& body,
             const std::vector<std::pair<std::string, std::string>>& headers,
             milliseconds timeout) {
  http_result result;
  net::io_context ioc;
  beast::tcp_stream stream{ioc};
  auto ec = run_op(ioc, stream, timeout, [&](auto handler) {
    stream.async_connect(loopback(port), std::move(handler));
  });
  if (ec) {
    result.error = "connect: " + ec.message();
    return result;
  }
  http::request<http::string_body> req{method, target, 11};
  req.set(http::field::host, "127.0.0.1:" + std::to_string(port));
  req.set(http::field::user_agent, "omega-e2e");
  if (method == http::verb::post)
    req.set(http::field::content_type, "application/json");
  for (auto& [name, value] : headers)
    req.set(name, value);
  req.body() = body;
  req.prepare_payload();
  ec = run_op(ioc, stream, timeout, [&](auto handler) {
    http::async_write(stream, req, std::move(handler));
  });
  if (ec) {
    result.error = "write: " + ec.message();
    return result;
  }
  beast::flat_buffer buffer;
  http::response_parser<http::string_body> parser;
  // The answer to HEAD has a Content-Length but no body.
  parser.skip(method == http::verb::head);
  ec = run_op(ioc, stream, timeout, [&](auto handler) {
    http::async_read(stream, buffer, parser, std::move(handler));
  });
  if (ec) {
    result.error = "read: " + ec.message();
    return result;
  }
  auto& res = parser.get();
  result.status = res.result_int();
  result.body = res.body();
  for (auto& field : res)
    result.headers[lower(field.name_string())] = std::string{field.value()};
  beast::error_code ignored;
  stream.socket().shutdown(tcp::socket::shutdown_both, ignored);
  return result;
}

http_result
http_post(uint16_t port, const std::string& target, const std::string& body,
          const std::string& origin,
          const std::vector<std::pair<std::string, std::string>>& headers) {
  std::vector<std::pair<std::string, std::string>> all;
  if (!origin.empty())
    all.emplace_back("Origin", origin);
  all.insert(all.end(), headers.begin(), headers.end());
  return http_request(port, http::verb::post, target, body, all);
}

http_result http_save(uint16_t port, const std::string& token,
                      const std::string& ugi, const json::value& slot,
                      const std::string& data, const std::string& origin) {
  return http_post(port, "/api/v0/save",
                   json::serialize(json::object{{"token", token},
                                                {"ugi", ugi},
                                                {"save_slot", slot},
                                                {"save_data", data}}),
                   origin);
}

http_result http_load(uint16_t port, const std::string& token,
                      const std::string& ugi, const json::value& slot,
                      const std::string& origin) {
  return http_post(port, "/api/v0/load",
                   json::serialize(json::object{
                     {"token", token}, {"ugi", ugi}, {"save_slot", slot}}),
                   origin);
}

// -- ws_client ----------------------------------------------------------------

ws_client::ws_client(std::string name)
  : name_(std::move(name)), ioc_(std::make_shared<net::io_context>(1)) {
  // nop
}

ws_client::ws_client(std::string name, std::shared_ptr<net::io_context> ioc)
  : name_(std::move(name)), ioc_(std::move(ioc)) {
  // nop
}

ws_client::~ws_client() {
  drop();
}

template <class Start>
beast::error_code ws_client::run(milliseconds timeout, Start&& start) {
  return run_op(*ioc_, beast::get_lowest_layer(*ws_), timeout,
                std::forward<Start>(start));
}

bool ws_client::connect(uint16_t port, const std::string& target,
                        const std::string& origin, milliseconds timeout) {
  drop();
  buffer_.clear();
  handshake_status_ = 0;
  close_code_.reset();
  error_.clear();
  ws_ = std::make_unique<stream_type>(*ioc_);
  auto ec = run(timeout, [&](auto handler) {
    beast::get_lowest_layer(*ws_).async_connect(loopback(port),
                                                std::move(handler));
  });
  if (ec) {
    error_ = "connect: " + ec.message();
    return false;
  }
  ws_->set_option(
    websocket::stream_base::decorator([origin](websocket::request_type& req) {
      req.set(http::field::user_agent, "omega-e2e");
      if (!origin.empty())
        req.set(http::field::origin, origin);
    }));
  websocket::response_type res;
  auto host = "127.0.0.1:" + std::to_string(port);
  ec = run(timeout, [&](auto handler) {
    ws_->async_handshake(res, host, target, std::move(handler));
  });
  handshake_status_ = res.result_int();
  if (ec) {
    error_ = "handshake: " + ec.message();
    return false;
  }
  return true;
}

bool ws_client::send_text(std::string_view text, milliseconds timeout) {
  if (!is_open()) {
    error_ = "send on a closed connection";
    return false;
  }
  ws_->text(true);
  auto ec = run(timeout, [&](auto handler) {
    ws_->async_write(net::buffer(text.data(), text.size()), std::move(handler));
  });
  if (ec)
    error_ = "write: " + ec.message();
  return !ec;
}

bool ws_client::send_burst(const std::vector<std::string>& texts,
                           milliseconds timeout) {
  if (!is_open()) {
    error_ = "send on a closed connection";
    return false;
  }
  // RFC 6455 section 5.2: FIN and the text opcode, the mask bit with the
  // length, the masking key, the masked payload.
  std::string wire;
  const unsigned char key[4] = {0x37, 0xfa, 0x21, 0x3d};
  for (auto& text : texts) {
    wire += static_cast<char>(0x81);
    auto n = text.size();
    if (n < 126) {
      wire += static_cast<char>(0x80 | n);
    } else if (n <= 0xffff) {
      wire += static_cast<char>(0x80 | 126);
      wire += static_cast<char>(n >> 8);
      wire += static_cast<char>(n & 0xff);
    } else {
      wire += static_cast<char>(0x80 | 127);
      for (int shift = 56; shift >= 0; shift -= 8)
        wire += static_cast<char>((static_cast<uint64_t>(n) >> shift) & 0xff);
    }
    wire.append(reinterpret_cast<const char*>(key), 4);
    for (size_t i = 0; i < n; ++i)
      wire
        += static_cast<char>(static_cast<unsigned char>(text[i]) ^ key[i % 4]);
  }
  auto ec = run(timeout, [&](auto handler) {
    net::async_write(ws_->next_layer(), net::buffer(wire), std::move(handler));
  });
  if (ec)
    error_ = "write: " + ec.message();
  return !ec;
}

bool ws_client::send_binary(std::string_view data, milliseconds timeout) {
  if (!is_open()) {
    error_ = "send on a closed connection";
    return false;
  }
  ws_->binary(true);
  auto ec = run(timeout, [&](auto handler) {
    ws_->async_write(net::buffer(data.data(), data.size()), std::move(handler));
  });
  if (ec)
    error_ = "write: " + ec.message();
  return !ec;
}

bool ws_client::send_command(std::string_view op,
                             std::optional<json::value> payload,
                             std::string_view recipient,
                             std::string_view listener) {
  json::object obj;
  obj["opcode"] = op;
  if (payload)
    obj["payload"] = std::move(*payload);
  if (!recipient.empty())
    obj["recipient"] = recipient;
  if (!listener.empty())
    obj["listener"] = listener;
  return send_text(json::serialize(obj));
}

std::optional<frame> ws_client::read(milliseconds timeout) {
  if (!is_open()) {
    error_ = "read on a closed connection";
    return std::nullopt;
  }
  buffer_.clear();
  auto ec = run(timeout, [&](auto handler) {
    ws_->async_read(buffer_, std::move(handler));
  });
  if (ec) {
    if (ec == websocket::error::closed) {
      close_code_ = ws_->reason().code;
      error_ = "closed by the server with code " + std::to_string(*close_code_);
    } else {
      error_ = "read: " + ec.message();
      if (ws_->reason().code != websocket::close_code::none)
        close_code_ = ws_->reason().code;
    }
    return std::nullopt;
  }
  frame result;
  result.text = ws_->got_text();
  result.data = beast::buffers_to_string(buffer_.data());
  buffer_.clear();
  return result;
}

json::object ws_client::expect(std::string_view op, milliseconds timeout) {
  auto f = read(timeout);
  if (!f) {
    ADD_FAILURE() << name_ << ": expected " << op << ", got no frame ("
                  << error_ << ")";
    return {};
  }
  if (!f->text) {
    ADD_FAILURE() << name_ << ": expected " << op << ", got a binary frame";
    return {};
  }
  json::error_code ec;
  auto jv = json::parse(f->data, ec);
  if (ec || !jv.is_object()) {
    ADD_FAILURE() << name_ << ": expected " << op
                  << ", got a frame that is no JSON object: " << f->data;
    return {};
  }
  auto& obj = jv.get_object();
  auto i = obj.find("opcode");
  if (i == obj.end() || !i->value().is_string()
      || i->value().get_string() != op)
    ADD_FAILURE() << name_ << ": expected " << op << ", got " << f->data;
  return std::move(obj);
}

close_result ws_client::read_close(milliseconds timeout) {
  close_result result;
  if (close_code_) {
    // An earlier read already saw the close frame.
    result.kind = close_result::closed;
    result.code = *close_code_;
    return result;
  }
  if (!is_open()) {
    result.kind = close_result::ended;
    result.error = error_.empty() ? "not connected" : error_;
    return result;
  }
  auto deadline = std::chrono::steady_clock::now() + timeout;
  // Bounded twice: by the deadline and by a frame count far above what any
  // test produces.
  for (size_t i = 0; i < 1'000'000; ++i) {
    auto left = std::chrono::duration_cast<milliseconds>(
      deadline - std::chrono::steady_clock::now());
    if (left.count() <= 0)
      break;
    buffer_.clear();
    auto ec = run(left, [&](auto handler) {
      ws_->async_read(buffer_, std::move(handler));
    });
    if (!ec) {
      if (result.skipped++ == 0)
        result.first_skipped = beast::buffers_to_string(buffer_.data());
      continue;
    }
    if (ec == websocket::error::closed) {
      close_code_ = ws_->reason().code;
      result.kind = close_result::closed;
      result.code = *close_code_;
    } else if (ws_->reason().code != websocket::close_code::none) {
      // Beast saw the close frame but failed to echo it: the server tore
      // the connection down without completing the handshake.
      close_code_ = ws_->reason().code;
      result.kind = close_result::closed;
      result.code = *close_code_;
      result.clean = false;
      result.error = ec.message();
    } else if (ec == beast::error::timeout) {
      result.kind = close_result::timeout;
      result.error = ec.message();
    } else {
      result.kind = close_result::ended;
      result.error = ec.message();
    }
    return result;
  }
  result.kind = close_result::timeout;
  result.error = "deadline passed";
  return result;
}

bool ws_client::close(uint16_t code, milliseconds timeout) {
  if (!is_open()) {
    error_ = "close on a closed connection";
    return false;
  }
  auto ec = run(timeout, [&](auto handler) {
    ws_->async_close(websocket::close_reason{code}, std::move(handler));
  });
  if (ec)
    error_ = "close: " + ec.message();
  else
    close_code_ = ws_->reason().code;
  drop();
  return !ec;
}

void ws_client::drop() {
  if (!ws_)
    return;
  beast::error_code ignored;
  auto& sock = beast::get_lowest_layer(*ws_).socket();
  sock.shutdown(tcp::socket::shutdown_both, ignored);
  sock.close(ignored);
  ws_.reset();
}

bool ws_client::is_open() const {
  return ws_ && ws_->is_open();
}

} // namespace omega::e2e
