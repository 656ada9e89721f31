#include "transport/connection_limiter.hpp"

namespace omega {

// -- connection_slot ----------------------------------------------------------

connection_slot::connection_slot(std::shared_ptr<connection_limiter> owner,
                                 std::string key)
  : owner_(std::move(owner)), key_(std::move(key)) {
  // nop
}

connection_slot& connection_slot::operator=(connection_slot&& other) noexcept {
  if (this != &other) {
    reset();
    owner_ = std::move(other.owner_);
    key_ = std::move(other.key_);
  }
  return *this;
}

connection_slot::~connection_slot() {
  reset();
}

void connection_slot::reset() {
  if (owner_) {
    owner_->release(key_);
    owner_.reset();
  }
}

// -- connection_limiter -------------------------------------------------------

connection_limiter::connection_limiter(size_t per_address, size_t total)
  : per_address_(per_address), total_(total) {
  // nop
}

connection_limiter::verdict connection_limiter::acquire(const std::string& key,
                                                        connection_slot& slot) {
  {
    std::lock_guard<std::mutex> guard{mtx_};
    if (total_ > 0 && open_total_ >= total_)
      return verdict::total;
    auto& n = open_[key];
    if (per_address_ > 0 && n >= per_address_ && !key.empty())
      return verdict::per_address;
    ++n;
    ++open_total_;
  }
  slot = connection_slot{shared_from_this(), key};
  return verdict::ok;
}

size_t connection_limiter::open(const std::string& key) const {
  std::lock_guard<std::mutex> guard{mtx_};
  auto i = open_.find(key);
  return i != open_.end() ? i->second : 0;
}

size_t connection_limiter::open() const {
  std::lock_guard<std::mutex> guard{mtx_};
  return open_total_;
}

void connection_limiter::release(const std::string& key) {
  std::lock_guard<std::mutex> guard{mtx_};
  auto i = open_.find(key);
  if (i == open_.end())
    return;
  --open_total_;
  if (--i->second == 0)
    open_.erase(i);
}

} // namespace omega
