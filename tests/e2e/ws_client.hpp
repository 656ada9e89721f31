#pragma once

#include <chrono>
#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <boost/asio/io_context.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/http/verb.hpp>
#include <boost/beast/websocket/stream.hpp>
#include <boost/json/object.hpp>
#include <boost/json/value.hpp>

/// A deliberately simple, synchronous test client for the signaling
/// WebSocket and the HTTP API. Every operation is bounded by a timeout, so a
/// server that stops answering fails a test instead of hanging the suite.

namespace omega::e2e {

/// Long enough for a loaded 2-core CI machine, short enough that a hang
/// fails quickly.
constexpr std::chrono::milliseconds default_timeout{5000};

/// One WebSocket message as received.
struct frame {
  bool text = true;
  std::string data;
};

/// How a connection ended, as seen by `ws_client::read_close`.
struct close_result {
  enum kind_t {
    /// The server sent a close frame; `code` holds its code.
    closed,
    /// The TCP connection ended without a close frame (EOF, reset).
    ended,
    /// Nothing conclusive within the timeout.
    timeout,
  };
  kind_t kind = timeout;
  uint16_t code = 0;
  /// False if the server's close frame arrived but the close handshake did
  /// not complete (e.g. the server reset the connection before the echo).
  bool clean = true;
  /// Frames read (and skipped) before the connection ended.
  size_t skipped = 0;
  /// The first skipped frame, for diagnostics.
  std::string first_skipped;
  /// The transport error for `ended` and `timeout`.
  std::string error;
};

/// An HTTP response; `status` 0 means the request failed in transport.
struct http_result {
  unsigned status = 0;
  std::string body;
  /// Header fields by lower-case name.
  std::map<std::string, std::string> headers;
  std::string error;

  /// Returns the field `name` (lower case) or an empty string.
  std::string header(const std::string& name) const;
};

/// Sends one HTTP/1.1 request on a fresh connection to 127.0.0.1:`port`.
http_result
http_request(uint16_t port, boost::beast::http::verb method,
             const std::string& target, const std::string& body,
             const std::vector<std::pair<std::string, std::string>>& headers
             = {},
             std::chrono::milliseconds timeout = default_timeout);

/// POSTs a JSON `body`, with an `Origin` header unless `origin` is empty,
/// and with `headers`.
http_result
http_post(uint16_t port, const std::string& target, const std::string& body,
          const std::string& origin = {},
          const std::vector<std::pair<std::string, std::string>>& headers = {});

/// The header that asks `POST /api/v0/register` for its JSON answer
/// `{id, username}`: without it a success is the plain `OK` that the CL5
/// account extension expects.
inline const std::pair<std::string, std::string> accept_json{
  "Accept", "application/json"};

/// POSTs `/api/v0/save` `{token, ugi, save_slot, save_data}` (a cloud save).
http_result http_save(uint16_t port, const std::string& token,
                      const std::string& ugi, const boost::json::value& slot,
                      const std::string& data, const std::string& origin = {});

/// POSTs `/api/v0/load` `{token, ugi, save_slot}`; the body of a 200 is the
/// slot's text.
http_result http_load(uint16_t port, const std::string& token,
                      const std::string& ugi, const boost::json::value& slot,
                      const std::string& origin = {});

/// One WebSocket connection to the server on 127.0.0.1. Not thread-safe:
/// each client belongs to one thread at a time. A timed-out operation
/// closes the socket (that is how Beast's `tcp_stream` times out), so a
/// client is unusable after its first timeout.
class ws_client {
public:
  /// Names the client in failure messages, e.g. "host" or "peer 2".
  explicit ws_client(std::string name = "client");

  /// Runs on `ioc`, which clients used by one thread may share: each
  /// io_context costs three descriptors (epoll, eventfd, timerfd), which
  /// adds up with a thousand clients.
  ws_client(std::string name, std::shared_ptr<boost::asio::io_context> ioc);

  ws_client(const ws_client&) = delete;

  ws_client& operator=(const ws_client&) = delete;

  ~ws_client();

  /// Connects and upgrades; sends an `Origin` header unless `origin` is
  /// empty. Returns false on failure (see `error` and `handshake_status`).
  bool connect(uint16_t port, const std::string& target,
               const std::string& origin = {},
               std::chrono::milliseconds timeout = default_timeout);

  /// The HTTP status of the upgrade response (101 on success).
  unsigned handshake_status() const {
    return handshake_status_;
  }

  bool send_text(std::string_view text,
                 std::chrono::milliseconds timeout = default_timeout);

  /// Sends `texts` as text frames in a single socket write, as a client
  /// that pipelines a burst does (Beast would write each frame on its own).
  bool send_burst(const std::vector<std::string>& texts,
                  std::chrono::milliseconds timeout = default_timeout);

  bool send_binary(std::string_view data,
                   std::chrono::milliseconds timeout = default_timeout);

  /// Sends `{"opcode": op, "payload": payload?, "recipient": recipient?,
  /// "listener": listener?}`; empty strings and a missing payload are left
  /// out.
  bool send_command(std::string_view op,
                    std::optional<boost::json::value> payload = std::nullopt,
                    std::string_view recipient = {},
                    std::string_view listener = {});

  /// Reads the next frame; nullopt on timeout, close or error.
  std::optional<frame>
  read(std::chrono::milliseconds timeout = default_timeout);

  /// Reads the next frame and checks that it is a JSON object text frame
  /// whose `opcode` is `op`; records a GoogleTest failure otherwise. Returns
  /// the parsed frame (empty if there was none or it was not an object).
  boost::json::object
  expect(std::string_view op,
         std::chrono::milliseconds timeout = default_timeout);

  /// Reads (skipping frames) until the connection ends.
  close_result read_close(std::chrono::milliseconds timeout = default_timeout);

  /// Runs the close handshake with `code`; the server's answer is then
  /// `close_code`. Returns false on failure.
  bool close(uint16_t code = 1000,
             std::chrono::milliseconds timeout = default_timeout);

  /// Closes the TCP connection without a close handshake.
  void drop();

  bool is_open() const;

  /// The code of the close frame the server sent, once a read saw it.
  std::optional<uint16_t> close_code() const {
    return close_code_;
  }

  const std::string& name() const {
    return name_;
  }

  /// The last transport error.
  const std::string& error() const {
    return error_;
  }

private:
  using stream_type = boost::beast::websocket::stream<boost::beast::tcp_stream>;

  /// Runs one asynchronous operation started by `start` to completion,
  /// bounded by `timeout`, and returns its error code.
  template <class Start>
  boost::beast::error_code
  run(std::chrono::milliseconds timeout, Start&& start);

  std::string name_;
  std::shared_ptr<boost::asio::io_context> ioc_;
  std::unique_ptr<stream_type> ws_;
  boost::beast::flat_buffer buffer_;
  unsigned handshake_status_ = 0;
  std::string error_;
  std::optional<uint16_t> close_code_;
};

} // namespace omega::e2e
