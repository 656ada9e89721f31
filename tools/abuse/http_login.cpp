#include "tools/abuse/http_login.hpp"

#include <chrono>
#include <memory>

#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/http/read.hpp>
#include <boost/beast/http/string_body.hpp>
#include <boost/beast/http/write.hpp>

namespace omega::abuse {

namespace beast = boost::beast;
namespace http = beast::http;

namespace {

/// One request and its response; owns itself through its handlers.
struct login_op : std::enable_shared_from_this<login_op> {
  login_op(net::io_context& ioc, std::function<void(login_result)> done)
    : stream(ioc), done(std::move(done)), started(now_s()) {
    // nop
  }

  void start(const setup& s, const net::ip::address& source,
             const std::string& email, const std::string& password) {
    req.method(http::verb::post);
    req.target("/api/v0/login");
    req.version(11);
    req.set(http::field::host, s.host_header);
    req.set(http::field::content_type, "application/json");
    req.keep_alive(false);
    req.body() = "{\"email\":" + quoted(email)
                 + ",\"password\":" + quoted(password) + "}";
    req.prepare_payload();
    beast::error_code ec;
    stream.socket().open(s.server.protocol(), ec);
    if (!ec && !source.is_unspecified())
      stream.socket().bind(tcp::endpoint{source, 0}, ec);
    if (ec)
      return finish(0);
    stream.expires_after(std::chrono::seconds{30});
    stream.async_connect(
      s.server, [self = shared_from_this()](beast::error_code ec) {
        if (ec)
          return self->finish(0);
        http::async_write(self->stream, self->req,
                          [self](beast::error_code ec, std::size_t) {
                            if (ec)
                              return self->finish(0);
                            self->read();
                          });
      });
  }

  void read() {
    http::async_read(stream, buffer, res,
                     [self = shared_from_this()](beast::error_code ec,
                                                 std::size_t) {
                       self->finish(ec ? 0 : self->res.result_int());
                     });
  }

  void finish(unsigned status) {
    beast::error_code ignored;
    stream.socket().close(ignored);
    if (done)
      std::exchange(done, nullptr)(login_result{status, now_s() - started});
  }

  beast::tcp_stream stream;
  beast::flat_buffer buffer;
  http::request<http::string_body> req;
  http::response<http::string_body> res;
  std::function<void(login_result)> done;
  double started;
};

} // namespace

void login_once(net::io_context& ioc, const setup& s,
                const net::ip::address& source, const std::string& email,
                const std::string& password,
                std::function<void(login_result)> done) {
  std::make_shared<login_op>(ioc, std::move(done))
    ->start(s, source, email, password);
}

} // namespace omega::abuse
