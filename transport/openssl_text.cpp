#include "transport/openssl_text.hpp"

#include <openssl/err.h>

namespace omega {

std::string openssl_errors(const char* if_none) {
  std::string result;
  while (auto code = ERR_get_error()) {
    char buf[256];
    ERR_error_string_n(code, buf, sizeof(buf));
    if (!result.empty())
      result += "; ";
    result += buf;
  }
  return result.empty() ? if_none : result;
}

} // namespace omega
