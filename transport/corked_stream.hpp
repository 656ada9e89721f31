#pragma once

#include <cstddef>
#include <memory>
#include <type_traits>
#include <utility>
#include <vector>

#include <boost/asio/async_result.hpp>
#include <boost/asio/bind_executor.hpp>
#include <boost/asio/buffer.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core/bind_handler.hpp>
#include <boost/beast/core/buffers_range.hpp>
#include <boost/beast/core/error.hpp>
#include <boost/beast/core/role.hpp>
#include <boost/beast/websocket/teardown.hpp>

namespace omega {

/// A write-combining layer between a WebSocket stream and its TCP stream.
///
/// Every relayed message costs the server two frames (the relay and the
/// sender's RELAY_OK), and on loopback about half of the server's CPU is the
/// kernel's work per `sendmsg`. Under load a socket often has several frames
/// due within one turn of the event loop (RELAY_OKs and relays from its
/// partners), and Beast writes each with its own `sendmsg`. This layer copies
/// what the WebSocket writes into a buffer and completes the write at once;
/// the buffer goes to the socket when the chain of writes that these
/// completions start has ended (a turn of the strand later, no timer), and
/// whatever is written while that `sendmsg` is in flight goes out together
/// in the next one. Reads pass straight through.
///
/// The buffer is bounded (`max_pending`): beyond it a write completes only
/// once the socket has taken the earlier bytes, so a client that does not
/// read still fills its session's bounded frame queue. Idle streams hold no
/// buffer.
///
/// The socket write outlives the WebSocket write that started it, so the
/// owner of the stream (the session) must be named with `hold` before the
/// first write (writes fail without it): each queued completion and socket
/// write keeps it alive until it has run.
template <class NextLayer>
class corked_stream {
public:
  using next_layer_type = NextLayer;
  using executor_type = typename NextLayer::executor_type;
  using error_code = boost::beast::error_code;

  /// Bytes that may wait behind the socket write in flight before writes
  /// stop completing at once.
  static constexpr size_t max_pending = 64 * 1024;

  /// Bytes beyond which a chain of writes stops waiting for more frames.
  static constexpr size_t max_batch = 16 * 1024;

  template <class... Args>
  explicit corked_stream(Args&&... args) : next_(std::forward<Args>(args)...) {
    // nop
  }

  corked_stream(corked_stream&&) = default;

  /// Makes the next close frame the WebSocket writes carry `code` and no
  /// reason. Beast 1.81 echoes a client's close code of 5000 or more, which
  /// RFC 6455 (7.4.2) makes invalid, where it should fail the connection
  /// with 1002; the session corrects the echo here.
  void rewrite_next_close(uint16_t code) {
    close_rewrite_ = code;
  }

  /// Names the object that owns this stream (see the class comment).
  void hold(std::weak_ptr<void> owner) {
    owner_ = std::move(owner);
  }

  NextLayer& next_layer() noexcept {
    return next_;
  }

  const NextLayer& next_layer() const noexcept {
    return next_;
  }

  executor_type get_executor() noexcept {
    return next_.get_executor();
  }

  template <class MutableBuffers, class ReadToken>
  auto async_read_some(const MutableBuffers& buffers, ReadToken&& token) {
    return next_.async_read_some(buffers, std::forward<ReadToken>(token));
  }

  template <class ConstBuffers, class WriteToken>
  auto async_write_some(const ConstBuffers& buffers, WriteToken&& token) {
    return boost::asio::async_initiate<WriteToken,
                                       void(error_code, std::size_t)>(
      [this](auto handler, const ConstBuffers& bufs) {
        start_write(std::move(handler), bufs);
      },
      token, buffers);
  }

  /// Runs `handler` once every accepted byte has gone to the socket (or the
  /// socket failed), then tears the socket down the way Beast does.
  template <class Handler>
  void async_teardown(boost::beast::role_type role, Handler&& handler) {
    if (!writing_ && completing_ == 0 && out_.empty()) {
      using boost::beast::websocket::async_teardown;
      async_teardown(role, next_, std::forward<Handler>(handler));
      return;
    }
    teardown_role_ = role;
    teardown_ = park<error_code>(std::forward<Handler>(handler));
  }

  /// Synchronous teardown (Beast's blocking close; omega never uses it):
  /// sends what is buffered first, and refuses while a socket write is in
  /// flight rather than send the FIN ahead of it.
  void teardown(boost::beast::role_type role, error_code& ec) {
    if (writing_) {
      ec = boost::asio::error::in_progress;
      return;
    }
    if (!out_.empty()) {
      boost::asio::write(next_, boost::asio::buffer(out_), ec);
      out_.clear();
      if (ec)
        return;
    }
    using boost::beast::websocket::teardown;
    teardown(role, next_, ec);
  }

private:
  /// A handler kept for later: a write waiting for room, or a teardown
  /// waiting for the socket write in flight. (Not Asio's
  /// `any_completion_handler`: in Boost 1.81 it cannot be posted the way
  /// Beast's teardown posts, and it re-wraps itself when copied from an
  /// lvalue.)
  template <class... Args>
  struct waiting {
    virtual ~waiting() = default;
    virtual void run(Args... args) = 0;
  };

  template <class Handler, class... Args>
  struct waiting_handler : waiting<Args...> {
    explicit waiting_handler(Handler h) : handler(std::move(h)) {
      // nop
    }
    void run(Args... args) override {
      std::move(handler)(args...);
    }
    Handler handler;
  };

