#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <memory>
#include <string>
#include <string_view>

#include <unistd.h>

#include <boost/json.hpp>

#include "storage/sqlite_store.hpp"
#include "transport/http_api.hpp"

/// libFuzzer target for the HTTP API: `handle_api` against a real SQLite
/// store in a temporary folder, as the gateway's API worker runs it.
///
/// An input is five fields separated by newlines: method, request target,
/// `Origin`, `Accept`, then the body (the rest, newlines included). The
/// target is split at `?` as the gateway splits it: the path goes to
/// `handle_api`, the query to `query_param` (the WebSocket upgrade's `ugi=`).
/// In the body,
/// `@TOKEN@` stands for a valid session token and `@UGI@` for a registered
/// game, so that mutations reach the save and load code behind those checks
/// rather than stopping at 401 and 404. Cluster pulls go to the same store
/// (`lookup`, then `import_rows`), as a node answering itself would.

namespace {

/// The store, its game and a logged-in account, made once per process.
struct fixture {
  std::string dir;
  std::unique_ptr<omega::sqlite_store> store;
  std::string ugi;
  std::string token;
  omega::api_options opts;

  fixture() {
    auto base = std::filesystem::temp_directory_path() / "omega-fuzz-XXXXXX";
    std::string tmpl = base.string();
    if (mkdtemp(tmpl.data()) == nullptr)
      die("mkdtemp failed");
    dir = tmpl;
    std::string error;
    store = omega::sqlite_store::open(dir, error, omega::hash_cost::minimal());
    if (!store)
      die(error.c_str());
    ugi = store->add_game("Pong", "Atari");
    if (ugi.empty()
        || store->register_account("alice", "alice@example.com",
                                   "correct horse")
             != omega::register_status::ok)
      die("cannot set up the store");
    auto issued = store->login("alice@example.com", "correct horse", "",
                               std::chrono::hours{1});
    if (!issued)
      die("cannot log in");
    token = *issued;
    opts.pull = [this](const omega::replica_query& query) {
      store->import_rows(store->lookup(query));
    };
  }

  ~fixture() {
    store.reset();
    std::error_code ec;
    std::filesystem::remove_all(dir, ec);
  }

  [[noreturn]] static void die(const char* what) {
    std::fprintf(stderr, "http_api_fuzz: %s\n", what);
    std::abort();
  }
};

fixture& the_fixture() {
  static fixture instance;
  return instance;
}

/// Cuts the next newline-terminated field off `in`.
std::string next_field(std::string_view& in) {
  auto nl = in.find('\n');
  std::string result{in.substr(0, nl)};
  in = nl == std::string_view::npos ? std::string_view{} : in.substr(nl + 1);
  return result;
}

void replace_all(std::string& x, std::string_view from, std::string_view to) {
  for (auto pos = x.find(from); pos != std::string::npos;
       pos = x.find(from, pos + to.size()))
    x.replace(pos, from.size(), to);
}

[[noreturn]] void fail(const char* what, const omega::api_request& req,
                       const omega::api_response& res) {
  std::fprintf(stderr, "http_api_fuzz: %s\n%s %s\nbody: %s\n-> %u %s: %s\n",
               what, req.method.c_str(), req.path.c_str(), req.body.c_str(),
               res.status, res.content_type.c_str(), res.body.c_str());
  std::abort();
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  auto& fx = the_fixture();
  std::string_view in{reinterpret_cast<const char*>(data), size};
  omega::api_request req;
  req.method = next_field(in);
  auto target = next_field(in);
  auto q = target.find('?');
  req.path = target.substr(0, q);
  if (q != std::string::npos) {
    // Percent-decoding only ever shortens the value.
    auto query = std::string_view{target}.substr(q + 1);
    if (omega::query_param(query, "ugi").size() > query.size())
      fixture::die("query_param made a value longer than its query");
  }
  req.origin = next_field(in);
  req.accept = next_field(in);
  req.body.assign(in.data(), in.size());
  replace_all(req.body, "@TOKEN@", fx.token);
  replace_all(req.body, "@UGI@", fx.ugi);
  auto res = omega::handle_api(req, *fx.store, fx.opts);
  // Every answer is one the API documents; a 500 means a store call failed
  // on input that got past the checks, which no request should cause.
  switch (res.status) {
    case 200:
    case 201:
    case 400:
    case 401:
    case 404:
    case 405:
    case 409:
      break;
    default:
      fail("undocumented status", req, res);
  }
  if (res.content_type == "application/json") {
    boost::json::error_code ec;
    auto jv = boost::json::parse(res.body, ec);
    if (ec || !jv.is_object())
      fail("a JSON answer that is not a JSON object", req, res);
  } else if (res.content_type != "text/plain") {
    fail("an unexpected content type", req, res);
  }
  return 0;
}
