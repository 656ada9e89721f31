#include "transport/event_loop.hpp"

#include <atomic>
#include <condition_variable>
#include <cstddef>
#include <deque>
#include <limits>
#include <mutex>
#include <optional>
#include <vector>

#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>

#include <caf/actor_system.hpp>
#include <caf/actor_system_config.hpp>
#include <caf/detail/thread_safe_actor_clock.hpp>
#include <caf/policy/unprofiled.hpp>
#include <caf/resumable.hpp>
#include <caf/scheduler/coordinator.hpp>

namespace net = boost::asio;

namespace omega {

namespace {

/// True while this thread runs Asio handlers for the loop. A job enqueued
/// from such a handler needs no wake-up call: this thread looks at the job
/// queue as soon as the handler returns.
thread_local bool running_io = false;

/// True on the loop's worker threads. A timeout set on one needs no wake-up
/// call: the worker looks at the clock before it waits again.
thread_local bool on_worker = false;

/// A work-sharing scheduler policy (one central job queue, as CAF's
/// `work_sharing`) whose idle workers run Asio handlers instead of sleeping
/// on a condition variable.
class shared_loop : public caf::policy::unprofiled {
public:
  using time_point = caf::actor_clock::time_point;

  using work_guard = net::executor_work_guard<net::io_context::executor_type>;

  /// Jobs a worker runs in a row before it runs the ready I/O handlers, so
  /// busy actors cannot starve the sockets.
  static constexpr size_t io_interval = 32;

  /// Messages an actor may handle per turn (`scheduler.max-throughput`).
  static constexpr size_t max_throughput = 256;

  struct coordinator_data;

  /// Runs queued jobs on behalf of a worker, up to `io_interval` of them.
  /// CAF 0.17's worker loop does a `dynamic_cast` (for its logger) before
  /// each job it is handed; handing it this runner instead pays that once
  /// per batch. The runner has no
  /// state of its own, so all workers share one.
  class job_runner : public caf::resumable {
  public:
    explicit job_runner(coordinator_data& d) : d_(d) {
      // nop
    }

    subtype_t subtype() const override {
      return function_object;
    }

    resume_result resume(caf::execution_unit* eu, size_t max) override {
      for (size_t i = 0; i < io_interval; ++i) {
        caf::resumable* job;
        {
          std::lock_guard<std::mutex> guard{d_.mtx};
          if (d_.queue.empty())
            break;
          job = d_.queue.front();
          d_.queue.pop_front();
        }
        // What CAF's worker does with a job's result (its `after_completion`
        // hook is empty for this policy).
        switch (job->resume(eu, max)) {
          case resume_later:
            enqueue(d_, job);
            break;
          case done:
          case awaiting_message:
            intrusive_ptr_release(job);
            break;
          case shutdown_execution_unit:
            return shutdown_execution_unit;
        }
      }
      return awaiting_message;
    }

    void intrusive_ptr_add_ref_impl() override {
      // nop: lives as long as the coordinator
    }

    void intrusive_ptr_release_impl() override {
      // nop
    }

  private:
    coordinator_data& d_;
  };

  /// The actor system's clock, run by the workers: they ship due timeouts
  /// and delayed messages when they look for work and wait for I/O no
  /// longer than the next one is due. CAF 0.17's own clock is a thread that
  /// is woken for every timeout set or cancelled (every CONNECTION's INIT
  /// deadline, say): a futex call and two context switches each, and with
  /// one core a preemption of the worker. Here setting one is a map insertion
  /// under a mutex; only a thread outside the loop that sets an earlier
  /// deadline than the workers wait for wakes one of them.
  class loop_clock final : public caf::detail::thread_safe_actor_clock {
  public:
    using super = caf::detail::simple_actor_clock;

    explicit loop_clock(coordinator_data& d) : d_(d) {
      // nop
    }

    void set_ordinary_timeout(time_point t, caf::abstract_actor* self,
                              caf::atom_value type, uint64_t id) override {
      add(t, [&] { super::set_ordinary_timeout(t, self, type, id); });
    }

    void set_request_timeout(time_point t, caf::abstract_actor* self,
                             caf::message_id id) override {
      add(t, [&] { super::set_request_timeout(t, self, id); });
    }

    void set_multi_timeout(time_point t, caf::abstract_actor* self,
                           caf::atom_value type, uint64_t id) override {
      add(t, [&] { super::set_multi_timeout(t, self, type, id); });
    }

    void schedule_message(time_point t, caf::strong_actor_ptr receiver,
                          caf::mailbox_element_ptr content) override {
      add(t, [&] {
        super::schedule_message(t, std::move(receiver), std::move(content));
      });
    }

    void schedule_message(time_point t, caf::group target,
                          caf::strong_actor_ptr sender,
                          caf::message content) override {
      add(t, [&] {
        super::schedule_message(t, std::move(target), std::move(sender),
                                std::move(content));
      });
    }

