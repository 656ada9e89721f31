#pragma once

#include <chrono>
#include <memory>
#include <mutex>
#include <string>

namespace boost::asio::ssl {
class context;
} // namespace boost::asio::ssl

namespace omega {

/// The server's TLS certificate and key (`--tls-cert`, `--tls-key`), loaded
/// into an OpenSSL context that new connections take. `reload` replaces it
/// (SIGHUP): connections keep the context they started with, so none is
/// dropped, and a file that fails to load leaves the old one in place.
class tls_contexts {
public:
  /// Nothing loaded yet: `current` is null until `reload` succeeds.
  tls_contexts(std::string cert_file, std::string key_file);

  /// Loads the files into a new context and makes it the current one. False,
  /// with `error` saying why (OpenSSL's own words), if they do not load or
  /// the key is not the certificate's; the current context is then kept.
  bool reload(std::string& error);

  /// The context for a new connection (thread-safe).
  std::shared_ptr<boost::asio::ssl::context> current() const;

  /// When the loaded certificate (the first of its chain) expires.
  std::chrono::system_clock::time_point not_after() const;

  const std::string& cert_file() const {
    return cert_file_;
  }

private:
  std::string cert_file_;
  std::string key_file_;
  mutable std::mutex mtx_;
  std::shared_ptr<boost::asio::ssl::context> current_;
  std::chrono::system_clock::time_point not_after_;
};

} // namespace omega
