#pragma once

#include <functional>
#include <string>

#include "tools/abuse/setup.hpp"

namespace omega::abuse {

/// What one login attempt came to: the HTTP status (0: no answer within
/// the time limit, or a transport error) and how long it took.
struct login_result {
  unsigned status = 0;
  double seconds = 0;
};

/// Sends one `POST /api/v0/login` from `source` to `s.server` on `ioc` and
/// calls `done` with its result (on an `ioc` thread). Times out after 30 s.
void login_once(net::io_context& ioc, const setup& s,
                const net::ip::address& source, const std::string& email,
                const std::string& password,
                std::function<void(login_result)> done);

} // namespace omega::abuse
