#include "transport/websocket_session.hpp"

#include <atomic>
#include <mutex>
#include <optional>
#include <shared_mutex>
#include <variant>

#include <boost/asio/dispatch.hpp>
#include <boost/asio/post.hpp>
#include <boost/beast/core/buffers_to_string.hpp>
#include <boost/beast/websocket.hpp>

#include <caf/actor_system.hpp>
#include <caf/detail/shared_spinlock.hpp>
#include <caf/mailbox_element.hpp>
#include <caf/make_actor.hpp>
#include <caf/monitorable_actor.hpp>
#include <caf/send.hpp>
#include <caf/typed_event_based_actor.hpp>

#include <chrono>

#include "actors/connection.hpp"
#include "transport/http_api.hpp"
#include "transport/json_codec.hpp"

namespace beast = boost::beast;
namespace http = beast::http;
namespace websocket = beast::websocket;
namespace net = boost::asio;

namespace omega {

namespace {

/// Read-buffer capacity a session keeps between frames: room for a typical
/// SDP offer.
constexpr size_t small_frame_bytes = 4096;

/// Room a session reserves while it waits for a frame (see `do_read`):
/// enough for a KEEPALIVE, an ICE candidate or a lobby command in one read;
/// an SDP offer or answer takes a second read.
constexpr size_t first_read_bytes = 512;

/// Now on the steady clock, in ns: when a relayed frame was read.
int64_t steady_ns() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(
           std::chrono::steady_clock::now().time_since_epoch())
    .count();
}

/// Turns the single element of `msg` into an event, if it is one.
template <size_t I = 0, class Tuple>
std::optional<event> to_event(Tuple& msg) {
  if constexpr (I < std::variant_size_v<event>) {
    using type = std::variant_alternative_t<I, event>;
    if (msg.template match_elements<type>())
      return event{std::move(msg.template get_mutable_as<type>(0))};
    return to_event<I + 1>(msg);
  } else {
    return std::nullopt;
  }
}

/// The SINK of one session: an actor with neither mailbox nor thread. A
/// message to it is encoded on the sender's thread and posted to the
/// session's strand. (`caf::actor_companion` does the same as a full
/// scheduled actor: about 1 KiB more per connection.)
class frame_sink : public caf::monitorable_actor {
public:
  frame_sink(caf::actor_config& cfg, std::weak_ptr<websocket_session> session)
    : caf::monitorable_actor(cfg), session_(std::move(session)) {
    // nop
  }

  void enqueue(caf::mailbox_element_ptr ptr, caf::execution_unit*) override {
    if (!ptr || closed_)
      return;
    auto& content = ptr->content();
    if (held_.load(std::memory_order_acquire))
      return keep(content);
    auto session = session_.lock();
    if (!session)
      return;
    if (content.match_elements<relay_handoff>())
      return hand_over(*session, content.get_mutable_as<relay_handoff>(0));
    auto ev = to_event(content);
    if (!ev) {
      // The messages that are not events (and rare: events come first).
      if (content.match_elements<read_gate>())
        session->gate_reads(content.get_as<read_gate>(0).open);
      else if (content.match_elements<sink_control>())
        control(content.get_as<sink_control>(0));
      else if (content.match_elements<atom::supersede>())
        supersede(*session);
      return;
    }
    uint16_t close = 0;
    if (auto v = std::get_if<evt::violation>(&*ev)) {
      close = v->close != 0 ? v->close : close_code::policy_violation;
      if (v->abuse)
        session->penalize();
    } else if (auto ack = std::get_if<evt::ack_peer>(&*ev)) {
      notify(*ack);
    }
    session->deliver(encode_counted(*session, *ev), close);
  }

  const char* name() const override {
    return "omega.sink";
  }

  /// Encodes `ev` and counts the frame.
  static std::string encode_counted(websocket_session& session,
                                    const event& ev) {
    auto frame = encode(ev);
    session.metrics().sent(ev, frame.size());
    return frame;
  }

  /// Queues a relayed frame and answers its sender: the relay is accepted
  /// only once the frame is queued.
  void hand_over(websocket_session& session, relay_handoff& x) {
    auto op = x.frame.op;
    auto frame = encode(x.frame);
    auto bytes = frame.size();
    if (session.deliver(std::move(frame), 0)) {
      auto& m = session.metrics();
      m.sent_relay(op, bytes);
      // Timed on one clock only: a sender on another node has its own.
      if (x.read_at != 0 && x.sender && x.sender.node() == home())
        m.relay_delay(static_cast<double>(steady_ns() - x.read_at) / 1e9);
      caf::anon_send(x.sender, evt::relay_ok{std::move(x.listener)});
    } else
      caf::anon_send(x.sender,
                     evt::error_reply{ec::peer_invalid,
                                      "the recipient does not read its frames "
                                      "and is disconnected",
                                      std::move(x.listener)});
  }

