#include "transport/http_api.hpp"

#include <boost/json.hpp>

#include "storage/sqlite_store.hpp"

namespace omega {

namespace {

api_response json_error(unsigned status, std::string_view message) {
  boost::json::object obj;
  obj["error"] = message;
  return {status, "application/json", boost::json::serialize(obj)};
}

/// Reads the string members `keys` of a JSON object body; false if the body
/// is not an object or a member is missing or not a string.
bool read_fields(std::string_view body, std::initializer_list<const char*> keys,
                 std::vector<std::string>& out) {
  boost::json::error_code ec;
  auto jv = boost::json::parse(body, ec);
  if (ec || !jv.is_object())
    return false;
  auto& obj = jv.get_object();
  for (auto key : keys) {
    auto i = obj.find(key);
    if (i == obj.end() || !i->value().is_string())
      return false;
    auto& str = i->value().get_string();
    out.emplace_back(str.data(), str.size());
  }
  return true;
}

bool strip_prefix(std::string_view& path, std::string_view prefix) {
  if (path.substr(0, prefix.size()) != prefix)
    return false;
  path.remove_prefix(prefix.size());
  return true;
}

/// Maps `/api/v0/X` and `/api/X` to `X`.
std::string_view api_route(std::string_view path) {
  if (strip_prefix(path, "/api/v0/") || strip_prefix(path, "/api/"))
    return path;
  return {};
}

int hex_value(char c) {
  if (c >= '0' && c <= '9')
    return c - '0';
  if (c >= 'a' && c <= 'f')
    return c - 'a' + 10;
  if (c >= 'A' && c <= 'F')
    return c - 'A' + 10;
  return -1;
}

} // namespace

bool is_api_path(std::string_view path) {
  auto route = api_route(path);
  return route == "register" || route == "login";
}

bool is_signaling_path(std::string_view path) {
  return path == "/api/v0/signaling" || path == "/api/signaling";
}

api_response handle_api(const api_request& req, sqlite_store& store,
                        const api_options& opts) {
  auto route = api_route(req.path);
  if (route != "register" && route != "login")
    return json_error(404, "not found");
  if (req.method != "POST")
    return json_error(405, "method not allowed");
  std::vector<std::string> f;
  if (route == "register") {
    if (!read_fields(req.body, {"username", "email", "password"}, f))
      return json_error(400, "expected {\"username\",\"email\",\"password\"}");
    std::string id;
    switch (store.register_account(f[0], f[1], f[2], &id)) {
      case register_status::ok: {
        boost::json::object obj;
        obj["id"] = id;
        obj["username"] = f[0];
        return {201, "application/json", boost::json::serialize(obj)};
      }
      case register_status::invalid:
        return json_error(400, "invalid username, email or password");
      case register_status::taken:
        return json_error(409, "username or email already registered");
    }
    return json_error(500, "internal error");
  }
  if (!read_fields(req.body, {"email", "password"}, f))
    return json_error(400, "expected {\"email\",\"password\"}");
  auto token = store.login(f[0], f[1], req.origin, opts.token_lifetime);
  if (!token && opts.pull_account) {
    opts.pull_account(f[0]);
    token = store.login(f[0], f[1], req.origin, opts.token_lifetime);
  }
  if (!token)
    return json_error(401, "bad credentials");
  return {200, "text/plain", std::move(*token)};
}

bool origin_allowed(std::string_view origin,
                    const std::vector<std::string>& allowed) {
  if (allowed.empty())
    return true;
  for (auto& x : allowed)
    if (x == "*" || x == origin)
      return true;
  return false;
}

std::string query_param(std::string_view query, std::string_view key) {
  while (!query.empty()) {
    auto amp = query.find('&');
    auto pair = query.substr(0, amp);
    query = amp == std::string_view::npos ? std::string_view{}
                                          : query.substr(amp + 1);
    auto eq = pair.find('=');
    if (pair.substr(0, eq) != key)
      continue;
    auto raw = eq == std::string_view::npos ? std::string_view{}
                                            : pair.substr(eq + 1);
    std::string result;
    for (size_t i = 0; i < raw.size(); ++i) {
      if (raw[i] == '%' && i + 2 < raw.size()) {
        auto hi = hex_value(raw[i + 1]);
        auto lo = hex_value(raw[i + 2]);
        if (hi >= 0 && lo >= 0) {
          result += static_cast<char>(hi * 16 + lo);
          i += 2;
          continue;
        }
      }
      result += raw[i] == '+' ? ' ' : raw[i];
    }
    return result;
  }
  return {};
}

} // namespace omega
