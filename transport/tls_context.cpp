#include "transport/tls_context.hpp"

#include <ctime>

#include <boost/asio/ssl/context.hpp>
#include <openssl/ssl.h>
#include <openssl/x509.h>

#include "transport/openssl_text.hpp"

namespace ssl = boost::asio::ssl;

namespace omega {

namespace {

/// TLS 1.2's ciphers: forward-secret AEAD only (Mozilla's "intermediate"
/// list, which every browser of the last years speaks). TLS 1.3 keeps
/// OpenSSL's defaults, all of which are such.
constexpr const char* tls12_ciphers
  = "ECDHE-ECDSA-AES128-GCM-SHA256:ECDHE-RSA-AES128-GCM-SHA256:"
    "ECDHE-ECDSA-AES256-GCM-SHA384:ECDHE-RSA-AES256-GCM-SHA384:"
    "ECDHE-ECDSA-CHACHA20-POLY1305:ECDHE-RSA-CHACHA20-POLY1305:"
    "DHE-RSA-AES128-GCM-SHA256:DHE-RSA-AES256-GCM-SHA384:"
    "DHE-RSA-CHACHA20-POLY1305";

/// When `cert` expires.
std::chrono::system_clock::time_point expiry_of(X509* cert) {
  std::tm tm{};
  if (cert == nullptr || ASN1_TIME_to_tm(X509_get0_notAfter(cert), &tm) != 1)
    return {};
  return std::chrono::system_clock::from_time_t(timegm(&tm));
}

/// A server context with the files loaded; null with `error` set if they do
/// not load.
std::shared_ptr<ssl::context> load(const std::string& cert_file,
                                   const std::string& key_file,
                                   std::string& error) {
  auto ctx = std::make_shared<ssl::context>(ssl::context::tls_server);
  auto* native = ctx->native_handle();
  ERR_clear_error();
  SSL_CTX_set_min_proto_version(native, TLS1_2_VERSION);
  SSL_CTX_set_options(native, SSL_OP_NO_COMPRESSION | SSL_OP_NO_RENEGOTIATION
                                | SSL_OP_SINGLE_DH_USE);
  // An idle connection gives its 16 KiB read and write buffers back: most
  // signaling connections are idle most of the time.
  SSL_CTX_set_mode(native, SSL_MODE_RELEASE_BUFFERS);
  SSL_CTX_set_dh_auto(native, 1);
  if (SSL_CTX_set_cipher_list(native, tls12_ciphers) != 1) {
    error = "TLS ciphers: " + openssl_errors();
    return nullptr;
  }
  if (SSL_CTX_use_certificate_chain_file(native, cert_file.c_str()) != 1) {
    error = "cannot load the certificate " + cert_file + ": "
            + openssl_errors();
    return nullptr;
  }
  if (SSL_CTX_use_PrivateKey_file(native, key_file.c_str(), SSL_FILETYPE_PEM)
      != 1) {
    error = "cannot load the key " + key_file + ": " + openssl_errors();
    return nullptr;
  }
  if (SSL_CTX_check_private_key(native) != 1) {
    error = "the key " + key_file + " does not belong to the certificate "
            + cert_file + ": " + openssl_errors();
    return nullptr;
  }
  return ctx;
}

} // namespace

tls_contexts::tls_contexts(std::string cert_file, std::string key_file)
  : cert_file_(std::move(cert_file)), key_file_(std::move(key_file)) {
  // nop
}

bool tls_contexts::reload(std::string& error) {
  auto ctx = load(cert_file_, key_file_, error);
  if (!ctx)
    return false;
  auto expiry = expiry_of(SSL_CTX_get0_certificate(ctx->native_handle()));
  std::lock_guard<std::mutex> guard{mtx_};
  current_ = std::move(ctx);
  not_after_ = expiry;
  return true;
}

std::shared_ptr<ssl::context> tls_contexts::current() const {
  std::lock_guard<std::mutex> guard{mtx_};
  return current_;
}

std::chrono::system_clock::time_point tls_contexts::not_after() const {
  std::lock_guard<std::mutex> guard{mtx_};
  return not_after_;
}

} // namespace omega
