#include "transport/event_loop.hpp"

#include <atomic>
#include <chrono>
#include <future>
#include <memory>
#include <optional>
#include <thread>
#include <vector>

#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>

#include <caf/actor_system.hpp>
#include <caf/actor_system_config.hpp>
#include <caf/after.hpp>
#include <caf/event_based_actor.hpp>
#include <caf/send.hpp>

#include <gtest/gtest.h>

namespace net = boost::asio;
using namespace std::chrono_literals;

namespace {

/// A real actor system (not the test coordinator: the scheduler itself is
/// under test) whose threads share `ioc`.
/// Actors here take an unused `int`: CAF 0.17 dereferences a null argument
/// tuple when a function-based actor has no arguments (UBSan reports it).
struct shared_system {
  explicit shared_system(size_t threads) {
    cfg.set("scheduler.max-threads", threads);
    cfg.set("logger.verbosity", caf::atom("quiet"));
    omega::use_shared_loop(cfg);
    sys.emplace(cfg);
  }

  ~shared_system() {
    // Also when an assertion returned early: no worker may touch `ioc` once
    // it is gone.
    omega::detach_io(*sys);
    sys.reset();
  }

  net::io_context ioc{1};
  caf::actor_system_config cfg;
  std::optional<caf::actor_system> sys;
};

template <class T>
bool ready(std::future<T>& f) {
  return f.wait_for(5s) == std::future_status::ready;
}

} // namespace

TEST(event_loop, handlers_and_actors_share_the_scheduler_thread) {
  shared_system s{1};
  ASSERT_TRUE(omega::attach_io(*s.sys, s.ioc));
  std::promise<std::thread::id> in_handler;
  std::promise<std::thread::id> in_actor;
  std::promise<std::thread::id> in_posted;
  auto actor = s.sys->spawn(
    [&](caf::event_based_actor*, int) -> caf::behavior {
      return {[&](int) {
        in_actor.set_value(std::this_thread::get_id());
        // Actor -> socket side, as a SINK does.
        net::post(s.ioc,
                  [&] { in_posted.set_value(std::this_thread::get_id()); });
      }};
    },
    0);
  // Socket side -> actor, as a session does.
  net::post(s.ioc, [&] {
    in_handler.set_value(std::this_thread::get_id());
    caf::anon_send(actor, 1);
  });
  auto handler = in_handler.get_future();
  auto actor_thread = in_actor.get_future();
  auto posted = in_posted.get_future();
  ASSERT_TRUE(ready(handler));
  ASSERT_TRUE(ready(actor_thread));
  ASSERT_TRUE(ready(posted));
  auto id = handler.get();
  EXPECT_NE(id, std::this_thread::get_id());
  EXPECT_EQ(actor_thread.get(), id);
  EXPECT_EQ(posted.get(), id);
  omega::detach_io(*s.sys);
  caf::anon_send_exit(actor, caf::exit_reason::user_shutdown);
}

TEST(event_loop, messages_from_other_threads_wake_a_worker_waiting_on_io) {
  shared_system s{1};
  ASSERT_TRUE(omega::attach_io(*s.sys, s.ioc));
  std::promise<void> got_direct;
  std::promise<void> got_delayed;
  auto actor = s.sys->spawn(
    [&](caf::event_based_actor*, int) -> caf::behavior {
      return {[&](int x) {
        if (x == 1)
          got_direct.set_value();
        else
          got_delayed.set_value();
      }};
    },
    0);
  // Let the only worker go idle: it now blocks waiting for I/O.
  std::this_thread::sleep_for(50ms);
  caf::anon_send(actor, 1); // from this (non-scheduler) thread
  auto direct = got_direct.get_future();
  ASSERT_TRUE(ready(direct));
  std::this_thread::sleep_for(50ms);
  // Delayed: the loop's clock has to wake the worker waiting on I/O.
  caf::delayed_anon_send(actor, std::chrono::milliseconds{20}, 2);
  auto delayed = got_delayed.get_future();
  ASSERT_TRUE(ready(delayed));
  omega::detach_io(*s.sys);
  caf::anon_send_exit(actor, caf::exit_reason::user_shutdown);
}

TEST(event_loop, an_earlier_timeout_from_another_thread_cuts_the_wait_short) {
  shared_system s{1};
  ASSERT_TRUE(omega::attach_io(*s.sys, s.ioc));
  std::promise<int> first;
  auto actor = s.sys->spawn(
    [&](caf::event_based_actor*, int) -> caf::behavior {
      return {[&](int x) {
        if (x == 2)
          first.set_value(x);
      }};
    },
    0);
  // The worker waits for the one-hour message; a 20 ms one set later from
  // this thread must not wait behind it.
  caf::delayed_anon_send(actor, std::chrono::hours{1}, 1);
  std::this_thread::sleep_for(50ms);
  caf::delayed_anon_send(actor, std::chrono::milliseconds{20}, 2);
  auto f = first.get_future();
  ASSERT_TRUE(ready(f));
  EXPECT_EQ(f.get(), 2);
  omega::detach_io(*s.sys);
  caf::anon_send_exit(actor, caf::exit_reason::user_shutdown);
}

