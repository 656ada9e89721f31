#include "tools/admin_http.hpp"

#include <chrono>
#include <optional>

#include <boost/asio/connect.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/ssl.hpp>

namespace beast = boost::beast;
namespace http = beast::http;
namespace net = boost::asio;
namespace ssl = net::ssl;
using tcp = net::ip::tcp;

namespace omega {

namespace {

struct target {
  bool tls = false;
  std::string host;
  std::string port;
};

std::optional<target> parse_url(const std::string& url) {
  target t;
  std::string rest;
  if (url.rfind("https://", 0) == 0) {
    t.tls = true;
    rest = url.substr(8);
  } else if (url.rfind("http://", 0) == 0) {
    rest = url.substr(7);
  } else {
    return std::nullopt;
  }
  rest = rest.substr(0, rest.find('/'));
  auto colon = rest.rfind(':');
  if (colon != std::string::npos
      && rest.find(']', colon) == std::string::npos) {
    t.host = rest.substr(0, colon);
    t.port = rest.substr(colon + 1);
  } else {
    t.host = rest;
    t.port = t.tls ? "443" : "80";
  }
  if (t.host.size() > 2 && t.host.front() == '[')
    t.host = t.host.substr(1, t.host.size() - 2);
  if (t.host.empty() || t.port.empty())
    return std::nullopt;
  return t;
}

/// Sends `req` on `stream` (plain or TLS, connected) and reads the answer
/// into `res`; the caller runs the io_context for a bounded time.
template <class Stream>
void exchange(Stream& stream, http::request<http::string_body>& req,
              beast::flat_buffer& buf, http::response<http::string_body>& res,
              beast::error_code& ec) {
  http::async_write(stream, req, [&](beast::error_code e, std::size_t) {
    if (e) {
      ec = e;
      return;
    }
    http::async_read(stream, buf, res,
                     [&](beast::error_code e, std::size_t) { ec = e; });
  });
}

} // namespace

admin_answer admin_post(const std::string& url, const std::string& path,
                        const std::string& token, const std::string& ca_file) {
  admin_answer answer;
  auto t = parse_url(url);
  if (!t) {
    answer.error = "the server URL must be http://HOST:PORT or "
                   "https://HOST:PORT, got "
                   + url;
    return answer;
  }
  net::io_context ioc;
  ssl::context ctx{ssl::context::tls_client};
  beast::error_code ec = net::error::timed_out;
  tcp::resolver resolver{ioc};
  auto endpoints = resolver.resolve(t->host, t->port, ec);
  if (ec) {
    answer.error = "cannot resolve " + t->host + ": " + ec.message();
    return answer;
  }
  http::request<http::string_body> req{http::verb::post, path, 11};
  req.set(http::field::host, t->host);
  req.set(http::field::authorization, "Bearer " + token);
  req.set(http::field::user_agent, "omega-admin");
  req.prepare_payload();
  beast::flat_buffer buf;
  http::response<http::string_body> res;
  beast::ssl_stream<beast::tcp_stream> tls{ioc, ctx};
  beast::tcp_stream plain{ioc};
  ec = net::error::timed_out;
  if (t->tls) {
    tls.set_verify_mode(ssl::verify_peer);
    if (ca_file.empty())
      ctx.set_default_verify_paths();
    else
      ctx.load_verify_file(ca_file, ec);
    if (ec && ec != net::error::timed_out) {
      answer.error = "cannot read " + ca_file + ": " + ec.message();
      return answer;
    }
    ec = net::error::timed_out;
    tls.set_verify_callback(ssl::host_name_verification{t->host});
    SSL_set_tlsext_host_name(tls.native_handle(), t->host.c_str());
    beast::get_lowest_layer(tls).async_connect(
      endpoints, [&](beast::error_code e, const tcp::endpoint&) {
        if (e) {
          ec = e;
          return;
        }
        tls.async_handshake(ssl::stream_base::client, [&](beast::error_code e) {
          if (e) {
            ec = e;
            return;
          }
          exchange(tls, req, buf, res, ec);
        });
      });
  } else {
    plain.async_connect(endpoints,
                        [&](beast::error_code e, const tcp::endpoint&) {
                          if (e) {
                            ec = e;
                            return;
                          }
                          exchange(plain, req, buf, res, ec);
                        });
  }
  ioc.run_for(std::chrono::seconds{10});
  if (ec) {
    answer.error = url + ": " + ec.message();
    return answer;
  }
  answer.status = res.result_int();
  answer.body = res.body();
  return answer;
}

} // namespace omega
