/// plain-relay: the benchmark's baseline server. It moves the same frames as
/// omega's relay hot path with nothing but Boost.Beast: no actors, no JSON,
/// no authentication. Whatever omega costs beyond this is the price of its
/// actors and its protocol, so the ratio omega/plain-relay shows how close
/// omega comes to the plumbing limit on the same machine.
///
/// Protocol: a client connects to `/?id=<ID>`. A text frame
/// "<dst-id> <payload>" is forwarded to the session registered as dst-id as
/// "<src-id> <payload>", and the sender gets "ok" (one delivery plus one ack
/// per relay, the frame count of omega's MAKE_OFFER/RELAY_OK). An unknown
/// destination gets "err <dst-id>".

#include <array>
#include <csignal>
#include <cstdint>
#include <cstdlib>
#include <deque>
#include <functional>
#include <iostream>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <thread>
#include <unordered_map>
#include <vector>

#ifdef OMEGA_MIMALLOC
#  include <mimalloc.h>
#endif

#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/signal_set.hpp>
#include <boost/asio/strand.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/websocket.hpp>

#include "tools/command_line.hpp"
#include "transport/corked_stream.hpp"

namespace {

namespace beast = boost::beast;
namespace http = beast::http;
namespace websocket = beast::websocket;
namespace net = boost::asio;
using tcp = net::ip::tcp;
using error_code = boost::system::error_code;

/// The same plumbing as omega's gateway (transport/websocket_session.hpp):
/// each connection on a strand of its own, held as a concrete executor type.
using strand_executor = net::strand<net::io_context::executor_type>;
using connection_socket = net::basic_stream_socket<tcp, strand_executor>;

/// Frames queued for one client before it counts as a slow consumer and is
/// closed; the same bound as omega's write queue.
constexpr size_t max_queued_frames = 1024;

/// Largest frame accepted, as omega's default.
constexpr size_t max_frame = 64 * 1024;

class session;

/// The id -> session map, split into shards so that sessions relaying on
/// different threads rarely wait for the same mutex.
class registry {
public:
  /// Registers `s` as `id`; false if the id is taken.
  bool add(const std::string& id, const std::shared_ptr<session>& s) {
    auto& sh = shard_for(id);
    std::lock_guard<std::mutex> guard{sh.mtx};
    return sh.map.emplace(id, s).second;
  }

  /// Removes `id` if it still refers to `s`.
  void remove(const std::string& id, const session* s) {
    auto& sh = shard_for(id);
    std::lock_guard<std::mutex> guard{sh.mtx};
    auto i = sh.map.find(id);
    if (i != sh.map.end() && i->second.get() == s)
      sh.map.erase(i);
  }

  std::shared_ptr<session> find(std::string_view id) {
    auto& sh = shard_for(id);
    std::lock_guard<std::mutex> guard{sh.mtx};
    auto i = sh.map.find(std::string{id});
    return i != sh.map.end() ? i->second : nullptr;
  }

private:
  static constexpr size_t shard_count = 16;

  struct shard {
    std::mutex mtx;
    std::unordered_map<std::string, std::shared_ptr<session>> map;
  };

  shard& shard_for(std::string_view id) {
    return shards_[std::hash<std::string_view>{}(id) % shard_count];
  }

  std::array<shard, shard_count> shards_;
};

/// Returns the value of `key` in the query string of `target`, or "".
std::string query_param(std::string_view target, std::string_view key) {
  auto q = target.find('?');
  if (q == std::string_view::npos)
    return {};
  auto rest = target.substr(q + 1);
  while (!rest.empty()) {
    auto amp = rest.find('&');
    auto pair = rest.substr(0, amp);
    auto eq = pair.find('=');
    if (eq != std::string_view::npos && pair.substr(0, eq) == key)
      return std::string{pair.substr(eq + 1)};
    if (amp == std::string_view::npos)
      break;
    rest = rest.substr(amp + 1);
  }
  return {};
}

/// One client: its own strand (from the accepted socket), a read loop and a
/// single-writer queue. Other sessions reach it only by posting to its
/// strand.
class session : public std::enable_shared_from_this<session> {
public:
  session(connection_socket&& socket, registry& reg)
    : ws_(std::move(socket)), reg_(reg) {
    // nop
  }

  void start() {
    ws_.next_layer().hold(weak_from_this());
    http::async_read(ws_.next_layer(), buf_, req_,
                     beast::bind_front_handler(&session::on_request,
                                               shared_from_this()));
  }