  /// This process's node.
  caf::node_id home() const {
    return node();
  }

  /// The CONNECTION to tell about each ACK_PEER and, once the socket is
  /// lost, to pass frames to; set before the session reads its first frame.
  /// (Weak: the CONNECTION holds the SINK.)
  void bind(const caf::actor& conn) {
    std::unique_lock<caf::detail::shared_spinlock> guard{mtx_};
    conn_ = caf::actor_cast<caf::weak_actor_ptr>(conn);
  }

  /// The socket is lost: a resumable session's SINK keeps working for its
  /// CONNECTION (true); any other ends (false).
  bool hold() {
    if (resumable_.load(std::memory_order_acquire)) {
      held_.store(true, std::memory_order_release);
      return true;
    }
    close();
    return false;
  }

  /// Ends the SINK (for anyone monitoring it); later messages are dropped.
  /// A held SINK goes on passing frames to its session.
  void close() {
    if (held_.load(std::memory_order_acquire))
      return;
    closed_ = true;
    cleanup(caf::exit_reason::user_shutdown, nullptr);
  }

private:
  caf::actor conn() {
    std::shared_lock<caf::detail::shared_spinlock> guard{mtx_};
    return caf::actor_cast<caf::actor>(conn_);
  }

  /// Told on the thread that hands over the frame, so the notice is in the
  /// CONNECTION's mailbox before anything that arrives later, such as the
  /// news that the LOBBY's node is gone (see `connection_state`).
  void notify(const evt::ack_peer& ack) {
    if (auto c = conn())
      caf::anon_send(c, ack);
  }

  void control(const sink_control& x) {
    bind(x.conn);
    resumable_.store(x.resumable, std::memory_order_release);
  }

  /// Another socket carries the session now: this one closes, and what its
  /// lobby still sends here goes to the session's CONNECTION.
  void supersede(websocket_session& session) {
    held_.store(true, std::memory_order_release);
    session.shutdown(close_code::normal);
  }

  /// The socket is gone: encodes what arrives as before and passes it to
  /// the session's CONNECTION, which keeps it or hands it to the socket
  /// that took the session over. A relay is accepted here, at once.
  void keep(caf::type_erased_tuple& content) {
    std::string frame;
    if (content.match_elements<relay_handoff>()) {
      auto& x = content.get_mutable_as<relay_handoff>(0);
      frame = encode(x.frame);
      caf::anon_send(x.sender, evt::relay_ok{std::move(x.listener)});
    } else if (auto ev = to_event(content)) {
      if (std::holds_alternative<evt::violation>(*ev))
        return; // the CONNECTION ended the session
      if (auto ack = std::get_if<evt::ack_peer>(&*ev))
        notify(*ack);
      frame = encode(*ev);
    } else {
      return; // reading is moot without a socket
    }
    if (auto c = conn())
      caf::anon_send(c, kept_frame{caf::actor_cast<sink_actor>(
                                     static_cast<caf::abstract_actor*>(this)),
                                   evt::encoded{std::move(frame)}});
  }

  std::weak_ptr<websocket_session> session_;
  /// Guards `conn_`, which a resume rebinds while others read it (a spin
  /// lock: one word per connection, where a mutex takes five).
  caf::detail::shared_spinlock mtx_;
  caf::weak_actor_ptr conn_;
  std::atomic<bool> closed_{false};
  std::atomic<bool> resumable_{false};
  std::atomic<bool> held_{false};
};

} // namespace

// -- session_context ----------------------------------------------------------

std::shared_ptr<const connection_settings>
connection_settings_of(const gateway_config& cfg,
                       std::shared_ptr<connection_census> census) {
  connection_settings result;
  result.init_timeout = cfg.init_timeout;
  result.rates = cfg.rates;
  result.resume = cfg.resume;
  result.census = std::move(census);
  return std::make_shared<const connection_settings>(std::move(result));
}

void session_context::join(websocket_session* s,
                           std::weak_ptr<websocket_session> w) {
  std::lock_guard<std::mutex> guard{mtx};
  sessions.emplace(s, std::move(w));
}

