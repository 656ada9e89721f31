#pragma once

#include <chrono>
#include <cstdint>
#include <string>

namespace omega::e2e {

/// What a raw client got from a cluster port.
struct probe_result {
  /// The TCP connection was made.
  bool connected = false;
  /// SSL_connect succeeded on the client's side. Under TLS 1.3 this happens
  /// before the server has checked the client's certificate, so it proves
  /// nothing about being admitted; `received` does.
  bool handshake = false;
  /// Every byte of application data (or, for a plain probe, every byte)
  /// received until the server closed or the wait ended.
  std::string received;
  /// OpenSSL's or the socket's complaint, for failure messages.
  std::string error;
};

/// Connects to 127.0.0.1:`port` with TLS, the way a cluster node does,
/// presenting `cert` and `key` if not empty and checking the server against
/// `ca` if not empty, then reads for `wait`. An admitted node receives the
/// BASP server handshake at once.
probe_result tls_probe(uint16_t port, const std::string& cert,
                       const std::string& key, const std::string& ca,
                       std::chrono::milliseconds wait);

/// Connects to 127.0.0.1:`port` over plain TCP, sends `payload` and reads
/// for `wait`: a plain BASP peer gets the server handshake at once.
probe_result plain_probe(uint16_t port, const std::string& payload,
                         std::chrono::milliseconds wait);

} // namespace omega::e2e
