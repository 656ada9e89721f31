#pragma once

#include <cstdio>
#include <memory>
#include <string>

/// What the cluster's certificate tools and the TLS tests share around
/// OpenSSL's C API: its error queue as text, and PEM files as `FILE*`.

namespace omega {

/// Drains OpenSSL's queued errors into one line (`a; b`), so an operator sees
/// the cause ("unsupported algorithm", "bad decrypt") and not just "failed";
/// `if_none` when the queue was empty.
std::string openssl_errors(const char* if_none = "no details");

/// Closes a `FILE*` that OpenSSL's PEM functions read or write.
struct file_closer {
  void operator()(FILE* f) const {
    std::fclose(f);
  }
};

using file_ptr = std::unique_ptr<FILE, file_closer>;

} // namespace omega
