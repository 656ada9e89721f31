#pragma once

#include <functional>
#include <string>

/// The one warning line per cut-off or throttled lobby, rate-limited itself:
/// an attack that trips a limit a million times must not turn into a million
/// log lines. The server installs its logger at start; without one, nothing
/// is written (tests).

namespace omega {

using limit_logger = std::function<void(const std::string&)>;

/// Sets where limit warnings go (thread-safe; empty: nowhere).
void set_limit_logger(limit_logger fn);

/// Logs `line` unless another line went out less than a second ago; the
/// next line that goes out says how many were left out meanwhile.
void log_limit(const std::string& line);

} // namespace omega
