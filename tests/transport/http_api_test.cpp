#include "transport/http_api.hpp"

#include <filesystem>
#include <memory>
#include <stdexcept>
#include <string>

#include <gtest/gtest.h>

#include "storage/sqlite_store.hpp"

/// The login route against a real SQLite store: one argon2id hash per
/// attempt (a hash is a `login` call of the store), whether the account
/// exists, does not, or has to be pulled from another node first.

namespace omega {
namespace {

/// Forwards to a SQLite store in a fresh folder and counts the calls that
/// hash a password.
class counting_store : public account_store {
public:
  counting_store() {
    char tmpl[] = "/tmp/omega-http-api-test-XXXXXX";
    if (mkdtemp(tmpl) == nullptr)
      throw std::runtime_error("mkdtemp failed");
    dir_ = tmpl;
    std::string error;
    store_ = sqlite_store::open(dir_, error, hash_cost::minimal());
    if (!store_)
      throw std::runtime_error(error);
  }

  ~counting_store() override {
    store_.reset();
    std::error_code ec;
    std::filesystem::remove_all(dir_, ec);
  }

  size_t logins = 0;

  std::optional<token_record> find_token(std::string_view token) override {
    return store_->find_token(token);
  }
  std::optional<game_record> find_game(std::string_view ugi) override {
    return store_->find_game(ugi);
  }
  uint64_t games_version() override {
    return store_->games_version();
  }
  replica export_rows(replica_cursor& from, size_t limit) override {
    return store_->export_rows(from, limit);
  }
  void import_rows(const replica& rows) override {
    store_->import_rows(rows);
  }
  replica lookup(const replica_query& query) override {
    return store_->lookup(query);
  }
  register_status
  register_account(std::string_view username, std::string_view email,
                   std::string_view password, std::string* id) override {
    return store_->register_account(username, email, password, id);
  }
  bool has_account(std::string_view email) override {
    return store_->has_account(email);
  }
  std::optional<std::string>
  login(std::string_view email, std::string_view password,
        std::string_view origin, std::chrono::seconds lifetime) override {
    ++logins;
    return store_->login(email, password, origin, lifetime);
  }
  bool write_save(const save_key& key, std::string_view data) override {
    return store_->write_save(key, data);
  }
  std::string read_save(const save_key& key) override {
    return store_->read_save(key);
  }

private:
  std::string dir_;
  std::unique_ptr<sqlite_store> store_;
};

api_request login_request(const std::string& email, const std::string& pw) {
  return {"POST",
          "/api/v0/login",
          R"({"email":")" + email + R"(","password":")" + pw + R"("})",
          {},
          {}};
}

TEST(http_api_login, a_failed_login_hashes_once) {
  counting_store store;
  ASSERT_EQ(store.register_account("alice", "a@x.org", "password123", nullptr),
            register_status::ok);
  size_t pulls = 0;
  api_options opts;
  opts.pull = [&](const replica_query&) { ++pulls; };
  auto res = handle_api(login_request("a@x.org", "wrong-password"), store,
                        opts);
  EXPECT_EQ(res.status, 401u);
  EXPECT_EQ(store.logins, 1u);
  EXPECT_EQ(pulls, 0u) << "a local account needs nothing from other nodes";
  res = handle_api(login_request("a@x.org", "password123"), store, opts);
  EXPECT_EQ(res.status, 200u);
  EXPECT_EQ(store.logins, 2u);
}

TEST(http_api_login, an_unknown_email_is_pulled_then_hashed_once) {
  counting_store store;
  size_t pulls = 0;
  api_options opts;
  opts.pull = [&](const replica_query& q) {
    ++pulls;
    EXPECT_EQ(q.email, "nobody@x.org");
  };
  auto res = handle_api(login_request("nobody@x.org", "password123"), store,
                        opts);
  EXPECT_EQ(res.status, 401u);
  EXPECT_EQ(pulls, 1u);
  EXPECT_EQ(store.logins, 1u) << "one hash, against the dummy";
}

TEST(http_api_login, an_account_of_another_node_logs_in_after_the_pull) {
  counting_store store;
  api_options opts;
  // The pull brings the account in, as replication from another node would.
  opts.pull = [&](const replica_query&) {
    store.register_account("bob", "b@x.org", "password123", nullptr);
  };
  auto res = handle_api(login_request("b@x.org", "password123"), store, opts);
  EXPECT_EQ(res.status, 200u) << res.body;
  EXPECT_EQ(store.logins, 1u);
}

TEST(http_api, routes_and_emails) {
  EXPECT_EQ(api_route("/api/v0/login"), "login");
  EXPECT_EQ(api_route("/api/register"), "register");
  EXPECT_EQ(api_route("/other"), "");
  EXPECT_EQ(request_email(R"({"email":"a@x.org","password":"p"})"), "a@x.org");
  EXPECT_EQ(request_email(R"({"email":1})"), "");
  EXPECT_EQ(request_email("not json"), "");
}

} // namespace
} // namespace omega
