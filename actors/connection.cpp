#include "actors/connection.hpp"

#include <iterator>
#include <optional>
#include <tuple>
#include <type_traits>

#include <caf/sec.hpp>
#include <caf/typed_event_based_actor.hpp>
#include <caf/typed_response_promise.hpp>

#include <sodium.h>

#include "actors/limit_log.hpp"
#include "actors/rejections.hpp"

namespace omega {

namespace {

/// Extracts the human-readable context of an error made by
/// `caf::make_error(code, "text")`.
std::string context_text(const caf::error& err) {
  auto& ctx = err.context();
  if (ctx.match_elements<std::string>())
    return ctx.get_as<std::string>(0);
  return {};
}

/// CLAIM_HOST and the host's commands: the LOBBY decides them, given the
/// sender, once the role mirror lets them through.
template <class T>
constexpr bool is_lobby_command_v
  = std::disjunction_v<std::is_same<T, cmd::claim_host>,
                       std::is_same<T, cmd::transfer_host>,
                       std::is_same<T, cmd::lock>, std::is_same<T, cmd::unlock>,
                       std::is_same<T, cmd::size>, std::is_same<T, cmd::kick>>;

/// An inspector (in CAF's sense) that adds up the strings of a message: what
/// holding a command back costs, give or take its fixed size.
struct string_bytes {
  using result_type = void;

  template <class... Ts>
  void operator()(Ts&&... xs) {
    (add(xs), ...);
  }

  void add(const std::string& x) {
    total += x.size();
  }

  template <class T>
  void add(const T&) {
    // nop: not a string
  }

