#include "tests/actor_fixture.hpp"

using namespace omega;
using namespace omega::test;

namespace {

using connection_test = actor_fixture;

TEST_F(connection_test, keepalive_echoes_payload_before_init) {
  auto& c = connect("alice");
  c.send(cmd::keepalive{R"({"a":[1,null]})", "k1"});
  c.send(cmd::keepalive{});
  run();
  EXPECT_EQ(next<evt::keepalive>(c),
            (evt::keepalive{R"({"a":[1,null]})", "k1"}));
  EXPECT_EQ(next<evt::keepalive>(c), evt::keepalive{});
  expect_quiet(c);
}

TEST_F(connection_test, init_ok_reports_account_and_game) {
  auto& c = connect("alice");
  c.send(cmd::init{c.token, "L"});
  run();
  auto ok = next<evt::init_ok>(c);
  EXPECT_EQ(ok, (evt::init_ok{"alice", c.id, "Demo Game", "Demo Developer",
                              "L"}));
}

} // namespace
