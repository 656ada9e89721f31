#include "tests/e2e/tls_probe.hpp"

#include <cerrno>
#include <cstring>
#include <memory>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include <openssl/err.h>
#include <openssl/ssl.h>

#include "transport/openssl_text.hpp"

namespace omega::e2e {

namespace {

using std::chrono::milliseconds;
using std::chrono::steady_clock;

struct fd_closer {
  int fd = -1;
  ~fd_closer() {
    if (fd >= 0)
      ::close(fd);
  }
};

/// A blocking TCP connection to 127.0.0.1:`port` whose reads give up after
/// 100 ms, so a read loop can keep its own deadline.
int connect_loopback(uint16_t port, std::string& err) {
  int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) {
    err = std::string{"socket: "} + std::strerror(errno);
    return -1;
  }
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(port);
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) != 0) {
    err = std::string{"connect: "} + std::strerror(errno);
    ::close(fd);
    return -1;
  }
  timeval tv{0, 100 * 1000};
  ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
  return fd;
}

struct ctx_free {
  void operator()(SSL_CTX* x) const {
    SSL_CTX_free(x);
  }
};

struct ssl_free {
  void operator()(SSL* x) const {
    SSL_free(x);
  }
};

/// Like the cluster's CAF contexts: TLS, the client's certificate if any,
/// and the server checked against `ca` if given.
std::unique_ptr<SSL_CTX, ctx_free>
client_context(const std::string& cert, const std::string& key,
               const std::string& ca, std::string& err) {
  std::unique_ptr<SSL_CTX, ctx_free> ctx{SSL_CTX_new(TLS_client_method())};
  auto ok = ctx != nullptr;
  if (ok && !cert.empty())
    ok = SSL_CTX_use_certificate_chain_file(ctx.get(), cert.c_str()) == 1
         && SSL_CTX_use_PrivateKey_file(ctx.get(), key.c_str(),
                                        SSL_FILETYPE_PEM)
              == 1;
  if (ok && !ca.empty()) {
    ok = SSL_CTX_load_verify_locations(ctx.get(), ca.c_str(), nullptr) == 1;
    SSL_CTX_set_verify(ctx.get(), SSL_VERIFY_PEER, nullptr);
  }
  if (!ok) {
    err = "client context: " + openssl_errors("");
    return nullptr;
  }
  return ctx;
}

/// Whether a failed SSL call only ran into the 100 ms receive timeout (and
/// may be retried).
bool timed_out(SSL* ssl, int ret) {
  auto code = SSL_get_error(ssl, ret);
  return code == SSL_ERROR_WANT_READ
         || (code == SSL_ERROR_SYSCALL
             && (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR));
}

} // namespace

probe_result tls_probe(uint16_t port, const std::string& cert,
                       const std::string& key, const std::string& ca,
                       milliseconds wait) {
  probe_result result;
  auto ctx = client_context(cert, key, ca, result.error);
  if (!ctx)
    return result;
  fd_closer sock{connect_loopback(port, result.error)};
  if (sock.fd < 0)
    return result;
  result.connected = true;
  std::unique_ptr<SSL, ssl_free> ssl{SSL_new(ctx.get())};
  SSL_set_fd(ssl.get(), sock.fd);
  auto deadline = steady_clock::now() + wait;
  ERR_clear_error();
  int ret = 0;
  while ((ret = SSL_connect(ssl.get())) != 1 && steady_clock::now() < deadline
         && timed_out(ssl.get(), ret))
    ERR_clear_error();
  if (ret != 1) {
    result.error = "SSL_connect: " + openssl_errors("");
    return result;
  }
  result.handshake = true;
  char buf[4096];
  while (steady_clock::now() < deadline) {
    ERR_clear_error();
    auto n = SSL_read(ssl.get(), buf, sizeof(buf));
    if (n > 0) {
      result.received.append(buf, static_cast<size_t>(n));
      continue;
    }
    if (timed_out(ssl.get(), n))
      continue;
    result.error = "SSL_read: " + openssl_errors("");
    break;
  }
  return result;
}

probe_result plain_probe(uint16_t port, const std::string& payload,
                         milliseconds wait) {
  probe_result result;
  fd_closer sock{connect_loopback(port, result.error)};
  if (sock.fd < 0)
    return result;
  result.connected = true;
  if (!payload.empty())
    ::send(sock.fd, payload.data(), payload.size(), MSG_NOSIGNAL);
  auto deadline = steady_clock::now() + wait;
  char buf[4096];
  while (steady_clock::now() < deadline) {
    auto n = ::recv(sock.fd, buf, sizeof(buf), 0);
    if (n > 0) {
      result.received.append(buf, static_cast<size_t>(n));
    } else if (n == 0) {
      result.error = "closed by the server";
      break;
    } else if (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR) {
      result.error = std::string{"recv: "} + std::strerror(errno);
      break;
    }
  }
  return result;
}

} // namespace omega::e2e