  /// Queues a frame from any thread.
  void deliver(std::string frame) {
    net::post(ws_.get_executor(),
              [self = shared_from_this(), f = std::move(frame)]() mutable {
                self->enqueue(std::move(f));
              });
  }

private:
  void on_request(error_code ec, size_t) {
    if (ec || !websocket::is_upgrade(req_))
      return;
    auto target = req_.target();
    id_ = query_param({target.data(), target.size()}, "id");
    // Registered before the upgrade answer goes out: once a client sees its
    // 101, frames addressed to it find it.
    if (id_.empty() || !reg_.add(id_, shared_from_this()))
      return;
    registered_ = true;
    ws_.set_option(
      websocket::stream_base::timeout::suggested(beast::role_type::server));
    ws_.read_message_max(max_frame);
    ws_.auto_fragment(false);
    ws_.async_accept(req_, beast::bind_front_handler(&session::on_accept,
                                                     shared_from_this()));
  }

  void on_accept(error_code ec) {
    if (ec)
      return stop();
    ws_.text(true);
    do_read();
  }

  void do_read() {
    ws_.async_read(buf_, beast::bind_front_handler(&session::on_read,
                                                   shared_from_this()));
  }

  void on_read(error_code ec, size_t) {
    if (ec)
      return stop();
    auto data = buf_.cdata();
    std::string_view frame{static_cast<const char*>(data.data()), data.size()};
    auto space = frame.find(' ');
    if (space == std::string_view::npos) {
      enqueue("err malformed");
    } else {
      auto dst = frame.substr(0, space);
      if (auto peer = reg_.find(dst)) {
        std::string out;
        out.reserve(id_.size() + frame.size() - space);
        out += id_;
        out += frame.substr(space);
        peer->deliver(std::move(out));
        enqueue("ok");
      } else {
        enqueue("err " + std::string{dst});
      }
    }
    buf_.consume(buf_.size());
    do_read();
  }

  void enqueue(std::string frame) {
    if (stopped_)
      return;
    if (queue_.size() >= max_queued_frames) {
      // A client that does not read is cut off, not buffered.
      stop();
      error_code ignored;
      beast::get_lowest_layer(ws_).close(ignored);
      return;
    }
    queue_.push_back(std::move(frame));
    if (queue_.size() == 1)
      do_write();
  }

  void do_write() {
    ws_.async_write(net::buffer(queue_.front()),
                    beast::bind_front_handler(&session::on_write,
                                              shared_from_this()));
  }

  void on_write(error_code ec, size_t) {
    if (ec)
      return stop();
    queue_.pop_front();
    if (!queue_.empty())
      do_write();
  }

  /// Leaves the registry at once, so that nobody relays to a dead session;
  /// the object itself goes when its last operation completes.
  void stop() {
    if (stopped_)
      return;
    stopped_ = true;
    if (registered_) {
      reg_.remove(id_, this);
      registered_ = false;
    }
  }

  websocket::stream<omega::corked_stream<connection_socket>> ws_;
  registry& reg_;
  beast::flat_buffer buf_;
  http::request<http::string_body> req_;
  std::deque<std::string> queue_;
  std::string id_;
  bool registered_ = false;
  bool stopped_ = false;
};

/// Accepts connections, each onto its own strand.
class listener {
public:
  listener(net::io_context& ioc, tcp::acceptor& acceptor, registry& reg)
    : ioc_(ioc), acceptor_(acceptor), reg_(reg) {
    // nop
  }

