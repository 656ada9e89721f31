#pragma once

#include <cstddef>
#include <memory>
#include <mutex>
#include <string>
#include <unordered_map>

/// Counts open WebSocket connections per client address and in total, so one
/// host (or a botnet) cannot take every file descriptor of the server. The
/// gateway asks before it accepts an upgrade; the session holds the slot it
/// got until it is destroyed.

namespace omega {

class connection_limiter;

/// One counted connection; releases its count when destroyed. Movable, and
/// empty (counting nothing) when default-constructed or moved from.
class connection_slot {
public:
  connection_slot() = default;

  connection_slot(std::shared_ptr<connection_limiter> owner, std::string key);

  connection_slot(connection_slot&& other) noexcept = default;

  connection_slot& operator=(connection_slot&& other) noexcept;

  connection_slot(const connection_slot&) = delete;

  connection_slot& operator=(const connection_slot&) = delete;

  ~connection_slot();

  explicit operator bool() const {
    return owner_ != nullptr;
  }

private:
  void reset();

  std::shared_ptr<connection_limiter> owner_;
  std::string key_;
};

/// Thread-safe counts; zero limits mean no limit.
class connection_limiter
  : public std::enable_shared_from_this<connection_limiter> {
public:
  /// Which cap refused a connection.
  enum class verdict { ok, per_address, total };

  connection_limiter(size_t per_address, size_t total);

  /// Counts a connection of `key` if both caps allow it; `slot` holds it.
  /// An empty `key` (an unlimited address) meets the total cap only.
  verdict acquire(const std::string& key, connection_slot& slot);

  /// Open connections of `key`, and in total.
  size_t open(const std::string& key) const;
  size_t open() const;

  size_t per_address() const {
    return per_address_;
  }

  size_t total() const {
    return total_;
  }

private:
  friend class connection_slot;

  void release(const std::string& key);

  size_t per_address_;
  size_t total_;
  mutable std::mutex mtx_;
  std::unordered_map<std::string, size_t> open_;
  size_t open_total_ = 0;
};

} // namespace omega