void session_context::leave(websocket_session* s) {
  std::lock_guard<std::mutex> guard{mtx};
  sessions.erase(s);
}

std::vector<std::shared_ptr<websocket_session>>
session_context::open_sessions() const {
  std::vector<std::shared_ptr<websocket_session>> result;
  std::lock_guard<std::mutex> guard{mtx};
  result.reserve(sessions.size());
  for (auto& kvp : sessions)
    if (auto s = kvp.second.lock())
      result.emplace_back(std::move(s));
  return result;
}

// -- websocket_session --------------------------------------------------------

websocket_session::websocket_session(flex_stream&& stream,
                                     std::shared_ptr<session_context> ctx)
  : ws_(std::move(stream)), ctx_(std::move(ctx)) {
  // nop
}

websocket_session::~websocket_session() {
  if (accepted_) {
    if (server_close_ != 0)
      ctx_->metrics->closed(server_close_, false);
    else if (client_close_ != 0)
      ctx_->metrics->closed(client_close_, true);
    else
      ctx_->metrics->ended_without_close();
  }
  release();
  ctx_->leave(this);
}

void websocket_session::run(request req) {
  ws_.next_layer().hold(weak_from_this());
  started_ = std::chrono::steady_clock::now();
  auto target = std::string_view{req.target().data(), req.target().size()};
  if (auto q = target.find('?'); q != std::string_view::npos)
    ugi_ = query_param(target.substr(q + 1), "ugi");
  if (auto i = req.find(http::field::origin); i != req.end())
    origin_.assign(i->value().data(), i->value().size());
  // Beast times the handshake and the close; idleness is the gateway's
  // sweep (`idle_tick`).
  websocket::stream_base::timeout timeouts;
  timeouts.handshake_timeout = std::chrono::seconds{30};
  timeouts.idle_timeout = websocket::stream_base::none();
  timeouts.keep_alive_pings = false;
  ws_.set_option(timeouts);
  ws_.control_callback([this](websocket::frame_type kind, beast::string_view) {
    idle_ticks_ = 0;
    if (kind != websocket::frame_type::close)
      return;
    if (server_close_ == 0 && client_close_ == 0)
      client_close_ = ws_.reason().code;
    // RFC 6455 7.4.2: codes from 5000 are invalid (Beast checks the rest).
    if (ws_.reason().code >= 5000)
      ws_.next_layer().rewrite_next_close(close_code::protocol_error);
  });
  ws_.set_option(
    websocket::stream_base::decorator([](websocket::response_type& res) {
      res.set(http::field::server, "omega");
    }));
  ws_.read_message_max(ctx_->cfg.max_frame);
  ws_.async_accept(req, beast::bind_front_handler(&websocket_session::on_accept,
                                                  shared_from_this()));
}

void websocket_session::on_accept(beast::error_code ec) {
  auto status = ec ? 400u : 101u;
  ctx_->metrics->http("signaling", status);
  if (auto& access = ctx_->cfg.access) {
    std::chrono::duration<double> took = std::chrono::steady_clock::now()
                                         - started_;
    access({client_, "GET", "/api/v0/signaling", status, took.count(), true});
  }
  if (ec)
    return;
  accepted_ = true;
  ctx_->join(this, weak_from_this());
  caf::actor_config sink_cfg;
  sink_ = caf::make_actor<frame_sink, caf::actor>(
    ctx_->sys.next_actor_id(), ctx_->sys.node(), &ctx_->sys, sink_cfg,
    std::weak_ptr<websocket_session>{shared_from_this()});
  connection_config cc;
  cc.ugi = ugi_;
  cc.origin = origin_;
  cc.settings = ctx_->connections;
  beast::error_code ep_err;
  auto ep = beast::get_lowest_layer(ws_).remote_endpoint(ep_err);
  if (!ep_err)
    cc.address = ep.address().to_string() + ":" + std::to_string(ep.port());
  conn_ = ctx_->sys.spawn(connection, caf::actor_cast<sink_actor>(sink_),
                          ctx_->auth, ctx_->dir, std::move(cc));
  static_cast<frame_sink*>(caf::actor_cast<caf::abstract_actor*>(sink_))
    ->bind(caf::actor_cast<caf::actor>(conn_));
  do_read();
}