  template <class... Args, class Handler>
  static std::unique_ptr<waiting<Args...>> park(Handler&& h) {
    return std::make_unique<waiting_handler<std::decay_t<Handler>, Args...>>(
      std::forward<Handler>(h));
  }

  template <class Handler, class ConstBuffers>
  void start_write(Handler&& handler, const ConstBuffers& buffers) {
    // The owner must outlive the queued completion even when the handler
    // does not hold it (Beast's idle ping holds only a weak reference).
    auto keep = owner_.lock();
    if (!keep && !error_)
      error_ = boost::asio::error::operation_aborted; // no `hold`, or gone
    if (error_) {
      boost::asio::post(
        get_executor(),
        boost::beast::bind_handler(std::forward<Handler>(handler), error_, 0));
      return;
    }
    std::size_t n = 0;
    auto start = out_.size();
    for (auto b : boost::beast::buffers_range_ref(buffers)) {
      auto p = static_cast<const char*>(b.data());
      out_.insert(out_.end(), p, p + b.size());
      n += b.size();
    }
    if (close_rewrite_ != 0 && n >= 2
        && static_cast<unsigned char>(out_[start]) == close_frame_header)
      rewrite_close(start);
    if (writing_ && out_.size() > max_pending) {
      blocked_ = park<error_code, std::size_t>(std::forward<Handler>(handler));
      blocked_bytes_ = n;
      return;
    }
    // The WebSocket's completion runs first: if it leads to the next frame
    // (the session's queue), that frame joins this socket write. The last
    // completion of such a chain starts the write.
    ++completing_;
    boost::asio::post(get_executor(), [this, keep = std::move(keep),
                                       h = boost::beast::bind_handler(
                                         std::forward<Handler>(handler),
                                         error_code{}, n)]() mutable {
      --completing_;
      std::move(h)();
      if (writing_)
        return;
      if (out_.empty()) {
        if (completing_ == 0 && teardown_)
          on_idle();
      } else if (completing_ == 0 || out_.size() >= max_batch) {
        flush();
      }
    });
  }

  void flush() {
    auto keep = owner_.lock();
    if (!keep) {
      // The owner is going away: nobody is left to read what we would send.
      error_ = boost::asio::error::operation_aborted;
      out_.clear();
      return;
    }
    sending_.swap(out_);
    out_.clear();
    writing_ = true;
    boost::asio::async_write(next_, boost::asio::buffer(sending_),
                             [this, keep = std::move(keep)](
                               error_code ec, std::size_t) { on_flushed(ec); });
  }

  void on_flushed(error_code ec) {
    writing_ = false;
    sending_.clear();
    if (ec) {
      error_ = ec;
      out_.clear();
    }
    if (blocked_) {
      auto n = error_ ? 0 : blocked_bytes_;
      boost::asio::post(get_executor(), [b = std::move(blocked_), ec = error_,
                                         n] { b->run(ec, n); });
    }
    if (out_.empty())
      return on_idle();
    // Completions still queued may add frames: the last of them flushes.
    if (completing_ == 0 || out_.size() >= max_batch) {
      flush();
      if (!writing_)
        on_idle();
    }
  }

  /// First byte of a server's close frame: FIN and opcode 8 (unmasked).
  static constexpr unsigned char close_frame_header = 0x88;

  /// Replaces the close frame at `start` of `out_` (the whole of one write:
  /// Beast writes a close frame on its own) by one with `close_rewrite_`.
  void rewrite_close(std::size_t start) {
    out_.resize(start);
    out_.push_back(static_cast<char>(close_frame_header));
    out_.push_back(2); // payload length: the code alone
    out_.push_back(static_cast<char>(close_rewrite_ >> 8));
    out_.push_back(static_cast<char>(close_rewrite_ & 0xFF));
    close_rewrite_ = 0;
  }

  /// Nothing to send: keeps no buffer, and lets a waiting teardown go on.
  void on_idle() {
    std::vector<char>{}.swap(out_);
    std::vector<char>{}.swap(sending_);
    if (teardown_) {
      using boost::beast::websocket::async_teardown;
      async_teardown(teardown_role_, next_,
                     boost::asio::bind_executor(
                       get_executor(), [t = std::move(teardown_)](
                                         error_code ec) { t->run(ec); }));
    }
  }

  NextLayer next_;
  std::weak_ptr<void> owner_;
  /// Bytes accepted since the socket write in flight started.
  std::vector<char> out_;
  /// Bytes of the socket write in flight.
  std::vector<char> sending_;
  bool writing_ = false;
  /// Write completions queued but not yet run.
  std::size_t completing_ = 0;
  /// The first socket error; every later write fails with it.
  error_code error_;
  std::unique_ptr<waiting<error_code, std::size_t>> blocked_;
  std::size_t blocked_bytes_ = 0;
  std::unique_ptr<waiting<error_code>> teardown_;
  boost::beast::role_type teardown_role_ = boost::beast::role_type::server;
  /// See `rewrite_next_close`; 0: none.
  uint16_t close_rewrite_ = 0;
};

/// Beast's WebSocket stream finds these by argument-dependent lookup.
template <class NextLayer>
void teardown(boost::beast::role_type role, corked_stream<NextLayer>& stream,
              boost::beast::error_code& ec) {
  stream.teardown(role, ec);
}

template <class NextLayer, class Handler>
void async_teardown(boost::beast::role_type role,
                    corked_stream<NextLayer>& stream, Handler&& handler) {
  stream.async_teardown(role, std::forward<Handler>(handler));
}

} // namespace omega
