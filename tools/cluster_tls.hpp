#pragma once

#include <string>

namespace omega {

/// A cluster node's TLS files (`--cluster-cert`, `--cluster-key`,
/// `--cluster-ca`, `--cluster-key-passphrase-file`).
struct cluster_credentials {
  std::string cert;
  std::string key;
  std::string ca;
  /// The key's passphrase, empty for an unencrypted key.
  std::string passphrase;
};

/// Checks what CAF's OpenSSL module would otherwise find out only at the
/// first connection, where a bad file ends the process from inside the
/// middleman: that the files load, that the key belongs to the certificate,
/// and that the certificate verifies against the CA (chain, validity dates,
/// and both the TLS server and client purposes, since a node is both).
/// On success `common_name` is the certificate's CN; false, with `err` set,
/// otherwise.
bool check_credentials(const cluster_credentials& creds,
                       std::string& common_name, std::string& err);

/// Reads a passphrase file: its first line, without the line break. False,
/// with `err` set, if it cannot be read.
bool read_passphrase(const std::string& path, std::string& out,
                     std::string& err);

} // namespace omega