  size_t total = 0;
};

size_t held_bytes(command& x) {
  string_bytes f;
  std::visit([&f](auto& c) { inspect(f, c); }, x);
  return sizeof(command) + f.total;
}

/// The opcode a command counts as for its rate (a malformed frame as the
/// opcode it named).
opcode opcode_of_command(const command& x) {
  return std::visit(
    [](auto& c) {
      using type = std::decay_t<decltype(c)>;
      if constexpr (std::is_same_v<type, cmd::bad_frame>)
        return c.op;
      else
        return opcode_of<type>;
    },
    x);
}

/// How the WARNING of a dropped command names its limit.
constexpr const char* rate_class_names[] = {
  "INIT", "lobby commands", "LOBBY_LIST and LOBBY_INFO", "relays", "KEEPALIVE",
};

constexpr limit_kind rate_class_counters[] = {
  limit_kind::init_rate,  limit_kind::lobby_rate,     limit_kind::query_rate,
  limit_kind::relay_rate, limit_kind::keepalive_rate,
};

static_assert(std::size(rate_class_names) == connection_state::rate_classes
              && std::size(rate_class_counters)
                   == connection_state::rate_classes);

/// A resume secret: 256 random bits, URL-safe base64.
std::string fresh_secret() {
  unsigned char bytes[32];
  randombytes_buf(bytes, sizeof(bytes));
  char text[sodium_base64_ENCODED_LEN(
    sizeof(bytes), sodium_base64_VARIANT_URLSAFE_NO_PADDING)];
  sodium_bin2base64(text, sizeof(text), bytes, sizeof(bytes),
                    sodium_base64_VARIANT_URLSAFE_NO_PADDING);
  return text;
}

/// Compares secrets in constant time (for equal lengths).
bool same_secret(const std::string& x, const std::string& y) {
  return !x.empty() && x.size() == y.size()
         && sodium_memcmp(x.data(), y.data(), x.size()) == 0;
}

} // namespace

// -- rate limits ------------------------------------------------------------

connection_state::rate_class connection_state::rate_class_of(opcode op) {
  switch (op) {
    case opcode::make_offer:
    case opcode::make_answer:
    case opcode::ice:
      return rate_class::relay;
    case opcode::init:
    case opcode::resume:
      return rate_class::init;
    case opcode::lobby_list:
    case opcode::lobby_info:
    case opcode::resumable:
    case opcode::turn_credentials:
      return rate_class::query;
    case opcode::config_host:
    case opcode::config_peer:
    case opcode::claim_host:
    case opcode::transfer_host:
    case opcode::lock:
    case opcode::unlock:
    case opcode::size:
    case opcode::kick:
      return rate_class::lobby;
    default:
      // KEEPALIVE and unknown opcodes: each gets a frame back.
      return rate_class::keepalive;
  }
}

namespace {

/// The payload size of a relay (0 for any other command).
size_t payload_bytes(const command& x) {
  return std::visit(
    [](auto& c) -> size_t {
      using type = std::decay_t<decltype(c)>;
      if constexpr (
        std::is_same_v<
          type,
          cmd::
            make_offer> || std::is_same_v<type, cmd::make_answer> || std::is_same_v<type, cmd::ice>)
        return c.payload.size();
      else
        return 0;
    },
    x);
}

} // namespace

void connection_state::throttle(command& x) {
  auto op = opcode_of_command(x);
  if (op == opcode::none)
    return; // unreadable: the connection ends anyway
  auto cls = static_cast<size_t>(rate_class_of(op));
  auto now = self->clock().now();
  std::string reason;
  if (!buckets[cls].take(now)) {
    count_rejection(rate_class_counters[cls]);
    reason = std::string{"rate limit: "} + rate_class_names[cls] + ", "
             + rate_text(buckets[cls].limit());
  } else if (is_relay(op) && !relay_bytes.take(now, payload_bytes(x))) {
    count_rejection(limit_kind::relay_bytes_rate);
    reason = "rate limit: relay payload bytes, "
             + rate_text(relay_bytes.limit());
  } else {
    return;
  }
  ++dropped;
  auto listener = std::visit([](auto& c) { return std::move(c.listener); }, x);
  if (!drops.take(now)) {
    count_rejection(limit_kind::rate_cutoff);
    log_limit("cut off "
              + (config.address.empty() ? "a client" : config.address)
              + (id.empty() ? std::string{} : " (account " + id + ")")
              + " for staying over its rate limits: " + std::to_string(dropped)
              + " commands dropped, the last for " + reason);
    violate("rate limits exceeded again and again (" + reason + ")",
            close_code::policy_violation, std::move(listener), true);
    return;
  }
  // A WARNING in the command's place: behind held commands it waits its
  // turn, so replies stay in command order.
  x = cmd::bad_frame{op, ec::warning, std::move(reason), 0,
                     std::move(listener)};
}

// -- ordering ---------------------------------------------------------------

void connection_state::on_command(command&& x) {
  if (proxy) {
    // The session this socket took over decides everything, limits too.
    self->send(proxy, std::move(x));
    return;
  }
  if (ended)
    return;
  throttle(x);
  if (ended)
    return;
  if (!busy())
    return dispatch(std::move(x));
  auto bytes = held_bytes(x);
  if (held() >= config.settings->max_pending
      || stash_bytes + bytes > config.settings->max_pending_bytes) {
    auto listener = std::visit([](auto& c) { return c.listener; }, x);
    return violate("too many commands in flight", close_code::policy_violation,
                   std::move(listener));
  }
  stash.emplace_back(std::move(x));
  stash_bytes += bytes;
  if (!reads_paused
      && (held() >= config.settings->pause_at
          || stash_bytes >= config.settings->pause_bytes)) {
    reads_paused = true;
    self->send(sink, read_gate{false});
  }
}

void connection_state::reopen_reads() {
  if (reads_paused && 2 * held() <= config.settings->pause_at
      && 2 * stash_bytes <= config.settings->pause_bytes) {
    reads_paused = false;
    self->send(sink, read_gate{true});
  }
}

void connection_state::dispatch(command&& x) {
  std::visit(
    [this](auto& c) {
      using type = std::decay_t<decltype(c)>;
      if constexpr (std::is_same_v<type, cmd::bad_frame>) {
        handle(c);
      } else if (auto code = refusal(opcode_of<type>)) {
        fail(*code, std::move(c.listener));
      } else if constexpr (is_relay(opcode_of<type>)) {
        forward_relay(opcode_of<type>, c);
      } else if constexpr (is_lobby_command_v<type>) {
        self->send(lobby, std::move(c), id);
      } else {
        handle(c);
      }
    },
    x);
}

std::optional<ec> connection_state::refusal(opcode op) const {
  // Relays' role errors are not here: they depend on the profile
  // (`forward_relay`), and a malformed relay is refused as malformed.
  switch (op) {
    case opcode::keepalive:
      return std::nullopt;
    case opcode::init:
    case opcode::resume:
      return authenticated ? std::optional{ec::session_exists} : std::nullopt;
    default:
      if (!authenticated)
        return ec::config_required;
  }
  switch (op) {
    case opcode::config_host:
    case opcode::config_peer:
      if (current == role::host)
        return ec::already_host;
      if (current == role::peer)
        return ec::already_peer;
      return std::nullopt;
    case opcode::claim_host:
      return current != role::peer ? std::optional{ec::not_peer} : std::nullopt;
    case opcode::transfer_host:
    case opcode::lock:
    case opcode::unlock:
    case opcode::size:
    case opcode::kick:
      return current != role::host ? std::optional{ec::not_host} : std::nullopt;
    default:
      return std::nullopt;
  }
}

void connection_state::resume() {
  // Two waits can overlap: INIT's answer from AUTH and the lookup of a lost
  // GAME. Commands stay held until neither is outstanding (the other's
  // answer resumes them).
  if (busy())
    return;
  auto events = std::move(deferred);
  deferred.clear();
  for (auto& x : events)
    std::visit([this](auto& y) { on_broadcast(y); }, x);
  // A command that starts a new busy period holds back the rest, which stay
  // ahead of anything newer. (Taken from the front by index: a stash of n
  // commands that each start a busy period costs O(n), not O(n^2).)
  while (stash_head < stash.size() && !busy() && !ended) {
    auto x = std::move(stash[stash_head++]);
    stash_bytes -= held_bytes(x);
    dispatch(std::move(x));
  }
  if (ended)
    return;
  if (stash_head == stash.size()) {
    stash.clear();
    stash_head = 0;
  } else if (stash_head >= 64 && 2 * stash_head >= stash.size()) {
    stash.erase(stash.begin(),
                stash.begin() + static_cast<ptrdiff_t>(stash_head));
    stash_head = 0;
  }
  reopen_reads();
}

// -- commands ---------------------------------------------------------------

void connection_state::handle(cmd::keepalive& x) {
  self->send(sink, evt::keepalive{std::move(x.payload), std::move(x.listener)});
}

void connection_state::handle(cmd::init& x) {
  auth_pending = true;
  self
    ->request(auth, caf::infinite,
              authenticate{std::move(x.token), config.origin, config.ugi})
    .then(
      [this, listener = x.listener](session_info& s) {
        auth_pending = false;
        on_authenticated(s, listener);
        resume();
      },
      [this, listener = x.listener](caf::error& err) {
        on_auth_failed(err, listener);
      });
}

void connection_state::on_auth_failed(const caf::error& err,
                                      const std::string& listener) {
  auth_pending = false;
  fail(err, listener, ec::warning);
  if (init_overdue)
    return on_init_deadline();
  resume();
}

void connection_state::on_authenticated(session_info& s,
                                        const std::string& listener) {
  authenticated = true;
  recount();
  id = s.id;
  user = s.user;
  profile = s.profile;
  if (game) // else the lookup under way subscribes
    self->send(game, atom::subscribe_v, connection_actor{self});
  self->send(sink,
             evt::init_ok{std::move(s.user), std::move(s.id), std::move(s.game),
                          std::move(s.developer), listener});
}

// -- session resume -----------------------------------------------------------

void connection_state::handle(cmd::resumable& x) {
  auto window = config.settings->resume.window;
  if (window.count() <= 0)
    return fail(ec::warning, std::move(x.listener),
                "session resume is off on this server");
  if (!hold)
    hold = std::make_unique<session_hold>();
  hold->secret = fresh_secret();
  self->send(sink, sink_control{caf::actor_cast<caf::actor>(self), true});
  auto seconds = std::chrono::duration_cast<std::chrono::seconds>(window);
  self->send(sink, evt::resumable{hold->secret,
                                  static_cast<uint32_t>(seconds.count()),
                                  std::move(x.listener)});
}

void connection_state::handle(cmd::resume& x) {
  auth_pending = true;
  self
    ->request(auth, caf::infinite,
              resume_request{authenticate{std::move(x.token), config.origin,
                                          config.ugi},
                             std::move(x.secret), sink, x.listener})
    .then(
      [this, listener = x.listener](resume_outcome& r) {
        auth_pending = false;
        if (r.session)
          return carry(caf::actor_cast<connection_actor>(r.session));
        fail(ec::resume_failed, listener, std::move(r.reason));
        on_authenticated(r.fresh, listener);
        resume();
      },
      [this, listener = x.listener](caf::error& err) {
        on_auth_failed(err, listener);
      });
}

void connection_state::carry(connection_actor session) {
  // The session's CONNECTION answered the client already; from now on it
  // gets this socket's commands, the held ones first. If it goes (its node
  // died), so does this socket: the client reconnects and finds out.
  proxy = std::move(session);
  self->monitor(proxy);
  counted.leave();
  for (auto i = stash_head; i < stash.size(); ++i)
    on_command(std::move(stash[i]));
  stash.clear();
  stash_head = 0;
  stash_bytes = 0;
  if (reads_paused) {
    reads_paused = false;
    self->send(sink, read_gate{true});
  }
}

caf::result<resume_grant> connection_state::on_take_over(take_over& x) {
  if (ended || !authenticated || !hold || x.ugi != config.ugi)
    return caf::make_error(ec::session_exists);
  if (!same_secret(x.secret, hold->secret)) {
    if (!hold->detached)
      return caf::make_error(ec::session_exists);
    // The client cannot prove it is the one that left: the held session
    // ends now, as at the end of its window, and the new socket starts
    // afresh.
    auto rp = self->make_response_promise<resume_grant>();
    rp.deliver(caf::make_error(ec::resume_failed, "wrong resume secret"));
    self->quit(caf::exit_reason::user_shutdown);
    return rp;
  }
  if (!hold->detached) {
    // The old socket still looks open (its loss went unnoticed so far): it
    // goes now, and its lobby's frames reach the new one through here.
    self->send(sink, atom::supersede_v);
  }
  if (hold->detached) {
    // Counted as a connection again, now that a socket carries it.
    hold->held.reset();
    counted.join(config.settings->census);
    recount();
  }
  hold->detached = false;
  ++hold->epoch;
  hold->secret = fresh_secret();
  if (hold->carrier)
    self->demonitor(hold->carrier);
  hold->carrier = x.carrier.address();
  if (x.carrier)
    self->monitor(x.carrier);
  sink = std::move(x.sink);
  self->send(sink, sink_control{caf::actor_cast<caf::actor>(self), true});
  self->send(sink, evt::init_ok{user, id, std::move(x.info.game),
                                std::move(x.info.developer), x.listener});
  self->send(sink, evt::resumed{hold->secret, lobby_id,
                                current == role::host   ? "host"
                                : current == role::peer ? "peer"
                                                        : "",
                                hold->dropped, x.listener});
  for (auto& frame : hold->kept)
    self->send(sink, evt::encoded{std::move(frame)});
  hold->kept.clear();
  hold->kept_bytes = 0;
  hold->dropped = 0;
  if (reads_paused)
    self->send(sink, read_gate{false});
  return resume_grant{caf::actor_cast<caf::actor>(self)};
}

void connection_state::on_socket_closed(socket_closed& x) {
  if (proxy) {
    self->send(proxy, std::move(x));
    self->quit(caf::exit_reason::user_shutdown);
    return;
  }
  if (x.sink != sink)
    return; // a socket this session left behind
  if (!x.lost || !hold || !authenticated || ended) {
    self->quit(caf::exit_reason::user_shutdown);
    return;
  }
  detach();
}

void connection_state::detach() {
  if (hold->carrier) {
    self->demonitor(hold->carrier);
    hold->carrier = caf::actor_addr{};
  }
  hold->detached = true;
  hold->held.emplace(held_sessions);
  // No socket: not an open connection while held.
  counted.leave();
  auto epoch = ++hold->epoch;
  self->delayed_send(self, config.settings->resume.window, atom::resume_end_v,
                     epoch);
}

void connection_state::on_kept(kept_frame& x) {
  if (!hold)
    return;
  if (!hold->detached && x.from != sink) {
    // A socket this session left: its lobby's frames go on to the new one.
    self->send(sink, std::move(x.frame));
    return;
  }
  keep(std::move(x.frame.frame));
}

void connection_state::keep(std::string frame) {
  hold->kept_bytes += frame.size();
  hold->kept.emplace_back(std::move(frame));
  auto& limits = config.settings->resume;
  while (!hold->kept.empty()
         && (hold->kept.size() > limits.max_frames
             || hold->kept_bytes > limits.max_bytes)) {
    hold->kept_bytes -= hold->kept.front().size();
    hold->kept.pop_front();
    ++hold->dropped;
  }
}

// -- TURN -------------------------------------------------------------------

void connection_state::handle(cmd::turn_credentials& x) {
  auto listener = x.listener;
  self->request(auth, caf::infinite, atom::turn_v, id)
    .then(
      [this, listener](evt::turn_credentials& creds) {
        creds.listener = listener;
        self->send(sink, std::move(creds));
      },
      [this, listener](caf::error& err) { fail(err, listener, ec::warning); });
}

void connection_state::handle(cmd::config_host& x) {
  if (config.settings->census
      && config.settings->census->draining.load(std::memory_order_relaxed))
    return fail(ec::warning, std::move(x.listener),
                "the server is shutting down; host on another server");
  pending_lobby = lobby_request::create;
  auto listener = x.listener;
  auto lid = x.lobby_id;
  auto ticket = await_game(x);
  member_info me{id, user, x.pubkey};
  self
    ->request(game, caf::infinite,
              create_lobby{std::move(x), std::move(me), connection_actor{self},
                           sink, profile})
    .then(
      [this, lid, ticket](hosting& h) {
        if (!settle(ticket))
          return;
        pending_lobby = lobby_request::none;
        self->monitor(h.lobby);
        current = role::host;
        recount();
        lobby = std::move(h.lobby);
        instance = h.instance;
        lobby_id = lid;
        lobby_profile = profile;
        resume();
      },
      [this, listener, ticket](caf::error& err) {
        if (!settle(ticket))
          return;
        pending_lobby = lobby_request::none;
        fail(err, listener, ec::warning);
        resume();
      });
}

void connection_state::handle(cmd::config_peer& x) {
  pending_lobby = lobby_request::join;
  auto listener = x.listener;
  auto lid = x.lobby_id;
  auto ticket = await_game(x);
  self
    ->request(game, caf::infinite,
              join_lobby{std::move(x.lobby_id), std::move(x.password),
                         member_info{id, user, std::move(x.pubkey)},
                         connection_actor{self}, sink, listener})
    .then(
      [this, ticket](joined& j) {
        if (!settle(ticket))
          return;
        pending_lobby = lobby_request::none;
        join_acked = false;
        current = role::peer;
        recount();
        lobby = caf::actor_cast<lobby_actor>(j.lobby);
        self->monitor(lobby);
        instance = j.instance;
        lobby_id = j.lobby_id;
        lobby_profile = j.profile;
        resume();
      },
      [this, listener, lid, ticket](caf::error& err) {
        if (!settle(ticket))
          return;
        pending_lobby = lobby_request::none;
        // The lobby may end between the GAME's lookup and the join.
        if (!end_acked_join(lid))
          fail(err, listener, ec::lobby_notfound);
        resume();
      });
}

template <class Relay>
void connection_state::forward_relay(opcode op, Relay& x) {
  if (relay_profile() == client_profile::cl5) {
    // A full mesh: only the lobby can tell whether the recipient is in it.
    if (current == role::none)
      return fail(ec::peer_invalid, std::move(x.listener));
  } else if (op == opcode::make_offer && current != role::host) {
    return fail(ec::not_host, std::move(x.listener));
  } else if (op == opcode::make_answer && current != role::peer) {
    return fail(ec::not_peer, std::move(x.listener));
  } else if (current == role::none) {
    return fail(ec::peer_invalid, std::move(x.listener));
  }
  self->send(lobby, relay{op, id, std::move(x.recipient), std::move(x.payload),
                          std::move(x.listener), x.read_at});
}

void connection_state::handle(cmd::lobby_list& x) {
  auto listener = x.listener;
  auto ticket = await_game(x);
  self->request(game, caf::infinite, std::move(x))
    .then(
      [this, ticket](evt::lobby_list& xs) {
        if (settle(ticket))
          self->send(sink, std::move(xs));
      },
      [this, listener, ticket](caf::error& err) {
        if (settle(ticket))
          fail(err, listener, ec::warning);
      });
}

void connection_state::handle(cmd::lobby_info& x) {
  auto listener = x.listener;
  auto ticket = await_game(x);
  self->request(game, caf::infinite, std::move(x))
    .then(
      [this, listener, ticket](evt::lobby_info& info) {
        if (!settle(ticket))
          return;
        info.listener = listener;
        self->send(sink, std::move(info));
      },
      [this, listener, ticket](caf::error& err) {
        if (settle(ticket))
          fail(err, listener, ec::lobby_notfound);
      });
}

void connection_state::handle(cmd::bad_frame& x) {
  if (x.op == opcode::none)
    return violate(std::move(x.reason), x.close, std::move(x.listener));
  if (x.code == ec::warning)
    return fail(ec::warning, std::move(x.listener), std::move(x.reason));
  // A known opcode with a bad payload: the state checks that PROTOCOL.md
  // puts before VIOLATION come first.
  if (auto code = refusal(x.op))
    return fail(*code, std::move(x.listener));
  violate(std::move(x.reason), x.close, std::move(x.listener));
}

// -- replies ----------------------------------------------------------------

void connection_state::fail(ec code, std::string listener, std::string reason) {
  self->send(sink,
             evt::error_reply{code, std::move(reason), std::move(listener)});
}

void connection_state::fail(const caf::error& err, std::string listener,
                            ec fallback) {
  if (err.category() == caf::atom("omega")) {
    auto code = static_cast<ec>(err.code());
    if (code == ec::violation)
      return violate(context_text(err), close_code::policy_violation,
                     std::move(listener));
    return fail(code, std::move(listener), context_text(err));
  }
  if (err == caf::sec::request_receiver_down && fallback != ec::warning)
    return fail(fallback, std::move(listener));
  fail(ec::warning, std::move(listener), "service unavailable, try again");
}

bool connection_state::end_acked_join(const std::string& lobby_id) {
  if (!join_acked)
    return false;
  join_acked = false;
  self->send(sink, evt::lobby_close{lobby_id});
  return true;
}

void connection_state::violate(std::string reason, uint16_t close,
                               std::string listener, bool abuse) {
  if (ended)
    return;
  ended = true;
  stash.clear();
  stash_head = 0;
  stash_bytes = 0;
  self->send(sink, evt::violation{std::move(reason), close, std::move(listener),
                                  abuse});
  self->quit(caf::exit_reason::user_shutdown);
}

void connection_state::on_init_deadline() {
  if (authenticated || proxy)
    return;
  if (auth_pending) {
    init_overdue = true; // AUTH's answer decides
    return;
  }
  violate("no successful INIT within the deadline",
          close_code::policy_violation, {});
}

void connection_state::leave_lobby() {
  if (lobby)
    self->demonitor(lobby.address());
  current = role::none;
  recount();
  lobby = nullptr;
  instance = 0;
  lobby_id.clear();
}

// -- broadcasts --------------------------------------------------------------

void connection_state::on_broadcast(evt::new_host& x) {
  if (authenticated && current == role::none)
    self->send(sink, std::move(x));
}

void connection_state::on_broadcast(lobby_closed& x) {
  if (current != role::none) {
    if (x.instance != instance)
      return; // another lobby's end; not this client's business
    // Tell a destroyed LOBBY that nothing more comes from here.
    self->send(lobby, atom::leave_v);
    leave_lobby();
  } else if (!authenticated) {
    return;
  }
  self->send(sink, evt::lobby_close{std::move(x.lobby_id)});
}

// -- services ---------------------------------------------------------------

uint64_t connection_state::await_game(command x) {
  auto ticket = next_ticket++;
  game_waiters.emplace(ticket, std::move(x));
  return ticket;
}

caf::timespan connection_state::game_retry_delay(size_t n) {
  using namespace std::chrono;
  if (n <= 1)
    return caf::timespan{0};
  auto delay = milliseconds{5} * (size_t{1} << std::min<size_t>(n - 2, 7));
  return std::min<caf::timespan>(delay, milliseconds{500});
}

bool connection_state::settle(uint64_t ticket) {
  return game_waiters.erase(ticket) > 0;
}

void connection_state::lookup_game() {
  self->request(directory, caf::infinite, caf::get_atom_v, config.ugi)
    .then(
      [this](game_actor& g) {
        game = std::move(g);
        game_found = self->clock().now();
        self->monitor(game);
        if (authenticated)
          self->send(game, atom::subscribe_v, connection_actor{self});
        resume();
      },
      [this](caf::error& err) {
        if (err.category() == caf::atom("omega"))
          violate(context_text(err), close_code::policy_violation, {});
        else
          violate("game directory unavailable", close_code::internal_error, {});
      });
}

void connection_state::on_down(const caf::down_msg& msg) {
  if (proxy && msg.source == proxy.address()) {
    // The session ended where it ran: close the socket (1000) so that the
    // client reconnects.
    self->send(sink, atom::supersede_v);
    self->quit(caf::exit_reason::user_shutdown);
  } else if (hold && hold->carrier && msg.source == hold->carrier) {
    // The socket's node is gone without telling: the socket is lost.
    if (!ended)
      detach();
  } else if (lobby && msg.source == lobby.address()) {
    // The LOBBY ended without closing (it failed, or its node is gone): the
    // lobby is over for this client.
    end_lobby();
  } else if (game && msg.source == game.address()) {
    on_game_down();
  } else if (msg.source == auth.address() && !authenticated) {
    violate("authentication service unavailable", close_code::internal_error,
            {});
  } else if (msg.source == directory.address() && !game) {
    violate("game directory unavailable", close_code::internal_error, {});
  }
}

void connection_state::end_lobby() {
  auto lid = lobby_id;
  leave_lobby();
  self->send(sink, evt::lobby_close{std::move(lid)});
}

void connection_state::on_game_down() {
  // The GAME is gone, and its lobbies with it. Answer what waited on it,
  // then find the game again (the DIRECTORY spawns a fresh GAME).
  if (current != role::none)
    end_lobby();
  // Commands that waited on it go to the GAME that takes over, ahead of
  // the ones stashed behind them; answers of the lost GAME that still come
  // are stale (`settle`).
  std::vector<command> again;
  for (auto& kvp : game_waiters) {
    // A join that the client saw acknowledged happened, in a lobby that
    // died with this GAME (a lobby lives on its GAME's node); the LOBBY's
    // reply was lost on the way. Asking the next GAME would answer
    // LOBBY_NOTFOUND after ACK_PEER.
    auto join = std::get_if<cmd::config_peer>(&kvp.second);
    if (join == nullptr || !end_acked_join(join->lobby_id))
      again.emplace_back(std::move(kvp.second));
  }
  game_waiters.clear();
  pending_lobby = lobby_request::none;
  if (self->clock().now() - game_found >= std::chrono::seconds{1})
    game_retries = 0;
  if (++game_retries > max_game_retries) {
    for (auto& x : again)
      fail(ec::warning, std::visit([](auto& c) { return c.listener; }, x),
           "game unavailable, try again");
    again.clear();
  }
  for (auto& x : again)
    stash_bytes += held_bytes(x);
  stash.insert(stash.begin() + static_cast<ptrdiff_t>(stash_head),
               std::make_move_iterator(again.begin()),
               std::make_move_iterator(again.end()));
  game = nullptr;
  if (game_retries <= 1) {
    lookup_game();
  } else {
    // Commands wait in the stash until the GAME is back.
    self->delayed_send(self, game_retry_delay(game_retries), atom::tick_v);
  }
}

std::shared_ptr<const connection_settings> default_connection_settings() {
  static const auto instance = std::make_shared<const connection_settings>();
  return instance;
}

// -- behavior ---------------------------------------------------------------

connection_actor::behavior_type
connection(connection_actor::stateful_pointer<connection_state> self,
           sink_actor sink, auth_actor auth, directory_actor directory,
           connection_config config) {
  auto& st = self->state;
  st.self = self;
  st.sink = std::move(sink);
  st.auth = std::move(auth);
  st.directory = std::move(directory);
  st.config = std::move(config);
  st.counted.join(st.config.settings->census);
  auto& rates = st.config.settings->rates;
  st.buckets = {token_bucket{rates.init}, token_bucket{rates.lobby},
                token_bucket{rates.query}, token_bucket{rates.relay},
                token_bucket{rates.keepalive}};
  st.drops = token_bucket{rates.drops};
  st.relay_bytes = token_bucket{rates.relay_bytes};
  self->monitor(st.auth);
  self->monitor(st.directory);
  self->set_down_handler([=](caf::down_msg& msg) { self->state.on_down(msg); });
  if (st.config.settings->init_timeout.count() > 0)
    self->delayed_send(self, st.config.settings->init_timeout,
                       atom::init_deadline_v);
  st.lookup_game();
  using role = connection_state::role;
  return {
    [=](command& x) { self->state.on_command(std::move(x)); },
    // Notifications and replies: update the role mirror, then forward.
    [=](evt::new_host& x) {
      auto& st = self->state;
      if (st.busy())
        st.deferred.emplace_back(std::move(x));
      else
        st.on_broadcast(x);
    },
    [=](evt::host_reclaim& x) {
      auto& st = self->state;
      if (st.current == role::none)
        return;
      if (x.id == st.id)
        st.current = role::host;
      else if (st.current == role::host)
        st.current = role::peer; // TRANSFER_HOST handed the lobby on
      st.recount();
    },
    [=](evt::error_reply& x) { self->send(self->state.sink, std::move(x)); },
    [=](const evt::ack_peer&) {
      // Only matters until the LOBBY's reply settles the join.
      auto& st = self->state;
      if (st.pending_lobby == connection_state::lobby_request::join)
        st.join_acked = true;
    },
    [=](lobby_closed& x) {
      auto& st = self->state;
      if (st.busy())
        st.deferred.emplace_back(std::move(x));
      else
        st.on_broadcast(x);
    },
    [=](atom::tick) {
      // A paused lookup of a lost GAME (`on_down`) is due.
      if (!self->state.game)
        self->state.lookup_game();
    },
    [=](atom::init_deadline) { self->state.on_init_deadline(); },
    [=](socket_closed& x) { self->state.on_socket_closed(x); },
    [=](kept_frame& x) { self->state.on_kept(x); },
    [=](take_over& x) { return self->state.on_take_over(x); },
    [=](atom::resume_end, uint64_t epoch) {
      auto& hold = self->state.hold;
      if (hold && hold->detached && hold->epoch == epoch)
        self->quit(caf::exit_reason::user_shutdown);
    },
  };
}

} // namespace omega
