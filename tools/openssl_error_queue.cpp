/// Wraps the four OpenSSL calls that CAF 0.17.6's OpenSSL module (Debian's
/// libcaf_openssl) makes for cluster connections, to clear the calling
/// thread's OpenSSL error queue first.
///
/// Why: OpenSSL's SSL_get_error looks at the thread's error queue before
/// anything else, so a stale entry turns a harmless SSL_ERROR_WANT_READ of
/// one connection into SSL_ERROR_SSL. CAF never clears the queue (its only
/// reader is a log statement that Debian's quiet build compiles away), and
/// all cluster connections share the middleman's thread. Measured before
/// this file: every refused handshake (a client without a certificate or
/// with a foreign one, a plain TCP probe), and even an admitted client that
/// hung up, made the next read of each healthy peer connection fail, and
/// the nodes dropped each other ("node n2 left (remote_link_unreachable)"):
/// a denial of service for anyone who can reach the port. OpenSSL documents
/// that the queue must be empty before an I/O call.
///
/// The executable's definitions win over libssl's for every library in the
/// process (ELF symbol interposition; the linker exports them because
/// libcaf_openssl refers to them), and each forwards to libssl's own
/// function. Clearing the queue first is correct for every caller.

#include <dlfcn.h>

#include <cstdlib>

#include <openssl/err.h>
#include <openssl/ssl.h>

namespace {

/// libssl's own function `name` (the next definition after this one).
template <class Fn>
Fn next_definition(const char* name) {
  auto fn = reinterpret_cast<Fn>(dlsym(RTLD_NEXT, name));
  if (fn == nullptr)
    std::abort(); // libssl is linked; without it nothing here is reachable
  return fn;
}

} // namespace

extern "C" {

int SSL_read(SSL* ssl, void* buf, int num) {
  using fn_t = int (*)(SSL*, void*, int);
  static auto real = next_definition<fn_t>("SSL_read");
  ERR_clear_error();
  return real(ssl, buf, num);
}

int SSL_write(SSL* ssl, const void* buf, int num) {
  using fn_t = int (*)(SSL*, const void*, int);
  static auto real = next_definition<fn_t>("SSL_write");
  ERR_clear_error();
  return real(ssl, buf, num);
}

int SSL_connect(SSL* ssl) {
  using fn_t = int (*)(SSL*);
  static auto real = next_definition<fn_t>("SSL_connect");
  ERR_clear_error();
  return real(ssl);
}

int SSL_accept(SSL* ssl) {
  using fn_t = int (*)(SSL*);
  static auto real = next_definition<fn_t>("SSL_accept");
  ERR_clear_error();
  return real(ssl);
}

} // extern "C"