void websocket_session::do_read() {
  // `async_read` reserves a whole TCP frame's worth (1.5 KiB) in the buffer
  // before any byte arrives, and an idle connection would hold that for as
  // long as it is idle. The first bytes of a message are read on their own
  // into a smaller reservation; the rest of a larger message follows from
  // what Beast has already received: idle connections stay small, at a
  // small cost per large message (docs/benchmarks.md).
  ws_.async_read_some(buffer_, first_read_bytes,
                      beast::bind_front_handler(
                        &websocket_session::on_read_some, shared_from_this()));
}

void websocket_session::on_read_some(beast::error_code ec, std::size_t n) {
  idle_ticks_ = 0;
  if (ec || ws_.is_message_done())
    return on_read(ec, n);
  ws_.async_read(buffer_, beast::bind_front_handler(&websocket_session::on_read,
                                                    shared_from_this()));
}

void websocket_session::on_read(beast::error_code ec, std::size_t) {
  if (ec) {
    // Includes message_too_big: Beast has already sent close code 1009.
    if (ec == websocket::error::message_too_big && server_close_ == 0
        && client_close_ == 0)
      server_close_ = close_code::message_too_big;
    // Gone without a close frame, or "going away": perhaps only the network.
    release(server_close_ == 0
            && (client_close_ == 0 || client_close_ == close_code::going_away));
    return;
  }
  command cmd = binary_frame();
  if (ws_.got_text()) {
    auto data = buffer_.cdata();
    auto frame = std::string_view{static_cast<const char*>(data.data()),
                                  data.size()};
    cmd = decode(frame, ctx_->cfg.limits);
  }
  ctx_->metrics->received(cmd, buffer_.size());
  std::visit(
    [](auto& x) {
      using type = std::decay_t<decltype(x)>;
      if constexpr (
        std::is_same_v<
          type,
          cmd::
            make_offer> || std::is_same_v<type, cmd::make_answer> || std::is_same_v<type, cmd::ice>)
        x.read_at = steady_ns();
    },
    cmd);
  caf::anon_send(conn_, std::move(cmd));
  buffer_.consume(buffer_.size());
  // Keep a buffer of ordinary size for the next frame (no allocation per
  // relay), but give back what one large frame (up to --max-frame-size)
  // left behind, so an idle connection does not hold it.
  if (buffer_.capacity() > small_frame_bytes)
    buffer_.shrink_to_fit();
  if (reads_gated_) {
    parked_ = shared_from_this();
    return;
  }
  do_read();
}

void websocket_session::gate_reads(bool open) {
  net::post(ws_.get_executor(),
            [self = shared_from_this(), open] { self->on_gate(open); });
}

void websocket_session::on_gate(bool open) {
  reads_gated_ = !open;
  if (open && parked_) {
    auto self = std::move(parked_);
    if (!closing_ && !released_)
      do_read();
  }
}

bool websocket_session::deliver(std::string frame, uint16_t close) {
  // Counted here, on the sender's thread, so the sender learns at once; an
  // empty queue takes any frame, whatever the budget.
  auto bytes = frame.size();
  auto before = queued_bytes_.fetch_add(bytes, std::memory_order_relaxed);
  if (overflowed_.load(std::memory_order_relaxed)
      || (before > 0 && before + bytes > ctx_->cfg.max_queued_bytes)) {
    queued_bytes_.fetch_sub(bytes, std::memory_order_relaxed);
    if (!overflowed_.exchange(true))
      net::post(ws_.get_executor(),
                [self = shared_from_this()] { self->on_overflow(); });
    return false;
  }
  net::post(ws_.get_executor(),
            [self = shared_from_this(), frame = std::move(frame),
             close]() mutable { self->on_send(std::move(frame), close); });
  return true;
}

void websocket_session::unqueue(size_t bytes) {
  queued_bytes_.fetch_sub(bytes, std::memory_order_relaxed);
}

void websocket_session::drop_queue() {
  for (auto i = queue_head_; i < queue_.size(); ++i)
    unqueue(queue_[i].size());
  queue_.clear();
  queue_head_ = 0;
}

void websocket_session::penalize() {
  ctx_->penalties.add(key_, ctx_->cfg.cutoff_penalty);
}

void websocket_session::on_overflow() {
  if (closing_)
    return;
  penalize();
  ctx_->report.reject(limit::write_budget, client_,
                      "a client that does not read its frames");
  if (server_close_ == 0 && client_close_ == 0)
    server_close_ = close_code::policy_violation;
  // The connection leaves its lobby now (PEER_GONE or HOST_GONE as usual),
  // not when its client gets round to reading.
  closing_ = true;
  close_after_ = 0;
  release();
  drop_queue();
  if (write_pending_) {
    // A frame is half-written, so no close frame can follow it; the write
    // fails and drops the last reference.
    beast::error_code ignored;
    beast::get_lowest_layer(ws_).close(ignored);
    return;
  }
  ws_.async_close(websocket::close_reason{close_code::policy_violation},
                  beast::bind_front_handler(&websocket_session::on_close,
                                            shared_from_this()));
}