    // A cancellation only moves the next deadline later: a worker that wakes
    // for it finds nothing due and waits again.

    void cancel_ordinary_timeout(caf::abstract_actor* self,
                                 caf::atom_value type) override {
      locked([&] { super::cancel_ordinary_timeout(self, type); });
    }

    void cancel_request_timeout(caf::abstract_actor* self,
                                caf::message_id id) override {
      locked([&] { super::cancel_request_timeout(self, id); });
    }

    void cancel_timeouts(caf::abstract_actor* self) override {
      locked([&] { super::cancel_timeouts(self); });
    }

    void cancel_all() override {
      locked([&] { super::cancel_all(); });
    }

    /// True if an event is due now.
    bool due() const {
      auto next = next_due_.load(std::memory_order_acquire);
      return next != never && next <= now().time_since_epoch().count();
    }

    /// Ships every due event, with no lock held while they are enqueued.
    void ship_due() {
      std::vector<unique_delayed_event_ptr> ready;
      {
        std::lock_guard<std::mutex> guard{mtx_};
        auto t = now();
        auto i = schedule_.begin();
        while (i != schedule_.end() && i->first <= t) {
          auto ptr = std::move(i->second);
          if (ptr->backlink != actor_lookup_.end())
            actor_lookup_.erase(ptr->backlink);
          i = schedule_.erase(i);
          ready.emplace_back(std::move(ptr));
        }
        publish();
      }
      for (auto& x : ready)
        ship(*x);
    }

    /// Called by a worker about to wait: returns when it must look again
    /// (`time_point::max()` for never) and promises to be back by then.
    time_point next_wake() {
      std::lock_guard<std::mutex> guard{mtx_};
      waiting_until_ = schedule_.empty() ? time_point::max()
                                         : schedule_.begin()->first;
      return waiting_until_;
    }

  private:
    static constexpr time_point::rep never
      = std::numeric_limits<time_point::rep>::max();

    template <class F>
    void locked(F f) {
      std::lock_guard<std::mutex> guard{mtx_};
      f();
      publish();
    }

    template <class F>
    void add(time_point t, F f) {
      auto wake = false;
      {
        std::lock_guard<std::mutex> guard{mtx_};
        f();
        publish();
        if (!on_worker && t < waiting_until_) {
          waiting_until_ = t;
          wake = true;
        }
      }
      if (wake)
        wake_one(d_);
    }

    /// Lets `due` read the next deadline without the lock.
    void publish() {
      next_due_.store(schedule_.empty()
                        ? never
                        : schedule_.begin()->first.time_since_epoch().count(),
                      std::memory_order_release);
    }

    coordinator_data& d_;
    std::mutex mtx_;
    /// The earliest time a waiting worker promised to look at the clock.
    time_point waiting_until_ = time_point::max();
    std::atomic<time_point::rep> next_due_{never};
  };

  struct coordinator_data {
    explicit coordinator_data(caf::scheduler::abstract_coordinator*)
      : runner(*this), clock(*this) {
      // nop
    }

    std::mutex mtx;
    /// Signalled for workers that wait with neither jobs nor I/O.
    std::condition_variable cv;
    /// Signalled when the last worker leaves `io` after a detach.
    std::condition_variable left_io;
    std::deque<caf::resumable*> queue;
    net::io_context* io = nullptr;
    /// Keeps `io->run_one()` blocking while no socket has work pending.
    std::optional<work_guard> guard;
    /// Workers inside `io->run_one()` or `io->poll()`.
    size_t in_io = 0;
    /// Workers waiting on `cv`.
    size_t sleeping = 0;
    job_runner runner;
    loop_clock clock;
  };

  struct worker_data {
    explicit worker_data(caf::scheduler::abstract_coordinator*) {
      // nop
    }

    /// Set when the worker got a batch of jobs: before the next batch it
    /// runs the ready I/O handlers.
    bool owes_io = false;
  };

  template <class Coordinator>
  void central_enqueue(Coordinator* self, caf::resumable* job) {
    enqueue(self->data(), job);
  }

  template <class Worker>
  void external_enqueue(Worker* self, caf::resumable* job) {
    enqueue(self->parent()->data(), job);
  }

  template <class Worker>
  void internal_enqueue(Worker* self, caf::resumable* job) {
    enqueue(self->parent()->data(), job);
  }

  template <class Worker>
  void resume_job_later(Worker* self, caf::resumable* job) {
    enqueue(self->parent()->data(), job);
  }

