#include "actors/turn.hpp"

#include <openssl/evp.h>
#include <openssl/hmac.h>

namespace omega {

std::string turn_credential(std::string_view secret,
                            std::string_view username) {
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  HMAC(EVP_sha1(), secret.data(), static_cast<int>(secret.size()),
       reinterpret_cast<const unsigned char*>(username.data()), username.size(),
       digest, &len);
  // 4 output characters per 3 input bytes, plus the terminator.
  std::string result(4 * ((len + 2) / 3) + 1, '\0');
  auto written = EVP_EncodeBlock(reinterpret_cast<unsigned char*>(&result[0]),
                                 digest, static_cast<int>(len));
  result.resize(static_cast<size_t>(written));
  return result;
}

evt::turn_credentials turn_grant(const turn_settings& cfg,
                                 const std::string& account,
                                 wall_clock::time_point now) {
  evt::turn_credentials result;
  if (!cfg.enabled())
    return result;
  auto expiry = std::chrono::duration_cast<std::chrono::seconds>(
                  now.time_since_epoch() + cfg.ttl)
                  .count();
  auto username = std::to_string(expiry) + ":" + account;
  auto credential = turn_credential(cfg.secrets.front(), username);
  result.servers.push_back(
    evt::ice_server{cfg.urls, std::move(username), std::move(credential)});
  return result;
}

} // namespace omega
