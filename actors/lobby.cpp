#include "actors/lobby.hpp"

#include <algorithm>

#include <caf/typed_event_based_actor.hpp>

#include <sodium.h>

#include "actors/limit_log.hpp"
#include "actors/rejections.hpp"

namespace omega {

namespace {

std::array<unsigned char, 32> digest(const std::array<unsigned char, 32>& key,
                                     const std::string& password) {
  std::array<unsigned char, 32> result;
  crypto_generichash(result.data(), result.size(),
                     reinterpret_cast<const unsigned char*>(password.data()),
                     password.size(), key.data(), key.size());
  return result;
}

} // namespace

// -- queries ----------------------------------------------------------------

bool lobby_state::is_host(const std::string& id) const {
  return host && host->info.id == id;
}

size_t lobby_state::peer_index(const std::string& id) const {
  size_t index = 0;
  while (index < peers.size() && peers[index].info.id != id)
    ++index;
  return index;
}

lobby_state::member* lobby_state::find_peer(const std::string& id) {
  auto index = peer_index(id);
  return index < peers.size() ? &peers[index] : nullptr;
}

lobby_state::member* lobby_state::find_member(const std::string& id) {
  return is_host(id) ? &*host : find_peer(id);
}

bool lobby_state::password_matches(const std::string& attempt) const {
  auto d = digest(password_key, attempt);
  return sodium_memcmp(d.data(), password_digest.data(), d.size()) == 0;
}

std::optional<caf::result<joined>>
lobby_state::check_password(const join_lobby& req) {
  auto& limits = settings.passwords;
  auto now = self->clock().now();
  auto i = failures.find(req.peer.id);
  if (i != failures.end() && now - i->second.last >= limits.lockout) {
    failures.erase(i); // old enough to be forgotten
    i = failures.end();
  }
  auto locked_out = i != failures.end() && limits.max_failures > 0
                    && i->second.count >= limits.max_failures;
  // Neither check looks at the password: a locked-out guess learns nothing.
  if (locked_out || !failure_budget.available(now)) {
    count_rejection(limit_kind::password_locked);
    return caf::result<joined>{caf::make_error(ec::lobby_locked)};
  }
  if (password_matches(req.password)) {
    if (i != failures.end())
      failures.erase(i);
    return std::nullopt;
  }
  failure_budget.spend(now);
  if (i == failures.end()) {
    // Forget accounts whose failures are old before remembering another.
    if (failures.size() >= 1024)
      for (auto j = failures.begin(); j != failures.end();)
        j = now - j->second.last >= limits.lockout ? failures.erase(j) : ++j;
    i = failures.emplace(req.peer.id, failure_record{}).first;
  }
  auto& rec = i->second;
  ++rec.count;
  rec.last = now;
  if (limits.max_failures > 0 && rec.count == limits.max_failures)
    log_limit("lobby " + lobby_id + ": account " + req.peer.id
              + " locked out after " + std::to_string(rec.count)
              + " wrong passwords");
  if (!failure_budget.available(now))
    log_limit("lobby " + lobby_id
              + ": wrong-password budget spent; joins with a password get "
                "LOBBY_LOCKED until it refills");
  // The delay doubles with each recent failure: the CONNECTION waits for
  // this reply before its next command, so one client guesses serially.
  auto delay = limits.delay;
  for (uint32_t n = 1; n < rec.count && delay < limits.max_delay; ++n)
    delay *= 2;
  delay = std::min(delay, limits.max_delay);
  if (delay.count() <= 0)
    return caf::result<joined>{caf::make_error(ec::password_fail)};
  count_rejection(limit_kind::password_delayed);
  auto ticket = next_ticket++;
  held_failures.emplace(ticket, self->make_response_promise<joined>());
  self->delayed_send(self, delay, atom::password_due_v, ticket);
  return caf::result<joined>{held_failures.at(ticket)};
}

void lobby_state::release_failures() {
  auto held = std::move(held_failures);
  held_failures.clear();
  for (auto& kvp : held)
    kvp.second.deliver(caf::make_error(ec::password_fail));
}

evt::lobby_info lobby_state::info() const {
  evt::lobby_info result;
  result.lobby_id = lobby_id;
  if (host) {
    result.host_id = host->info.id;
    result.host_user = host->info.user;
  }
  result.max_peers = max_peers;
  result.current_peers = static_cast<uint32_t>(peers.size());
  result.locked = locked;
  result.password_required = has_password;
  return result;
}

// -- transitions ------------------------------------------------------------

std::optional<caf::error> lobby_state::ban_of(const std::string& account) {
  auto i = bans.find(account);
  if (i == bans.end())
    return std::nullopt;
  auto now = self->clock().now();
  if (now >= i->second) {
    bans.erase(i);
    return std::nullopt;
  }
  using namespace std::chrono;
  auto left
    = duration_cast<seconds>(i->second - now + seconds{1} - nanoseconds{1});
  return caf::make_error(ec::warning, "banned from this lobby for "
                                        + std::to_string(left.count())
                                        + " more seconds");
}

void lobby_state::ban(const std::string& account, uint32_t seconds) {
  auto length = std::min<std::chrono::seconds>(std::chrono::seconds{seconds},
                                               settings.max_ban);
  if (length.count() <= 0 || settings.max_bans == 0)
    return;
  auto now = self->clock().now();
  if (bans.size() >= settings.max_bans && bans.count(account) == 0) {
    for (auto i = bans.begin(); i != bans.end();)
      i = now >= i->second ? bans.erase(i) : std::next(i);
    if (bans.size() >= settings.max_bans)
      bans.erase(
        std::min_element(bans.begin(), bans.end(),
                         [](auto& x, auto& y) { return x.second < y.second; }));
  }
  bans[account] = now + length;
}

caf::result<joined> lobby_state::admit(join_lobby& req) {
  if (closed)
    return ec::lobby_notfound;
  if (auto barred = ban_of(req.peer.id))
    return std::move(*barred);
  if (is_host(req.peer.id))
    return ec::already_host;
  if (find_peer(req.peer.id) != nullptr)
    return ec::already_peer;
  if (!host || locked)
    return ec::lobby_locked;
  if (max_peers > 0 && peers.size() >= max_peers)
    return ec::lobby_full;
  if (has_password) {
    // The CL5 client has no case for PASSWORD_REQUIRED: it would wait for
    // an answer forever.
    if (req.password.empty())
      return profile == client_profile::cl5 ? ec::password_fail
                                            : ec::password_required;
    if (auto refused = check_password(req))
      return std::move(*refused);
  }
  self->monitor(req.conn);
  if (profile == client_profile::cl5)
    return admit_to_mesh(req);
  // In this order: the client's acknowledgements come first on its SINK,
  // before any event of this lobby and before the CONNECTION (told next)
  // replies to anything sent after CONFIG_PEER. The host hears last, so by
  // the time anyone could see the new peer, its CONNECTION knows that it
  // joined: if this node dies then, the CONNECTION (perhaps on another node)
  // reports LOBBY_CLOSE instead of retrying the join with the GAME that
  // takes over, which would answer LOBBY_NOTFOUND after ACK_PEER.
  if (has_password)
    self->send(req.sink, evt::password_ack{req.listener});
  self->send(req.sink, evt::ack_peer{lobby_id, host->info.id, host->info.user,
                                     host->info.pubkey, req.listener});
  auto rp = self->make_response_promise<joined>();
  rp.deliver(
    joined{caf::actor_cast<caf::actor>(self), instance, lobby_id, profile});
  self->send(host->sink,
             evt::new_peer{req.peer.id, req.peer.user, req.peer.pubkey});
  peers.push_back(member{req.peer, req.conn, req.sink});
  return rp;
}

caf::result<joined> lobby_state::admit_to_mesh(join_lobby& req) {
  // Each client sees the original server's order. Across clients only the
  // causal order can be seen, and it holds: everything a client is told
  // about a member comes from this LOBBY before any frame that member
  // relays to it. As in `admit`, the joiner's acknowledgements precede the
  // reply to its CONNECTION, and the host hears after that.
  auto& h = host->info;
  self->send(req.sink, evt::anticipate{h.id, h.user, h.pubkey});
  if (has_password)
    self->send(req.sink, evt::password_ack{req.listener});
  self->send(req.sink,
             evt::ack_peer{lobby_id, h.id, h.user, h.pubkey, req.listener});
  auto rp = self->make_response_promise<joined>();
  rp.deliver(
    joined{caf::actor_cast<caf::actor>(self), instance, lobby_id, profile});
  auto& p = req.peer;
  self->send(host->sink, evt::new_peer{p.id, p.user, p.pubkey});
  for (auto& x : peers) {
    self->send(x.sink, evt::anticipate{p.id, p.user, p.pubkey});
    self->send(req.sink, evt::discover{x.info.id, x.info.user, x.info.pubkey});
  }
  peers.push_back(member{req.peer, req.conn, req.sink});
  return rp;
}

const lobby_state::member* lobby_state::relay_target(const relay& x,
                                                     const member* from) {
  const member* to = nullptr;
  auto from_host = from != nullptr && host && from == &*host;
  auto from_peer = from != nullptr && !from_host;
  if (profile == client_profile::cl5) {
    // A full mesh: any member to any other member.
    if (from != nullptr && x.recipient != x.sender)
      to = find_member(x.recipient);
  } else if (x.op == opcode::make_offer) {
    if (!from_host) {
      reply_error(x.sender, ec::not_host, x.listener);
      return nullptr;
    }
    to = find_peer(x.recipient);
  } else if (x.op == opcode::make_answer) {
    if (!from_peer) {
      reply_error(x.sender, ec::not_peer, x.listener);
      return nullptr;
    }
    if (is_host(x.recipient))
      to = &*host;
  } else if (from_host) {
    to = find_peer(x.recipient);
  } else if (from_peer && is_host(x.recipient)) {
    to = &*host;
  }
  if (to == nullptr)
    reply_error(x.sender, ec::peer_invalid, x.listener);
  return to;
}

void lobby_state::forward(relay& x) {
  // The sender is looked up once: it decides the route and gets RELAY_OK.
  auto from = find_member(x.sender);
  auto to = relay_target(x, from);
  if (to == nullptr)
    return;
  auto user = profile == client_profile::cl5 ? from->info.user : std::string{};
  self->send(to->sink,
             relay_handoff{evt::relayed{x.op, std::move(x.payload), x.sender,
                                        std::move(user)},
                           from->sink, std::move(x.listener), x.read_at});
}

void lobby_state::claim(const std::string& sender,
                        const std::string& listener) {
  auto index = peer_index(sender);
  if (index == peers.size())
    return reply_error(sender, ec::not_peer, listener);
  if (host)
    return reply_error(sender, ec::warning, listener, "the lobby has a host");
  if (!allow_host_reclaim || !allow_peers_to_claim_host)
    return reply_error(sender, ec::warning, listener,
                       "this lobby does not let peers claim the host");
  promote(index, sender, listener);
}

void lobby_state::transfer(const std::string& sender, const std::string& target,
                           const std::string& listener) {
  if (!is_host(sender))
    return reply_error(sender, ec::not_host, listener);
  auto index = peer_index(target);
  if (index == peers.size())
    return reply_error(sender, ec::peer_invalid, listener);
  // The old host takes the last place in join order.
  peers.push_back(std::move(*host));
  host.reset();
  promote(index, sender, listener);
}

void lobby_state::kick(const std::string& sender, const std::string& target,
                       const std::string& listener, uint32_t ban_seconds) {
  if (!is_host(sender))
    return reply_error(sender, ec::not_host, listener);
  auto index = peer_index(target);
  if (index == peers.size())
    return reply_error(sender, ec::peer_invalid, listener);
  auto gone = std::move(peers[index]);
  peers.erase(peers.begin() + static_cast<ptrdiff_t>(index));
  if (ban_seconds > 0)
    ban(gone.info.id, ban_seconds);
  self->demonitor(gone.conn.address());
  self->send(gone.conn, lobby_closed{lobby_id, instance});
  announce_peer_gone(gone.info.id, listener);
}

void lobby_state::set_locked(const std::string& sender, bool value,
                             const std::string& listener) {
  if (!is_host(sender))
    return reply_error(sender, ec::not_host, listener);
  locked = value;
  self->send(host->sink, evt::lock_state{lobby_id, value, listener});
}

void lobby_state::depart(const caf::actor_addr& who) {
  if (closed)
    return drained(who);
  if (host && host->conn.address() == who) {
    auto old_id = std::move(host->info.id);
    host.reset();
    for (auto& m : peers)
      self->send(m.sink, evt::host_gone{old_id});
    if (!allow_host_reclaim || peers.empty())
      return destroy();
    if (!allow_peers_to_claim_host)
      return server_pick();
    // Hostless: the first CLAIM_HOST wins, or the server picks on timeout.
    self->delayed_send(self, settings.claim_timeout, atom::claim_end_v,
                       ++claim_epoch);
    return;
  }
  for (auto i = peers.begin(); i != peers.end(); ++i) {
    if (i->conn.address() == who) {
      auto id = std::move(i->info.id);
      peers.erase(i);
      if (!host && peers.empty())
        return destroy();
      announce_peer_gone(id, {});
      return;
    }
  }
}

void lobby_state::announce_peer_gone(const std::string& id,
                                     const std::string& listener) {
  if (host)
    self->send(host->sink, evt::peer_gone{id, listener});
  if (profile == client_profile::cl5)
    for (auto& m : peers)
      self->send(m.sink, evt::peer_gone{id, {}});
}

void lobby_state::promote(size_t index, const std::string& requester,
                          const std::string& listener) {
  host = std::move(peers[index]);
  peers.erase(peers.begin() + static_cast<ptrdiff_t>(index));
  ++claim_epoch; // closes any claim window
  auto& h = host->info;
  auto notice = [&](const member& m) {
    return evt::host_reclaim{h.id, h.user, lobby_id,
                             m.info.id == requester ? listener : std::string{}};
  };
  // Each CONNECTION learns its new role before its client can act on the
  // notice: the message to the CONNECTION is sent first.
  auto tell = [&](const member& m) {
    auto x = notice(m);
    self->send(m.conn, x);
    self->send(m.sink, std::move(x));
  };
  tell(*host);
  for (auto& m : peers)
    tell(m);
  if (!has_password)
    self->send(game, evt::new_host{h.id, h.user, lobby_id, h.pubkey});
}

void lobby_state::server_pick() {
  if (peers.empty())
    return destroy();
  promote(0, {}, {});
}

void lobby_state::destroy() {
  // Without members, every command that still arrives gets the error its
  // sender deserves (NOT_HOST, NOT_PEER, PEER_INVALID, LOBBY_NOTFOUND).
  closed = true;
  ++claim_epoch;
  host.reset();
  release_failures();
  // The GAME forgets the lobby first, so a former peer that hears
  // LOBBY_CLOSE may use its id again at once. The peers hear from here,
  // whatever the game's broadcast budget holds back.
  auto notice = lobby_closed{lobby_id, instance};
  std::vector<connection_actor> told;
  told.reserve(peers.size());
  for (auto& m : peers)
    told.emplace_back(m.conn);
  self->send(game, lobby_gone{notice, told});
  for (auto& m : peers) {
    draining.emplace_back(m.conn.address());
    self->send(m.conn, notice);
  }
  peers.clear();
  if (draining.empty())
    self->quit();
}

void lobby_state::drained(const caf::actor_addr& who) {
  auto i = std::find(draining.begin(), draining.end(), who);
  if (i == draining.end())
    return;
  draining.erase(i);
  if (draining.empty())
    self->quit();
}

void lobby_state::reply_error(const std::string& sender, ec code,
                              std::string listener, std::string reason) {
  auto x = evt::error_reply{code, std::move(reason), std::move(listener)};
  if (auto m = find_member(sender))
    self->send(m->sink, std::move(x));
  else
    self->send(caf::actor_cast<connection_actor>(self->current_sender()),
               std::move(x));
}

// -- behavior ---------------------------------------------------------------

lobby_actor::behavior_type
lobby(lobby_actor::stateful_pointer<lobby_state> self, cmd::config_host config,
      member_info host, connection_actor host_conn, sink_actor host_sink,
      game_actor game, uint64_t instance, lobby_settings settings,
      client_profile profile) {
  auto& st = self->state;
  st.self = self;
  st.profile = profile;
  st.game = std::move(game);
  st.lobby_id = std::move(config.lobby_id);
  st.instance = instance;
  st.settings = settings;
  st.allow_host_reclaim = config.allow_host_reclaim;
  st.allow_peers_to_claim_host = config.allow_peers_to_claim_host;
  st.max_peers = config.max_peers;
  st.failure_budget = token_bucket{settings.passwords.lobby_failures};
  if (!config.password.empty()) {
    st.has_password = true;
    randombytes_buf(st.password_key.data(), st.password_key.size());
    st.password_digest = digest(st.password_key, config.password);
    sodium_memzero(config.password.data(), config.password.size());
  }
  // ACK_HOST leaves before any event of this lobby can reach the host.
  self->send(host_sink, evt::ack_host{st.lobby_id, std::move(config.listener)});
  self->monitor(host_conn);
  st.host = lobby_state::member{std::move(host), std::move(host_conn),
                                std::move(host_sink)};
  self->set_down_handler(
    [=](const caf::down_msg& msg) { self->state.depart(msg.source); });
  return {
    // First: CAF 0.17 tries the handlers in order (see connection.cpp).
    [=](relay& x) { self->state.forward(x); },
    [=](join_lobby& req) { return self->state.admit(req); },
    [=](atom::info) -> caf::result<evt::lobby_info> {
      if (self->state.closed)
        return ec::lobby_notfound;
      return self->state.info();
    },
    [=](cmd::claim_host& x, const std::string& sender) {
      self->state.claim(sender, x.listener);
    },
    [=](cmd::transfer_host& x, const std::string& sender) {
      self->state.transfer(sender, x.target, x.listener);
    },
    [=](cmd::lock& x, const std::string& sender) {
      self->state.set_locked(sender, true, x.listener);
    },
    [=](cmd::unlock& x, const std::string& sender) {
      self->state.set_locked(sender, false, x.listener);
    },
    [=](cmd::size& x, const std::string& sender) {
      auto& st = self->state;
      if (!st.is_host(sender))
        return st.reply_error(sender, ec::not_host, std::move(x.listener));
      st.max_peers = x.max_peers;
      self->send(st.host->sink, evt::size_state{st.lobby_id, x.max_peers,
                                                std::move(x.listener)});
    },
    [=](cmd::kick& x, const std::string& sender) {
      self->state.kick(sender, x.target, x.listener, x.ban);
    },
    [=](atom::leave) {
      auto& st = self->state;
      if (st.closed)
        st.drained(caf::actor_cast<caf::actor_addr>(self->current_sender()));
    },
    [=](atom::claim_end, uint64_t epoch) {
      auto& st = self->state;
      if (epoch == st.claim_epoch && !st.host && !st.closed)
        st.server_pick();
    },
    [=](atom::password_due, uint64_t ticket) {
      auto& held = self->state.held_failures;
      if (auto i = held.find(ticket); i != held.end()) {
        i->second.deliver(caf::make_error(ec::password_fail));
        held.erase(i);
      }
    },
  };
}

} // namespace omega