void websocket_session::shutdown(uint16_t code) {
  net::post(ws_.get_executor(),
            [self = shared_from_this(), code] { self->do_close(code); });
}

void websocket_session::idle_tick() {
  net::post(ws_.get_executor(),
            [self = shared_from_this()] { self->on_idle_tick(); });
}

void websocket_session::on_idle_tick() {
  if (closing_ || released_)
    return;
  // Ticks come every quarter of the idle timeout, so the third in a row
  // means half to three quarters of it without a frame, the fifth the whole
  // timeout to a quarter more. A parked session waits for the server, which
  // never takes that long; it is not read, so a ping could not be answered,
  // but it is closed all the same when its time is up (its client may be
  // long gone).
  if (++idle_ticks_ >= 5) {
    // Unresponsive: a close handshake would only wait for it in vain.
    closing_ = true;
    release(true);
    beast::error_code ignored;
    beast::get_lowest_layer(ws_).close(ignored);
    return;
  }
  if (idle_ticks_ >= 3 && !pinging_ && !parked_) {
    pinging_ = true;
    ws_.async_ping({}, [self = shared_from_this()](beast::error_code) {
      self->pinging_ = false;
    });
  }
}

void websocket_session::on_send(std::string frame, uint16_t close) {
  if (closing_ || close_after_ != 0)
    return unqueue(frame.size());
  if (close != 0)
    close_after_ = close;
  if (write_pending_) {
    queue_.emplace_back(std::move(frame));
    return;
  }
  writing_ = std::move(frame);
  do_write();
}

void websocket_session::do_write() {
  write_pending_ = true;
  ws_.text(true);
  ws_.async_write(net::buffer(writing_),
                  beast::bind_front_handler(&websocket_session::on_write,
                                            shared_from_this()));
}

void websocket_session::on_write(beast::error_code ec, std::size_t) {
  write_pending_ = false;
  unqueue(writing_.size());
  if (ec) {
    release(server_close_ == 0 && client_close_ == 0);
    return;
  }
  if (queue_head_ < queue_.size()) {
    writing_ = std::move(queue_[queue_head_++]);
    if (queue_head_ == queue_.size()) {
      queue_.clear();
      queue_head_ = 0;
    } else if (queue_head_ > 64 && 2 * queue_head_ > queue_.size()) {
      // A client that never quite catches up must not grow the vector.
      queue_.erase(queue_.begin(),
                   queue_.begin() + static_cast<ptrdiff_t>(queue_head_));
      queue_head_ = 0;
    }
    return do_write();
  }
  std::string{}.swap(writing_); // idle: keep no frame's memory
  if (close_after_ != 0) {
    auto code = close_after_;
    close_after_ = 0;
    do_close(code);
  }
}

void websocket_session::do_close(uint16_t code) {
  if (closing_)
    return;
  if (write_pending_) {
    // Close once the write in flight completes; drop what waits behind it.
    close_after_ = code;
    drop_queue();
    return;
  }
  closing_ = true;
  release();
  if (server_close_ == 0 && client_close_ == 0)
    server_close_ = code;
  ws_.async_close(websocket::close_reason{code},
                  beast::bind_front_handler(&websocket_session::on_close,
                                            shared_from_this()));
}

void websocket_session::on_close(beast::error_code) {
  // The pending read completes with an error and drops the last reference.
}

void websocket_session::release(bool lost) {
  // Whoever calls this holds the session (a handler's reference, or it is
  // being destroyed and nothing is parked).
  auto self = std::move(parked_);
  if (released_)
    return;
  released_ = true;
  auto sink
    = static_cast<frame_sink*>(caf::actor_cast<caf::abstract_actor*>(sink_));
  // The CONNECTION ends itself, unless it holds a resumable session whose
  // SINK now works without the socket.
  auto held = false;
  if (sink != nullptr) {
    if (lost)
      held = sink->hold();
    else
      sink->close();
  }
  if (conn_)
    caf::anon_send(conn_,
                   socket_closed{caf::actor_cast<sink_actor>(sink_), held});
  conn_ = nullptr;
  sink_ = nullptr;
}

} // namespace omega
