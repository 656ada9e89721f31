#pragma once

#include <chrono>
#include <functional>
#include <string>
#include <string_view>
#include <vector>

#include "messages/internal.hpp"

/// The account API of PROTOCOL.md section 4 as pure functions: a request in,
/// a response out. The gateway runs `handle_api` on a worker thread because
/// argon2id is deliberately slow; nothing here touches sockets.

namespace omega {

class account_store;

struct api_request {
  std::string method;
  /// Path without the query string.
  std::string path;
  std::string body;
  /// The request's `Origin` header; empty when absent.
  std::string origin;
  /// The request's `Accept` header; empty when absent.
  std::string accept;
};

struct api_response {
  unsigned status = 200;
  std::string content_type = "application/json";
  std::string body;
};

struct api_options {
  std::chrono::seconds token_lifetime = std::chrono::hours{24};
  /// In a cluster: imports what the other nodes have for `query` into the
  /// local store (blocking): the account of a failed login, the token or
  /// game of a cloud-save request this node does not know yet, and the
  /// other nodes' version of a slot before it is loaded (the latest wins).
  std::function<void(const replica_query& query)> pull;
};

/// Limits of the cloud saves (`POST /api/v0/save`), as the original server
/// had them.
constexpr int32_t max_save_slot = 10;
constexpr size_t max_save_length = 10000;

/// Maps `/api/v0/X` and `/api/X` to `X`; empty for any other path.
std::string_view api_route(std::string_view path);

/// The `email` member of a JSON request body; empty if there is none. (The
/// gateway reads it before the request queues, for the per-account limits.)
std::string request_email(std::string_view body);

/// Returns true for the paths `handle_api` serves.
bool is_api_path(std::string_view path);

/// Returns true for the signaling WebSocket paths.
bool is_signaling_path(std::string_view path);

/// Serves `POST /api/v0/register`, `login`, `save` and `load` (and their
/// `/api/...` aliases). Blocking: hashes passwords and queries `store`.
api_response handle_api(const api_request& req, account_store& store,
                        const api_options& opts);

/// Returns true if `origin` may use the API (an empty list allows any).
bool origin_allowed(std::string_view origin,
                    const std::vector<std::string>& allowed);

/// Extracts the `ugi` parameter from a query string (`a=b&ugi=X`), percent-
/// decoded; empty when absent.
std::string query_param(std::string_view query, std::string_view key);

} // namespace omega
