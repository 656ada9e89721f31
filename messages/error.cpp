#include "messages/error.hpp"

namespace omega {

namespace {

struct names {
  const char* enumerator;
  const char* opcode;
};

// Indexed by the enumerator's value; slot 0 is unused.
constexpr names table[] = {
  {"none", "NONE"},
  {"violation", "VIOLATION"},
  {"warning", "WARNING"},
  {"config_required", "CONFIG_REQUIRED"},
  {"already_host", "ALREADY_HOST"},
  {"already_peer", "ALREADY_PEER"},
  {"not_peer", "NOT_PEER"},
  {"not_host", "NOT_HOST"},
  {"session_exists", "SESSION_EXISTS"},
  {"token_invalid", "TOKEN_INVALID"},
  {"token_origin_mismatch", "TOKEN_ORIGIN_MISMATCH"},
  {"token_expired", "TOKEN_EXPIRED"},
  {"peer_invalid", "PEER_INVALID"},
  {"lobby_exists", "LOBBY_EXISTS"},
  {"lobby_notfound", "LOBBY_NOTFOUND"},
  {"lobby_full", "LOBBY_FULL"},
  {"lobby_locked", "LOBBY_LOCKED"},
  {"password_required", "PASSWORD_REQUIRED"},
  {"password_fail", "PASSWORD_FAIL"},
  {"resume_failed", "RESUME_FAILED"},
};

constexpr size_t table_size = sizeof(table) / sizeof(table[0]);

static_assert(table_size == static_cast<size_t>(ec::resume_failed) + 1,
              "every ec value needs a row");

} // namespace

std::string to_string(ec x) {
  auto i = static_cast<size_t>(x);
  return i < table_size ? table[i].enumerator : "unknown";
}

const char* opcode_name(ec x) {
  auto i = static_cast<size_t>(x);
  return i < table_size ? table[i].opcode : "WARNING";
}

} // namespace omega
