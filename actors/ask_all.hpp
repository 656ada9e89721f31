#pragma once

#include <chrono>
#include <memory>
#include <utility>

#include <caf/error.hpp>

/// Asking every peer node at once: the one pattern AUTH and DIRECTORY share
/// for read-through, session reservation and game lookup.

namespace omega {

/// How long a peer may take to answer. A peer that stops answering is
/// dropped by the middleman's heartbeat; until then it delays the asker by
/// at most this much and then counts as having nothing.
constexpr auto peer_timeout = std::chrono::seconds{3};

namespace detail {

template <class K, class V>
const V& handle_of(const std::pair<const K, V>& kvp) {
  return kvp.second;
}

template <class V>
const V& handle_of(const V& x) {
  return x;
}

} // namespace detail

/// Sends the message `xs...` to every handle in `peers` (a map to handles or
/// a list of them) and calls `on_reply(peer, result)` for each answer of type
/// `Result` and `done()` once, after every peer answered or failed. Calls
/// `done()` at once when there are no peers.
template <class Result, class Self, class Peers, class OnReply, class Done,
          class... Ts>
void ask_all(Self self, const Peers& peers, OnReply on_reply, Done done,
             const Ts&... xs) {
  if (peers.empty()) {
    done();
    return;
  }
  auto pending = std::make_shared<size_t>(peers.size());
  auto shared_done = std::make_shared<Done>(std::move(done));
  auto finish = [pending, shared_done] {
    if (--*pending == 0)
      (*shared_done)();
  };
  for (auto& entry : peers) {
    auto peer = detail::handle_of(entry);
    self->request(peer, peer_timeout, xs...)
      .then(
        [=](Result& result) mutable {
          on_reply(peer, result);
          finish();
        },
        [=](caf::error&) { finish(); });
  }
}

} // namespace omega
