#pragma once

#include <string>

namespace omega {

/// An HTTP answer as omega-admin reports it; `status` 0 when the request
/// did not get through (`error` says why).
struct admin_answer {
  unsigned status = 0;
  std::string body;
  std::string error;
};

/// POSTs `path` to the server at `url` (`http://HOST:PORT` or
/// `https://HOST:PORT`) with `Authorization: Bearer <token>`, within 10 s.
/// Over https the server's certificate must verify against `ca_file`, or the
/// system's CAs when it is empty, and name HOST.
admin_answer admin_post(const std::string& url, const std::string& path,
                        const std::string& token, const std::string& ca_file);

} // namespace omega
