#include "storage/auth_store.hpp"

#include <array>
#include <mutex>
#include <stdexcept>

#include <sodium.h>

namespace omega {

namespace {

void init_sodium() {
  static std::once_flag flag;
  std::call_once(flag, [] {
    if (sodium_init() < 0)
      throw std::runtime_error("libsodium failed to initialize");
  });
}

} // namespace

auth_store::~auth_store() {
  // nop
}

int64_t to_unix_ms(wall_clock::time_point x) {
  using std::chrono::duration_cast;
  using std::chrono::milliseconds;
  return duration_cast<milliseconds>(x.time_since_epoch()).count();
}

wall_clock::time_point from_unix_ms(int64_t x) {
  using std::chrono::duration_cast;
  using std::chrono::milliseconds;
  return wall_clock::time_point{
    duration_cast<wall_clock::duration>(milliseconds{x})};
}

std::string make_token() {
  init_sodium();
  std::array<unsigned char, 32> bytes;
  randombytes_buf(bytes.data(), bytes.size());
  std::string result;
  result.resize(sodium_base64_ENCODED_LEN(
    bytes.size(), sodium_base64_VARIANT_URLSAFE_NO_PADDING));
  sodium_bin2base64(result.data(), result.size(), bytes.data(), bytes.size(),
                    sodium_base64_VARIANT_URLSAFE_NO_PADDING);
  result.pop_back(); // the terminating NUL
  return result;
}

std::string token_digest(std::string_view token) {
  init_sodium();
  std::array<unsigned char, 32> digest;
  crypto_generichash(digest.data(), digest.size(),
                     reinterpret_cast<const unsigned char*>(token.data()),
                     token.size(), nullptr, 0);
  std::string result(digest.size() * 2 + 1, '\0');
  sodium_bin2hex(result.data(), result.size(), digest.data(), digest.size());
  result.pop_back();
  return result;
}

std::string make_ulid(wall_clock::time_point now) {
  init_sodium();
  static constexpr char alphabet[] = "0123456789ABCDEFGHJKMNPQRSTVWXYZ";
  auto ms = static_cast<uint64_t>(
    std::chrono::duration_cast<std::chrono::milliseconds>(
      now.time_since_epoch())
      .count());
  std::string result(26, '0');
  // 48-bit timestamp in the first 10 characters.
  for (int i = 9; i >= 0; --i) {
    result[i] = alphabet[ms & 31];
    ms >>= 5;
  }
  // 80 random bits in the last 16 characters.
  std::array<unsigned char, 16> rnd;
  randombytes_buf(rnd.data(), rnd.size());
  for (size_t i = 0; i < 16; ++i)
    result[10 + i] = alphabet[rnd[i] & 31];
  return result;
}

} // namespace omega
