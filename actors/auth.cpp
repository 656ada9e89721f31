#include "actors/auth.hpp"

#include <optional>

#include <caf/system_messages.hpp>
#include <caf/typed_event_based_actor.hpp>
#include <caf/typed_response_promise.hpp>

#include "actors/ask_all.hpp"

namespace omega {

namespace {

using auth_pointer = auth_actor::stateful_pointer<auth_state>;

/// Rows per table in one push message.
constexpr size_t push_batch = 500;

/// Push messages per table per tick, so one tick never blocks the actor for
/// long; a larger backlog continues with the next tick.
constexpr int max_push_batches = 100;

/// Asks every peer for the rows that answer `query` and imports them; then
/// calls `done(rows imported)`.
template <class Done>
void pull(auth_pointer self, const replica_query& query, Done done) {
  auto imported = std::make_shared<uint64_t>(0);
  ask_all<replica>(
    self, self->state.peers,
    [=](const auth_actor&, replica& rows) {
      *imported += rows.size();
      self->state.store->import_rows(rows);
    },
    [=]() mutable { done(*imported); }, query);
}

/// The last step of an INIT: every peer AUTH must agree to hold the session
/// for `conn` (none to ask on a single node). A refusal anywhere releases it
/// everywhere. Then `done(info)`, or `done(SESSION_EXISTS)`.
template <class Done>
void reserve_at_peers(auth_pointer self, session_info info,
                      caf::strong_actor_ptr conn, Done done) {
  struct votes {
    bool refused = false;
    std::vector<auth_actor> granted;
  };
  auto v = std::make_shared<votes>();
  auto handle = caf::actor_cast<connection_actor>(conn);
  ask_all<bool>(
    self, self->state.peers,
    [=](const auth_actor& peer, bool granted) {
      if (granted)
        v->granted.push_back(peer);
      else
        v->refused = true;
    },
    // A peer that cannot answer holds no session this node could see.
    [=]() mutable {
      if (!v->refused) {
        done(caf::expected<session_info>{info});
        return;
      }
      for (auto& peer : v->granted)
        self->send(peer, atom::release_v, info.id, handle);
      self->state.sessions.release(info.id,
                                   caf::actor_cast<caf::actor_addr>(conn));
      done(caf::expected<session_info>{caf::make_error(ec::session_exists)});
    },
    atom::reserve_v, info.id, handle);
}

/// Checks an INIT token in PROTOCOL.md's order, up to the session: then
/// `valid(token, game)`. With peers and rows missing here, it first asks the
/// peers for them (once) and checks again. `Promise` gets the errors.
template <class Promise, class Valid>
void check(auth_pointer self, authenticate req, Promise rp, Valid valid,
           bool pulled = false) {
  auto& st = self->state;
  auto tok = st.store->find_token(req.token);
  if (auto version = st.store->games_version(); version != st.games_version) {
    st.games.clear();
    st.games_version = version;
  }
  std::optional<game_record> game;
  if (auto i = st.games.find(req.ugi); i != st.games.end()) {
    game = i->second;
  } else if ((game = st.store->find_game(req.ugi))) {
    st.games.emplace(req.ugi, *game);
  }
  if ((!tok || !game) && !pulled && !st.peers.empty()) {
    replica_query query;
    if (!tok)
      query.token_digest = token_digest(req.token);
    if (!game)
      query.ugi = req.ugi;
    pull(self, query, [=](uint64_t) mutable {
      check(self, std::move(req), std::move(rp), std::move(valid), true);
    });
    return;
  }
  if (!tok) {
    rp.deliver(caf::make_error(ec::token_invalid));
    return;
  }
  if (st.now() >= tok->expires) {
    rp.deliver(caf::make_error(ec::token_expired));
    return;
  }
  if (!tok->origin.empty() && tok->origin != req.origin) {
    rp.deliver(caf::make_error(ec::token_origin_mismatch));
    return;
  }
  if (!game) {
    rp.deliver(caf::make_error(ec::violation, "unknown game"));
    return;
  }
  valid(*tok, *game);
}

/// The session step of an INIT: `conn` holds the account's one session,
/// unless someone else does. Then `done(info)` or `done(SESSION_EXISTS)`.
template <class Done>
void admit(auth_pointer self, const token_record& tok, const game_record& game,
           caf::strong_actor_ptr conn, Done done) {
  auto& st = self->state;
  if (st.sessions.count(tok.account_id) > 0) {
    done(caf::expected<session_info>{caf::make_error(ec::session_exists)});
    return;
  }
  auto addr = caf::actor_cast<caf::actor_addr>(conn);
  st.sessions.add(tok.account_id, addr);
  self->monitor(conn);
  session_info info{tok.account_id, tok.user, game.name, game.developer,
                    game.profile};
  reserve_at_peers(self, std::move(info), std::move(conn), std::move(done));
}

using outcome_promise = caf::typed_response_promise<resume_outcome>;

/// A RESUME without a session to take: a fresh one, as INIT would start.
void start_fresh(auth_pointer self, const token_record& tok,
                 const game_record& game, caf::strong_actor_ptr conn,
                 outcome_promise rp, std::string reason) {
  admit(self, tok, game, std::move(conn),
        [=](caf::expected<session_info> info) mutable {
          if (!info)
            rp.deliver(info.error());
          else
            rp.deliver(resume_outcome{{}, std::move(*info), std::move(reason)});
        });
}

/// The session step of a RESUME: asks the account's session, on whatever
/// node it runs, to move to the requester's socket.
void take_session(auth_pointer self, resume_request req,
                  const token_record& tok, const game_record& game,
                  caf::strong_actor_ptr conn, outcome_promise rp) {
  auto& st = self->state;
  auto addr = st.sessions.holder(tok.account_id);
  auto holder = addr != nullptr ? caf::actor_cast<caf::actor>(*addr)
                                : caf::actor{};
  if (!holder)
    return start_fresh(self, tok, game, std::move(conn), std::move(rp),
                       "no session to resume");
  session_info info{tok.account_id, tok.user, game.name, game.developer,
                    game.profile};
  auto account = tok.account_id;
  self
    ->request(caf::actor_cast<connection_actor>(holder), caf::infinite,
              take_over{std::move(info), std::move(req.creds.ugi),
                        std::move(req.secret), std::move(req.sink),
                        std::move(req.listener),
                        caf::actor_cast<caf::actor>(conn)})
    .then(
      [=](resume_grant& grant) mutable {
        rp.deliver(resume_outcome{std::move(grant.session), {}, {}});
      },
      [=](caf::error& err) mutable {
        auto ended = err == caf::sec::request_receiver_down
                     || (err.category() == caf::atom("omega")
                         && static_cast<ec>(err.code()) == ec::resume_failed);
        if (!ended) {
          rp.deliver(std::move(err));
          return;
        }
        // The session ended (it did so itself for a wrong secret): its
        // down message may still be on its way.
        self->state.sessions.release(account, holder.address());
        start_fresh(self, tok, game, std::move(conn), std::move(rp),
                    err == caf::sec::request_receiver_down
                      ? "no session to resume"
                      : "wrong resume secret");
      });
}

} // namespace

// -- session_table ----------------------------------------------------------

size_t session_table::count(const std::string& account) const {
  return holders_.count(account);
}

const caf::actor_addr* session_table::holder(const std::string& account) const {
  if (auto i = holders_.find(account); i != holders_.end())
    return &i->second;
  return nullptr;
}

void session_table::add(const std::string& account,
                        const caf::actor_addr& addr) {
  holders_.emplace(account, addr);
  accounts_.emplace(addr, account);
}

void session_table::release(const std::string& account,
                            const caf::actor_addr& addr) {
  if (auto i = holders_.find(account);
      i != holders_.end() && i->second == addr) {
    accounts_.erase(addr);
    holders_.erase(i);
  }
}

void session_table::release(const caf::actor_addr& addr) {
  if (auto i = accounts_.find(addr); i != accounts_.end()) {
    holders_.erase(i->second);
    accounts_.erase(i);
  }
}

// -- AUTH -------------------------------------------------------------------

auth_actor::behavior_type
auth(auth_pointer self, std::shared_ptr<auth_store> store, clock_function now,
     caf::timespan push_interval, turn_settings turn) {
  self->state.store = std::move(store);
  self->state.turn = std::move(turn);
  self->state.now = now ? std::move(now) : [] { return wall_clock::now(); };
  self->set_down_handler([=](const caf::down_msg& msg) {
    self->state.sessions.release(msg.source);
  });
  return {
    [=](authenticate& req) -> caf::result<session_info> {
      auto conn = self->current_sender();
      if (!conn)
        return caf::make_error(ec::violation, "anonymous INIT");
      auto rp = self->make_response_promise<session_info>();
      check(self, std::move(req), rp,
            [=](const token_record& tok, const game_record& game) mutable {
              admit(self, tok, game, conn,
                    [=](caf::expected<session_info> info) mutable {
                      if (info)
                        rp.deliver(std::move(*info));
                      else
                        rp.deliver(info.error());
                    });
            });
      return rp;
    },
    [=](resume_request& req) -> caf::result<resume_outcome> {
      auto conn = self->current_sender();
      if (!conn)
        return caf::make_error(ec::violation, "anonymous RESUME");
      auto rp = self->make_response_promise<resume_outcome>();
      auto creds = req.creds;
      check(self, std::move(creds), rp,
            [=](const token_record& tok, const game_record& game) mutable {
              take_session(self, std::move(req), tok, game, conn, rp);
            });
      return rp;
    },
    [=](atom::turn,
        const std::string& account) -> caf::result<evt::turn_credentials> {
      auto& st = self->state;
      if (!st.turn.enabled())
        return evt::turn_credentials{};
      auto now = self->clock().now();
      if (st.turn_budgets.size() >= 4096)
        for (auto i = st.turn_budgets.begin(); i != st.turn_budgets.end();)
          i = i->second.full(now) ? st.turn_budgets.erase(i) : std::next(i);
      auto i = st.turn_budgets.try_emplace(account, st.turn.rate).first;
      if (!i->second.take(now))
        return caf::make_error(ec::warning, "rate limit: TURN_CREDENTIALS, "
                                              + rate_text(st.turn.rate)
                                              + " per account");
      return turn_grant(st.turn, account, st.now());
    },
    [=](const replica_query& query) -> replica {
      return self->state.store->lookup(query);
    },
    [=](const replica& rows) { self->state.store->import_rows(rows); },
    [=](atom::pull, const replica_query& query) -> caf::result<uint64_t> {
      auto rp = self->make_response_promise<uint64_t>();
      pull(self, query,
           [=](uint64_t imported) mutable { rp.deliver(imported); });
      return rp;
    },
    [=](atom::reserve, const std::string& account,
        const connection_actor& conn) -> bool {
      auto& st = self->state;
      auto addr = caf::actor_cast<caf::actor_addr>(conn);
      if (auto holder = st.sessions.holder(account))
        return *holder == addr;
      st.sessions.add(account, addr);
      // Released when the CONNECTION ends or its node is lost.
      self->monitor(conn);
      return true;
    },
    [=](atom::release, const std::string& account,
        const connection_actor& conn) {
      self->state.sessions.release(account,
                                   caf::actor_cast<caf::actor_addr>(conn));
    },
    [=](const cluster_view& view) {
      auto& st = self->state;
      std::map<std::string, auth_actor> peers;
      bool joined = false;
      for (auto& card : view.peers) {
        auto peer = caf::actor_cast<auth_actor>(card.auth);
        if (!peer)
          continue;
        auto i = st.peers.find(card.name);
        if (i == st.peers.end() || i->second != peer)
          joined = true;
        peers.emplace(card.name, std::move(peer));
      }
      st.peers = std::move(peers);
      // A node that (re)joins may lack anything: push everything again.
      if (joined)
        st.pushed = replica_cursor{};
      if (!st.peers.empty() && !st.ticking) {
        st.ticking = true;
        self->send(self, atom::tick_v);
      }
    },
    [=](atom::tick) {
      auto& st = self->state;
      if (st.peers.empty()) {
        st.ticking = false;
        return;
      }
      for (int i = 0; i < max_push_batches; ++i) {
        auto rows = st.store->export_rows(st.pushed, push_batch);
        if (rows.empty())
          break;
        for (auto& kvp : st.peers)
          self->send(kvp.second, rows);
      }
      self->delayed_send(self, push_interval, atom::tick_v);
    },
  };
}

} // namespace omega
