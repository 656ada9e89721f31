#include "messages/placement.hpp"

#include <cstdint>

namespace omega {

namespace {

/// FNV-1a with a final mix: stable across builds and machines, unlike
/// std::hash, because every node must rank nodes the same way.
uint64_t stable_hash(const std::string& node, const std::string& ugi) {
  uint64_t h = 14695981039346656037ull;
  auto mix = [&h](unsigned char c) {
    h ^= c;
    h *= 1099511628211ull;
  };
  for (auto c : node)
    mix(static_cast<unsigned char>(c));
  mix(0);
  for (auto c : ugi)
    mix(static_cast<unsigned char>(c));
  h ^= h >> 33;
  h *= 0xff51afd7ed558ccdull;
  h ^= h >> 33;
  return h;
}

} // namespace

std::string owner_of(const std::string& ugi,
                     const std::vector<std::string>& nodes) {
  std::string best;
  uint64_t best_score = 0;
  for (auto& node : nodes) {
    auto score = stable_hash(node, ugi);
    if (best.empty() || score > best_score
        || (score == best_score && node < best)) {
      best = node;
      best_score = score;
    }
  }
  return best;
}

} // namespace omega
