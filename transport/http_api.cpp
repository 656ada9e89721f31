#include "transport/http_api.hpp"

#include <cmath>

#include <boost/json.hpp>

#include "storage/account_store.hpp"
#include "transport/json_codec.hpp"

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

std::string_view api_route(std::string_view path) {
  if (strip_prefix(path, "/api/v0/") || strip_prefix(path, "/api/"))
    return path;
  return {};
}

std::string request_email(std::string_view body) {
  std::vector<std::string> f;
  if (!read_fields(body, {"email"}, f))
    return {};
  return std::move(f[0]);
}

bool is_api_path(std::string_view path) {
  auto route = api_route(path);
  return route == "register" || route == "login" || route == "save"
         || route == "load";
}

bool is_signaling_path(std::string_view path) {
  return path == "/api/v0/signaling" || path == "/api/signaling";
}

namespace {

api_response text(unsigned status, std::string body) {
  return {status, "text/plain", std::move(body)};
}

/// The account extension counts a registration as done only if the body is
/// exactly `OK`; a client that asks for JSON gets the new account.
api_response register_route(const api_request& req, account_store& store) {
  std::vector<std::string> f;
  if (!read_fields(req.body, {"username", "email", "password"}, f))
    return json_error(400, "expected {\"username\",\"email\",\"password\"}");
  std::string id;
  switch (store.register_account(f[0], f[1], f[2], &id)) {
    case register_status::ok: {
      if (req.accept.find("application/json") == std::string::npos)
        return text(201, "OK");
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

api_response login_route(const api_request& req, account_store& store,
                         const api_options& opts) {
  std::vector<std::string> f;
  if (!read_fields(req.body, {"email", "password"}, f))
    return json_error(400, "expected {\"email\",\"password\"}");
  // One argon2id hash per attempt: an account this node lacks is pulled
  // before the hash, not after a failed one. (A local account's password
  // cannot differ on another node: there is no password change.) An unknown
  // email still costs the hash of a dummy, so timing shows nothing.
  if (opts.pull && !store.has_account(f[0])) {
    replica_query query;
    query.email = f[0];
    opts.pull(query);
  }
  auto token = store.login(f[0], f[1], req.origin, opts.token_lifetime);
  if (!token)
    return json_error(401, "bad credentials");
  return text(200, std::move(*token));
}

/// Reads a save slot: an integer, or a string of one (the extension's load
/// block sends the menu's text); 0 if it is neither or out of range.
int32_t save_slot(const boost::json::value& x) {
  double value = 0;
  if (auto i = x.if_int64()) {
    value = static_cast<double>(*i);
  } else if (auto u = x.if_uint64()) {
    value = static_cast<double>(*u);
  } else if (auto d = x.if_double()) {
    value = *d;
  } else if (auto str = x.if_string()) {
    if (str->empty() || str->size() > 2)
      return 0;
    for (auto c : *str)
      if (c < '0' || c > '9')
        return 0;
    value = std::stod(std::string{str->data(), str->size()});
  }
  if (value < 1 || value > max_save_slot || std::floor(value) != value)
    return 0;
  return static_cast<int32_t>(value);
}

/// Reads save data: text as it is, numbers and booleans as the original
/// server stored them; false for anything else.
bool save_data(const boost::json::value& x, std::string& out) {
  if (auto str = x.if_string())
    out.assign(str->data(), str->size());
  else if (x.is_number() || x.is_bool())
    out = boost::json::serialize(x);
  else
    return false;
  return true;
}

/// What a `save` or `load` request asks for, once its body checked out.
struct save_request {
  std::string token;
  save_key key;
  std::string data;
};

/// Parses the body of a `save` (`with_data`) or `load` request; an empty
/// `error` means it is well-formed.
save_request parse_save(std::string_view body, bool with_data,
                        std::string& error) {
  save_request result;
  std::vector<std::string> f;
  if (!read_fields(body, {"token", "ugi"}, f)) {
    error = "expected {\"token\",\"ugi\",\"save_slot\"}";
    return result;
  }
  result.token = std::move(f[0]);
  result.key.ugi = std::move(f[1]);
  // read_fields parsed it already: an object.
  auto obj = boost::json::parse(body).as_object();
  auto slot = obj.if_contains("save_slot");
  result.key.slot = slot != nullptr ? save_slot(*slot) : 0;
  if (result.key.slot == 0) {
    error = "save_slot must be 1 to " + std::to_string(max_save_slot);
    return result;
  }
  if (!with_data)
    return result;
  auto data = obj.if_contains("save_data");
  if (data == nullptr || !save_data(*data, result.data))
    error = "save_data must be text";
  else if (utf8_length(result.data) > max_save_length)
    error = "save_data has more than " + std::to_string(max_save_length)
            + " characters";
  return result;
}

/// Serves `save` and `load` in the original server's order of checks: a
/// malformed body (400), an unknown game (404), a token that is unknown,
/// expired or bound to another origin (401). Rows this node lacks are
/// pulled from the other nodes first.
api_response save_route(const api_request& req, account_store& store,
                        const api_options& opts, bool is_save) {
  std::string error;
  auto sr = parse_save(req.body, is_save, error);
  if (!error.empty())
    return json_error(400, error);
  auto pull = [&](replica_query query) {
    if (opts.pull)
      opts.pull(query);
  };
  auto game = store.find_game(sr.key.ugi);
  if (!game) {
    pull(replica_query{{}, sr.key.ugi, {}, {}});
    if (!(game = store.find_game(sr.key.ugi)))
      return json_error(404, "unknown game");
  }
  auto token = store.find_token(sr.token);
  if (!token) {
    pull(replica_query{token_digest(sr.token), {}, {}, {}});
    token = store.find_token(sr.token);
  }
  if (!token || wall_clock::now() >= token->expires
      || (!token->origin.empty() && token->origin != req.origin))
    return json_error(401, "unknown or expired token");
  sr.key.account_id = token->account_id;
  if (is_save) {
    if (!store.write_save(sr.key, sr.data))
      return json_error(500, "the save could not be stored");
    return text(200, "OK");
  }
  replica_query latest;
  latest.save = sr.key;
  pull(latest);
  return text(200, store.read_save(sr.key));
}

} // namespace

api_response handle_api(const api_request& req, account_store& store,
                        const api_options& opts) {
  auto route = api_route(req.path);
  if (!is_api_path(req.path))
    return json_error(404, "not found");
  if (req.method != "POST")
    return json_error(405, "method not allowed");
  if (route == "register")
    return register_route(req, store);
  if (route == "login")
    return login_route(req, store, opts);
  return save_route(req, store, opts, route == "save");
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
