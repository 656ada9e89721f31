#pragma once

#include <string>
#include <string_view>

namespace omega::bench {

/// Formats a number for the RESULT line and the summary: fixed decimals,
/// "na" if negative or not finite (unknown).
std::string num(double x, int decimals = 1);

/// x per CPU-second, or -1 when the CPU time is unknown or zero.
double per_cpu(double x, double cpu);

/// The first 160 characters of a frame or message, for error texts.
std::string excerpt(std::string_view x);

} // namespace omega::bench
