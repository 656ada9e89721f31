#include "actors/limit_log.hpp"

#include <chrono>
#include <cstdint>
#include <mutex>

namespace omega {

namespace {

struct limit_log_state {
  std::mutex mtx;
  limit_logger fn;
  std::chrono::steady_clock::time_point last{};
  bool started = false;
  uint64_t left_out = 0;
};

limit_log_state& log_state() {
  static limit_log_state st;
  return st;
}

} // namespace

void set_limit_logger(limit_logger fn) {
  auto& st = log_state();
  std::lock_guard<std::mutex> guard{st.mtx};
  st.fn = std::move(fn);
}

void log_limit(const std::string& line) {
  auto& st = log_state();
  std::lock_guard<std::mutex> guard{st.mtx};
  if (!st.fn)
    return;
  // Wall time, not an actor clock: the budget is the log's, shared by all
  // actors and threads.
  auto now = std::chrono::steady_clock::now();
  if (st.started && now - st.last < std::chrono::seconds{1}) {
    ++st.left_out;
    return;
  }
  st.started = true;
  st.last = now;
  if (st.left_out > 0) {
    st.fn(line + " (and " + std::to_string(st.left_out)
          + " more limit warnings left out)");
    st.left_out = 0;
  } else {
    st.fn(line);
  }
}

} // namespace omega
