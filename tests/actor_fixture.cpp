#include "tests/actor_fixture.hpp"

#include "transport/client_codec.hpp"
#include "transport/json_codec.hpp"

namespace omega::test {

sink_actor::behavior_type
recording_sink(sink_actor::pointer self, std::shared_ptr<event_log> log,
               std::shared_ptr<gate_log> gates, std::shared_ptr<bool> full,
               std::shared_ptr<sink_record> record) {
  // Without a socket, every event goes to the session as a frame.
  auto kept = [=](const event& x) {
    if (!record->held)
      return false;
    if (!std::holds_alternative<evt::violation>(x))
      self->send(caf::actor_cast<connection_actor>(record->conn),
                 kept_frame{self, evt::encoded{encode(x)}});
    return true;
  };
  auto add = [=](auto& x) {
    if (!kept(event{x}))
      log->emplace_back(std::move(x));
  };
  return {
    [=](read_gate x) { gates->push_back(x.open); },
    [=](relay_handoff& x) {
      if (record->held) {
        self->send(x.sender, evt::relay_ok{std::move(x.listener)});
        kept(event{std::move(x.frame)});
        return;
      }
      if (*full) {
        self->send(x.sender, evt::error_reply{ec::peer_invalid, "full",
                                              std::move(x.listener)});
        return;
      }
      log->emplace_back(std::move(x.frame));
      self->send(x.sender, evt::relay_ok{std::move(x.listener)});
    },
    [=](sink_control& x) {
      record->conn = x.conn;
      record->resumable = x.resumable;
    },
    [=](atom::supersede) {
      record->held = true;
      record->superseded = true;
    },
    [=](evt::keepalive& x) { add(x); },
    [=](evt::init_ok& x) { add(x); },
    [=](evt::ack_host& x) { add(x); },
    [=](evt::password_ack& x) { add(x); },
    [=](evt::ack_peer& x) { add(x); },
    [=](evt::new_host& x) { add(x); },
    [=](evt::new_peer& x) { add(x); },
    [=](evt::anticipate& x) { add(x); },
    [=](evt::discover& x) { add(x); },
    [=](evt::peer_gone& x) { add(x); },
    [=](evt::host_gone& x) { add(x); },
    [=](evt::host_reclaim& x) { add(x); },
    [=](evt::lobby_close& x) { add(x); },
    [=](evt::relayed& x) { add(x); },
    [=](evt::relay_ok& x) { add(x); },
    [=](evt::lock_state& x) { add(x); },
    [=](evt::size_state& x) { add(x); },
    [=](evt::lobby_list& x) { add(x); },
    [=](evt::lobby_info& x) { add(x); },
    [=](evt::error_reply& x) { add(x); },
    [=](evt::violation& x) { add(x); },
    [=](evt::resumable& x) { add(x); },
    [=](evt::resumed& x) { add(x); },
    [=](evt::turn_credentials& x) { add(x); },
    [=](evt::encoded& x) {
      if (record->held) {
        self->send(caf::actor_cast<connection_actor>(record->conn),
                   kept_frame{self, std::move(x)});
        return;
      }
      auto ev = decode_event(x.frame);
      if (!ev) {
        ADD_FAILURE() << "undecodable kept frame: " << x.frame;
        return;
      }
      log->emplace_back(std::move(*ev));
    },
  };
}

std::string describe(const event& x) {
  return std::visit([](auto& y) { return caf::deep_to_string(y); }, x);
}

actor_fixture::actor_fixture()
  : sys(cfg),
    sched(dynamic_cast<caf::scheduler::test_coordinator&>(sys.scheduler())) {
  auth = sys.spawn(
    omega::auth, store, [this] { return now; },
    caf::timespan{std::chrono::seconds{1}}, turn_settings{});
  dir = sys.spawn(omega::directory, store, settings);
  add_game("Demo Game");
  run();
}

actor_fixture::~actor_fixture() {
  // End every actor explicitly: they hold each other's handles, so nothing
  // would end on its own and the actor system would wait forever.
  for (auto& kvp : deref<directory_state>(dir).games) {
    for (auto& lobby : deref<game_state>(kvp.second).lobbies)
      caf::anon_send_exit(lobby.second.handle, caf::exit_reason::user_shutdown);
  }
  for (auto& c : clients) {
    caf::anon_send_exit(c->conn, caf::exit_reason::user_shutdown);
    caf::anon_send_exit(c->sink, caf::exit_reason::user_shutdown);
  }
  caf::anon_send_exit(dir, caf::exit_reason::user_shutdown); // and GAMEs
  caf::anon_send_exit(auth, caf::exit_reason::user_shutdown);
  run();
  clients.clear();
  auth = nullptr;
  dir = nullptr;
}

void actor_fixture::use_settings(const lobby_settings& s) {
  settings = s;
  caf::anon_send_exit(dir, caf::exit_reason::user_shutdown);
  run();
  dir = sys.spawn(omega::directory, store, settings);
  run();
}

void actor_fixture::add_game(const std::string& name, client_profile profile) {
  ugis.emplace_back(store->add_game(name, "Demo Developer", profile));
}

game_state& actor_fixture::game_of(size_t game_index) {
  auto reply = round_trip<game_actor>(dir, caf::get_atom_v,
                                      ugis.at(game_index));
  game_actor g;
  if (reply)
    g = std::move(*reply);
  else
    ADD_FAILURE() << sys.render(reply.error());
  return deref<game_state>(g);
}

game_actor actor_fixture::game_handle(size_t index) {
  auto& st = deref<directory_state>(dir);
  auto i = st.games.find(ugis.at(index));
  if (i == st.games.end())
    return {};
  return i->second;
}

lobby_state* actor_fixture::peek(const std::string& lobby_id, size_t index) {
  if (!game_handle(index))
    return nullptr;
  auto& gst = game_state_of(index);
  auto i = gst.lobbies.find(lobby_id);
  if (i == gst.lobbies.end())
    return nullptr;
  return &deref<lobby_state>(i->second.handle);
}

client& actor_fixture::connect(const std::string& user, std::string origin,
                               std::string token_origin, size_t game_index) {
  auto c = std::make_unique<client>();
  c->user = user;
  c->id = store->add_account(user);
  c->token = store->issue_token(c->id, std::move(token_origin), now,
                                std::chrono::hours{24});
  return open_socket(std::move(c), std::move(origin), game_index);
}

client& actor_fixture::reconnect(const client& old, size_t game_index) {
  auto c = std::make_unique<client>();
  c->user = old.user;
  c->id = old.id;
  c->token = old.token;
  return open_socket(std::move(c), {}, game_index);
}

client& actor_fixture::open_socket(std::unique_ptr<client> c,
                                   std::string origin, size_t game_index) {
  c->sink = sys.spawn(recording_sink, c->log, c->gates, c->full, c->record);
  connection_config conf;
  conf.ugi = ugis.at(game_index);
  conf.origin = std::move(origin);
  connection_settings settings;
  settings.init_timeout = init_timeout;
  settings.rates = rates;
  settings.resume = resume;
  conf.settings = std::make_shared<const connection_settings>(settings);
  c->conn = sys.spawn(omega::connection, c->sink, auth, dir, conf);
  c->record->conn = caf::actor_cast<caf::actor>(c->conn);
  clients.emplace_back(std::move(c));
  run();
  return *clients.back();
}

void actor_fixture::use_turn(turn_settings turn) {
  caf::anon_send_exit(auth, caf::exit_reason::user_shutdown);
  auth = sys.spawn(
    omega::auth, store, [this] { return now; },
    caf::timespan{std::chrono::seconds{1}}, std::move(turn));
  run();
}

client& actor_fixture::login(const std::string& user, size_t game_index) {
  auto& c = connect(user, {}, {}, game_index);
  c.send(cmd::init{c.token, {}});
  run();
  auto ok = next<evt::init_ok>(c);
  EXPECT_EQ(ok.id, c.id);
  EXPECT_EQ(ok.user, user);
  return c;
}

void actor_fixture::host_lobby(client& host, cmd::config_host cfg) {
  auto lid = cfg.lobby_id;
  host.send(std::move(cfg));
  run();
  auto ack = next<evt::ack_host>(host);
  EXPECT_EQ(ack.lobby_id, lid);
}

void actor_fixture::join_lobby(client& peer, const std::string& lobby_id,
                               const std::string& password) {
  peer.send(cmd::config_peer{lobby_id, password, {}, {}});
  run();
  if (!password.empty())
    next<evt::password_ack>(peer);
  auto ack = next<evt::ack_peer>(peer);
  EXPECT_EQ(ack.lobby_id, lobby_id);
}

lobby_state* actor_fixture::lobby_of(const std::string& lobby_id,
                                     size_t game_index) {
  auto& st = game_of(game_index);
  auto i = st.lobbies.find(lobby_id);
  if (i == st.lobbies.end())
    return nullptr;
  return &deref<lobby_state>(i->second.handle);
}

} // namespace omega::test
