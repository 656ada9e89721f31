// End-to-end tests of the web pages omega serves (issue 17): the demo at
// `/` and the JavaScript client at `/omega-client.js`, built into the
// binary, with their content types, caching headers and the demo game's
// UGI for the page.

#include <fstream>
#include <sstream>
#include <string>

#include <boost/beast/http/verb.hpp>
#include <gtest/gtest.h>

#include "tests/e2e/server_process.hpp"
#include "tests/e2e/ws_client.hpp"

namespace http = boost::beast::http;
using namespace omega::e2e;

namespace {

std::string source_file(const std::string& path) {
  std::ifstream in{std::string{OMEGA_SOURCE_DIR} + "/" + path,
                   std::ios::binary};
  std::ostringstream out;
  out << in.rdbuf();
  return out.str();
}

http_result
get(const server_process& s, const std::string& target,
    http::verb method = http::verb::get,
    const std::vector<std::pair<std::string, std::string>>& headers = {}) {
  return http_request(s.port(), method, target, {}, headers);
}

TEST(web_pages, every_file_is_served_as_it_is_in_the_tree) {
  server_process s;
  ASSERT_TRUE(s.start()) << s.error();
  struct page {
    const char* target;
    const char* file;
    const char* type;
  };
  for (auto [target, file, type] :
       {page{"/", "clients/demo/index.html", "text/html; charset=utf-8"},
        page{"/demo.js", "clients/demo/demo.js",
             "text/javascript; charset=utf-8"},
        page{"/demo.css", "clients/demo/demo.css", "text/css; charset=utf-8"},
        page{"/omega-client.js", "clients/js/omega-client.js",
             "text/javascript; charset=utf-8"},
        page{"/omega-client.d.ts", "clients/js/omega-client.d.ts",
             "text/plain; charset=utf-8"}}) {
    SCOPED_TRACE(target);
    auto r = get(s, target);
    ASSERT_EQ(r.status, 200u) << r.error;
    EXPECT_EQ(r.header("content-type"), type);
    auto expected = source_file(file);
    ASSERT_FALSE(expected.empty());
    // Not EXPECT_EQ: a failure would print both files.
    EXPECT_EQ(r.body.size(), expected.size());
    EXPECT_TRUE(r.body == expected) << "the served file differs from " << file;
    EXPECT_EQ(r.header("cache-control"), "no-cache");
    EXPECT_EQ(r.header("x-content-type-options"), "nosniff");
    EXPECT_EQ(r.header("access-control-allow-origin"), "*");
    EXPECT_FALSE(r.header("etag").empty());
  }
  // A query string does not change the file.
  EXPECT_TRUE(get(s, "/?ugi=x").body == source_file("clients/demo/index.html"));
}

TEST(web_pages, the_page_runs_only_its_own_scripts_and_styles) {
  server_process s;
  ASSERT_TRUE(s.start()) << s.error();
  auto csp = get(s, "/").header("content-security-policy");
  EXPECT_NE(csp.find("default-src 'self'"), std::string::npos) << csp;
  EXPECT_NE(csp.find("style-src 'self'"), std::string::npos) << csp;
  EXPECT_EQ(csp.find("unsafe-inline"), std::string::npos) << csp;
  EXPECT_EQ(get(s, "/").header("referrer-policy"), "no-referrer");
  EXPECT_TRUE(
    get(s, "/omega-client.js").header("content-security-policy").empty());
}

TEST(web_pages, an_unchanged_file_is_answered_304_and_head_has_no_body) {
  server_process s;
  ASSERT_TRUE(s.start()) << s.error();
  auto full = get(s, "/omega-client.js");
  auto etag = full.header("etag");
  ASSERT_FALSE(etag.empty());
  auto again = get(s, "/omega-client.js", http::verb::get,
                   {{"If-None-Match", etag}});
  EXPECT_EQ(again.status, 304u);
  EXPECT_TRUE(again.body.empty());
  EXPECT_EQ(again.header("etag"), etag);
  auto other = get(s, "/omega-client.js", http::verb::get,
                   {{"If-None-Match", "\"something-else\""}});
  EXPECT_EQ(other.status, 200u);
  auto head = get(s, "/omega-client.js", http::verb::head);
  EXPECT_EQ(head.status, 200u);
  EXPECT_TRUE(head.body.empty());
  EXPECT_EQ(head.header("content-length"), std::to_string(full.body.size()));
  // Other methods than GET and HEAD find nothing outside the API.
  EXPECT_EQ(get(s, "/demo.js", http::verb::post).status, 404u);
  EXPECT_EQ(get(s, "/no-such-file.js").status, 404u);
}

TEST(web_pages, the_demo_game_is_named_only_with_demo) {
  server_process plain;
  ASSERT_TRUE(plain.start()) << plain.error();
  EXPECT_EQ(get(plain, "/demo-game.json").status, 404u);
  server_process demo;
  ASSERT_TRUE(demo.start({"--demo"})) << demo.error();
  auto r = get(demo, "/demo-game.json");
  ASSERT_EQ(r.status, 200u) << r.error;
  EXPECT_EQ(r.header("content-type"), "application/json");
  EXPECT_EQ(r.header("cache-control"), "no-store");
  EXPECT_NE(r.body.find(R"("ugi":")"), std::string::npos) << r.body;
  EXPECT_NE(r.body.find("Demo Game"), std::string::npos) << r.body;
}

TEST(web_pages, an_operator_can_turn_them_off) {
  server_process s;
  ASSERT_TRUE(s.start({"--web-pages", "false"})) << s.error();
  auto root = get(s, "/");
  EXPECT_EQ(root.status, 200u);
  EXPECT_EQ(root.header("content-type"), "text/plain");
  EXPECT_EQ(get(s, "/omega-client.js").status, 404u);
  EXPECT_EQ(get(s, "/demo.js").status, 404u);
}

} // namespace