TEST(event_loop, timeouts_set_by_actors_fire_in_order_and_cancel) {
  shared_system s{1};
  ASSERT_TRUE(omega::attach_io(*s.sys, s.ioc));
  std::promise<std::vector<int>> order;
  // From inside an actor (a worker thread: no wake-up call): three delayed
  // messages set out of order; a receive timeout that each of them cancels
  // and sets again, so it fires once, 30 ms after the last; a request that
  // nobody answers and that times out.
  auto silent = s.sys->spawn(
    [](caf::event_based_actor*, int) -> caf::behavior {
      return {[](double) -> caf::result<int> { return caf::delegated<int>(); }};
    },
    0);
  auto actor = s.sys->spawn(
    [&](caf::event_based_actor* self, int) -> caf::behavior {
      auto seen = std::make_shared<std::vector<int>>();
      auto note = [&, seen](int x) {
        seen->push_back(x);
        if (seen->size() == 5)
          order.set_value(*seen);
      };
      self->delayed_send(self, std::chrono::milliseconds{60}, 3);
      self->delayed_send(self, std::chrono::milliseconds{20}, 1);
      self->delayed_send(self, std::chrono::milliseconds{40}, 2);
      self->request(silent, std::chrono::milliseconds{250}, 1.0)
        .then([](int) {}, [note](caf::error&) { note(7); });
      auto fired = std::make_shared<bool>(false);
      return {
        [note](int x) { note(x); },
        caf::after(std::chrono::milliseconds{30}) >>
          [note, fired] {
            if (!*fired)
              note(6);
            *fired = true;
          },
      };
    },
    0);
  auto f = order.get_future();
  ASSERT_TRUE(ready(f));
  EXPECT_EQ(f.get(), (std::vector<int>{1, 2, 3, 6, 7}));
  omega::detach_io(*s.sys);
  caf::anon_send_exit(actor, caf::exit_reason::user_shutdown);
  caf::anon_send_exit(silent, caf::exit_reason::user_shutdown);
}

TEST(event_loop, a_busy_actor_does_not_starve_the_sockets) {
  shared_system s{1};
  ASSERT_TRUE(omega::attach_io(*s.sys, s.ioc));
  std::atomic<bool> handler_ran{false};
  std::promise<int> rounds;
  constexpr int bound = 1000000;
  // Sends itself a message per round until an I/O handler has run: with one
  // thread, that handler only runs if the scheduler makes room for it.
  auto actor = s.sys->spawn(
    [&](caf::event_based_actor* self, int) -> caf::behavior {
      return {[&, self](int n) {
        if (handler_ran || n == bound) {
          rounds.set_value(n);
          return;
        }
        self->send(self, n + 1);
      }};
    },
    0);
  caf::anon_send(actor, 0);
  net::post(s.ioc, [&] { handler_ran = true; });
  auto done = rounds.get_future();
  ASSERT_TRUE(ready(done));
  EXPECT_LT(done.get(), bound);
  EXPECT_TRUE(handler_ran);
  omega::detach_io(*s.sys);
  caf::anon_send_exit(actor, caf::exit_reason::user_shutdown);
}

TEST(event_loop, detach_hands_the_io_context_back) {
  shared_system s{2};
  ASSERT_TRUE(omega::attach_io(*s.sys, s.ioc));
  std::promise<void> before;
  net::post(s.ioc, [&] { before.set_value(); });
  auto f = before.get_future();
  ASSERT_TRUE(ready(f));
  omega::detach_io(*s.sys);
  omega::detach_io(*s.sys); // idempotent
  // No scheduler thread runs the handlers any more: this thread does.
  std::atomic<int> ran{0};
  net::post(s.ioc, [&] { ++ran; });
  std::this_thread::sleep_for(50ms);
  EXPECT_EQ(ran, 0);
  s.ioc.restart(); // it stopped when the loop's work guard went
  s.ioc.poll();
  EXPECT_EQ(ran, 1);
  // Actors still run, on plain work sharing.
  std::promise<void> got;
  auto actor = s.sys->spawn(
    [&](caf::event_based_actor*, int) -> caf::behavior {
      return {[&](int) { got.set_value(); }};
    },
    0);
  caf::anon_send(actor, 1);
  auto g = got.get_future();
  ASSERT_TRUE(ready(g));
  caf::anon_send_exit(actor, caf::exit_reason::user_shutdown);
}

TEST(event_loop, attach_needs_the_shared_loop) {
  caf::actor_system_config cfg;
  cfg.set("logger.verbosity", caf::atom("quiet"));
  caf::actor_system sys{cfg};
  net::io_context ioc;
  EXPECT_FALSE(omega::attach_io(sys, ioc));
  omega::detach_io(sys); // harmless
}