  template <class Worker>
  caf::resumable* dequeue(Worker* self) {
    auto& d = self->parent()->data();
    auto& owes_io = self->data().owes_io;
    on_worker = true;
    std::unique_lock<std::mutex> guard{d.mtx};
    for (;;) {
      if (d.clock.due()) {
        guard.unlock();
        d.clock.ship_due();
        guard.lock();
        continue;
      }
      auto io = d.io != nullptr && !d.io->stopped();
      if (!d.queue.empty()) {
        if (io && owes_io) {
          owes_io = false;
          run_io(d, guard, std::nullopt);
          continue;
        }
        owes_io = true;
        return &d.runner;
      }
      owes_io = false;
      auto until = d.clock.next_wake();
      if (io) {
        run_io(d, guard, until);
        continue;
      }
      ++d.sleeping;
      if (until == time_point::max())
        d.cv.wait(guard);
      else
        d.cv.wait_until(guard, until);
      --d.sleeping;
    }
  }

  template <class Worker, class F>
  void foreach_resumable(Worker*, F) {
    // nop: all jobs wait in the central queue
  }

  template <class Coordinator, class F>
  void foreach_central_resumable(Coordinator* self, F f) {
    auto& d = self->data();
    std::unique_lock<std::mutex> guard{d.mtx};
    while (!d.queue.empty()) {
      auto job = d.queue.front();
      d.queue.pop_front();
      f(job);
    }
  }

  static void attach(coordinator_data& d, net::io_context& ioc) {
    std::lock_guard<std::mutex> guard{d.mtx};
    d.io = &ioc;
    d.guard.emplace(ioc.get_executor());
    d.cv.notify_all();
  }

  static void detach(coordinator_data& d) {
    std::unique_lock<std::mutex> guard{d.mtx};
    auto io = d.io;
    if (io == nullptr)
      return;
    d.io = nullptr;
    // Each no-op ends one blocking `run_one` early.
    for (size_t i = 0; i < d.in_io; ++i)
      net::post(*io, [] {});
    d.left_io.wait(guard, [&] { return d.in_io == 0; });
    d.guard.reset();
  }

private:
  /// Wakes a worker that waits, on the condition variable or for I/O.
  static void wake_one(coordinator_data& d) {
    std::unique_lock<std::mutex> guard{d.mtx};
    if (d.sleeping > 0) {
      guard.unlock();
      d.cv.notify_one();
    } else if (d.in_io > 0 && d.io != nullptr) {
      auto io = d.io;
      guard.unlock();
      net::post(*io, [] {});
    }
  }

  static void enqueue(coordinator_data& d, caf::resumable* job) {
    std::unique_lock<std::mutex> guard{d.mtx};
    d.queue.push_back(job);
    if (d.sleeping > 0) {
      guard.unlock();
      d.cv.notify_one();
      return;
    }
    // A worker blocked in the I/O loop (in epoll_wait, say) sees the job only
    // once a handler runs: post one. Not needed if the only worker there is
    // this thread.
    auto others = d.in_io - (running_io ? 1 : 0);
    if (others > 0 && d.io != nullptr) {
      auto io = d.io;
      guard.unlock();
      net::post(*io, [] {});
    }
  }

  /// Runs I/O handlers with the lock released: all that are ready if `until`
  /// is empty, else one, waiting for it until `until` at most.
  static void run_io(coordinator_data& d, std::unique_lock<std::mutex>& guard,
                     std::optional<time_point> until) {
    auto io = d.io;
    ++d.in_io;
    guard.unlock();
    running_io = true;
    if (!until)
      io->poll();
    else if (*until == time_point::max())
      io->run_one();
    else
      io->run_one_until(*until);
    running_io = false;
    guard.lock();
    if (--d.in_io == 0 && d.io == nullptr)
      d.left_io.notify_all();
  }
};

/// CAF's coordinator with the loop's clock in place of its clock thread (which
/// still starts, and sleeps until shutdown).
class shared_coordinator final
  : public caf::scheduler::coordinator<shared_loop> {
public:
  using super = caf::scheduler::coordinator<shared_loop>;

  using super::super;

  shared_loop::loop_clock& clock() noexcept override {
    return data().clock;
  }

protected:
  void stop() override {
    super::stop();
    // What CAF's clock thread does when it ends: drop what never came due.
    data().clock.cancel_all();
  }
};

shared_coordinator* coordinator_of(caf::actor_system& sys) {
  return dynamic_cast<shared_coordinator*>(&sys.scheduler());
}

} // namespace

void use_shared_loop(caf::actor_system_config& cfg) {
  // CAF 0.17 lets an actor run through its whole mailbox before the worker
  // gets control back (the default is unlimited); bounded, a flood of
  // messages to one actor cannot keep the sockets from being served.
  cfg.set("scheduler.max-throughput", shared_loop::max_throughput);
  cfg.module_factories.emplace_back(
    [](caf::actor_system& sys) -> caf::actor_system::module* {
      return new shared_coordinator(sys);
    });
}

bool attach_io(caf::actor_system& sys, net::io_context& ioc) {
  auto c = coordinator_of(sys);
  if (c == nullptr)
    return false;
  shared_loop::attach(c->data(), ioc);
  return true;
}

void detach_io(caf::actor_system& sys) {
  if (auto c = coordinator_of(sys))
    shared_loop::detach(c->data());
}

} // namespace omega
