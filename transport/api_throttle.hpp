#pragma once

#include <chrono>
#include <cstddef>
#include <string>
#include <string_view>

#include "transport/limit_report.hpp"
#include "transport/rate_limiter.hpp"

/// The rate limits of `POST /api/v0/login` and `register`, per client address
/// and per account (email). They run on the I/O thread before the request
/// queues for argon2id, so a flood costs the server no hashing.

namespace omega {

/// Attempts a minute (and as many in a burst); 0 turns a limit off.
struct throttle_limits {
  /// Failed logins: a successful one gives its tokens back, so a user who
  /// knows the password is never held up, however often they log in. A
  /// school behind one NAT address logs in at the start of a lesson: those
  /// succeed and cost nothing.
  size_t login_per_address = 30;
  /// Failed logins of one email: a few typos a minute, not a guessing run.
  size_t login_per_account = 6;
  /// Registrations (each one counts): a class signing up together.
  size_t register_per_address = 60;
  size_t register_per_account = 5;
};

/// Thread-safe.
class api_throttle {
public:
  /// Whether a request may go on, and if not, which limit refused it.
  struct decision {
    bool allowed = true;
    limit which = limit::login_per_address;
    std::chrono::seconds retry_after{0};
  };

  explicit api_throttle(const throttle_limits& limits);

  /// Takes the tokens of one attempt at `route` ("login" or "register"; any
  /// other route is always allowed) from `address` and `email` (already
  /// `email_key`ed; empty: no account limit; an empty `address`: no address
  /// limit). Nothing is taken if refused.
  decision admit(std::string_view route, const std::string& address,
                 const std::string& email, steady_time now);

  /// Returns the tokens `admit` took, for an attempt that does not count: a
  /// successful login, or one that never ran (the queue was full).
  void give_back(std::string_view route, const std::string& address,
                 const std::string& email);

private:
  rate_limiter login_address_;
  rate_limiter login_account_;
  rate_limiter register_address_;
  rate_limiter register_account_;
};

/// The account key of an email: trimmed and lower-cased, so that `A@x.org`
/// and `a@x.org` share a bucket whatever the store thinks of case.
std::string email_key(std::string_view email);

} // namespace omega