  void accept() {
    acceptor_.async_accept(
      net::make_strand(ioc_), [this](error_code ec, connection_socket socket) {
        if (ec == net::error::operation_aborted)
          return;
        if (!ec) {
          socket.set_option(tcp::no_delay{true}, ec);
          std::make_shared<session>(std::move(socket), reg_)->start();
        }
        accept();
      });
  }

private:
  net::io_context& ioc_;
  tcp::acceptor& acceptor_;
  registry& reg_;
};

bool split_listen(const std::string& x, std::string& host, uint16_t& port) {
  auto colon = x.rfind(':');
  if (colon == std::string::npos || colon == 0)
    return false;
  host = x.substr(0, colon);
  if (host.size() > 2 && host.front() == '[' && host.back() == ']')
    host = host.substr(1, host.size() - 2);
  char* end = nullptr;
  auto p = std::strtoul(x.c_str() + colon + 1, &end, 10);
  if (end == x.c_str() + colon + 1 || *end != '\0' || p > 65535)
    return false;
  port = static_cast<uint16_t>(p);
  return true;
}

constexpr const char* usage = "usage: plain-relay [--listen ADDR:PORT] "
                              "[--threads N]\n"
                              "  --listen   default 127.0.0.1:0 (port 0: the "
                              "kernel picks one; printed on stderr)\n"
                              "  --threads  I/O threads (default 1)\n";

/// The command line of plain-relay.
struct relay_options {
  std::string listen = "127.0.0.1:0";
  size_t threads = 1;
};

int bad_argument(const std::string& arg) {
  std::cerr << "plain-relay: bad argument " << arg << "\n" << usage;
  return 2;
}

/// Reads the command line into `out`, an option at a time in their order:
/// `--help` ends it, a repeated option wins over an earlier one, and the
/// first bad argument is the error. Only `--name value` is accepted (not
/// `--name=value`). Returns the exit code if the process ends here.
std::optional<int> parse_options(int argc, char** argv, relay_options& out) {
  namespace po = boost::program_options;
  namespace cmdl = omega::command_line;
  po::options_description opts;
  opts.add_options()("help", "");
  opts.add_options()("listen", po::value<std::string>(), "");
  opts.add_options()("threads", po::value<std::string>(), "");
  std::vector<po::option> parsed;
  try {
    parsed = cmdl::parser(argc, argv, opts, false)
               .allow_unregistered()
               .run()
               .options;
  } catch (const po::error_with_option_name& e) {
    return bad_argument(e.get_option_name());
  }
  for (auto& opt : parsed) {
    if (opt.string_key == "help") {
      std::cout << usage;
      return 0;
    }
    // Unknown options, stray words and `--name=value`.
    if (opt.unregistered || opt.position_key != -1
        || opt.original_tokens.front() != "--" + opt.string_key)
      return bad_argument(opt.original_tokens.front());
    if (opt.string_key == "listen") {
      out.listen = opt.value.front();
      continue;
    }
    out.threads = std::strtoul(opt.value.front().c_str(), nullptr, 10);
    if (out.threads == 0 || out.threads > 64) {
      std::cerr << "plain-relay: --threads needs 1..64\n";
      return 2;
    }
  }
  return std::nullopt;
}

} // namespace

int main(int argc, char** argv) {
  relay_options opts;
  if (auto code = parse_options(argc, argv, opts))
    return *code;
  auto& listen = opts.listen;
  auto threads = opts.threads;
  std::string host;
  uint16_t port = 0;
  if (!split_listen(listen, host, port)) {
    std::cerr << "plain-relay: --listen needs ADDR:PORT, got " << listen
              << "\n";
    return 2;
  }
  net::io_context ioc{static_cast<int>(threads)};
  error_code ec;
  auto addr = net::ip::make_address(host, ec);
  if (ec) {
    std::cerr << "plain-relay: bad address " << host << "\n";
    return 2;
  }
  tcp::acceptor acceptor{ioc};
  tcp::endpoint ep{addr, port};
  acceptor.open(ep.protocol(), ec);
  if (!ec)
    acceptor.set_option(net::socket_base::reuse_address(true), ec);
  if (!ec)
    acceptor.bind(ep, ec);
  if (!ec)
    acceptor.listen(net::socket_base::max_listen_connections, ec);
  if (ec) {
    std::cerr << "plain-relay: cannot listen on " << listen << ": "
              << ec.message() << "\n";
    return 1;
  }
  auto bound = acceptor.local_endpoint();
  std::cerr << "plain-relay: listening on "
            << (addr.is_v6() ? "[" + host + "]" : host) << ":" << bound.port()
            << std::endl;
#ifdef OMEGA_MIMALLOC
  // omega-server's allocator, so that this stays the limit of its plumbing;
  // the call keeps the linker (with --as-needed) from dropping the library.
  static_cast<void>(mi_version());
#endif
  registry reg;
  listener lst{ioc, acceptor, reg};
  lst.accept();
  net::signal_set signals{ioc, SIGINT, SIGTERM};
  signals.async_wait([&](error_code, int) {
    acceptor.close();
    ioc.stop();
  });
  std::vector<std::thread> pool;
  for (size_t i = 1; i < threads; ++i)
    pool.emplace_back([&] { ioc.run(); });
  ioc.run();
  for (auto& t : pool)
    t.join();
  return 0;
}
