#pragma once

#include <string>
#include <vector>

namespace omega::e2e {

/// A temporary folder with a cluster CA that `omega-admin cluster init-ca`
/// made, for certificates that `omega-admin cluster issue-cert` signs: the
/// tests use the operator's own tools, so they cover them too. The
/// destructor deletes the folder.
class cert_dir {
public:
  cert_dir();

  cert_dir(const cert_dir&) = delete;

  cert_dir& operator=(const cert_dir&) = delete;

  ~cert_dir();

  /// False if the folder or the CA could not be made (see `error`).
  bool ok() const {
    return error_.empty();
  }

  const std::string& error() const {
    return error_;
  }

  const std::string& path() const {
    return path_;
  }

  std::string ca() const {
    return path_ + "/ca.pem";
  }

  /// The CA's own certificate and key: a self-signed certificate that no
  /// other CA vouches for.
  std::string ca_key() const {
    return path_ + "/ca.key";
  }

  std::string cert(const std::string& node) const {
    return path_ + "/" + node + ".pem";
  }

  std::string key(const std::string& node) const {
    return path_ + "/" + node + ".key";
  }

  /// Issues a certificate for `node` and returns the server flags that
  /// omega-admin printed for it (empty on failure, see `error`).
  std::vector<std::string> issue(const std::string& node);

private:
  std::string path_;
  std::string error_;
};

} // namespace omega::e2e
