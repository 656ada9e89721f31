#include "tools/abuse/attacks.hpp"

#include <algorithm>
#include <chrono>
#include <functional>
#include <random>
#include <unordered_map>

#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>

#include "tools/abuse/http_login.hpp"

namespace omega::abuse {

// -- attack -------------------------------------------------------------------

attack::attack(net::io_context& ioc, const setup& s,
               std::vector<account> accounts)
  : ioc_(ioc),
    setup_(s),
    strand_(net::make_strand(ioc)),
    accounts_(std::move(accounts)) {
  // nop
}

std::string attack::report() const {
  std::lock_guard<std::mutex> guard{mtx_};
  std::string result;
  for (auto& [key, n] : counts_) {
    auto k = key;
    std::replace(k.begin(), k.end(), ' ', '_');
    result += (result.empty() ? "" : " ") + k + "=" + std::to_string(n);
  }
  return result;
}

std::shared_ptr<bench::client> attack::connect(const std::string& name,
                                               const std::string& token) {
  auto c = bench::make_plain_client(strand_, *this);
  c->name = name;
  c->token = token;
  c->source = setup_.attacker_source;
  clients_.push_back(c);
  c->open(setup_.server, setup_.host_header, setup_.signaling_path());
  return c;
}

const account& attack::next_account() {
  auto& a = accounts_[next_account_ % accounts_.size()];
  ++next_account_;
  return a;
}

void attack::count(const std::string& key, uint64_t n) {
  std::lock_guard<std::mutex> guard{mtx_};
  counts_[key] += n;
}

uint64_t attack::counted(const std::string& key) const {
  std::lock_guard<std::mutex> guard{mtx_};
  auto i = counts_.find(key);
  return i == counts_.end() ? 0 : i->second;
}

void attack::on_opened(bench::client& c, bool ok, const std::string&) {
  if (!ok) {
    count("refused opens");
    return;
  }
  count("opens");
  opened(c);
}

void attack::on_frame(bench::client& c, std::string_view f) {
  auto x = parse(f);
  if (!x)
    return;
  auto op = opcode_of(*x);
  count("got " + op);
  frame_in(c, op, *x);
}

void attack::on_lost(bench::client&, const std::string&) {
  count("cut off");
}

void attack::on_end(bench::client& c) {
  ended(c);
  auto i = std::find_if(clients_.begin(), clients_.end(),
                        [&](auto& x) { return x.get() == &c; });
  if (i != clients_.end())
    clients_.erase(i);
}

namespace {

std::string payload_id(const boost::json::object& x) {
  auto i = x.find("payload");
  if (i == x.end())
    return {};
  if (i->value().is_string())
    return std::string{i->value().as_string()};
  if (i->value().is_object())
    if (auto id = i->value().as_object().if_contains("id");
        id && id->is_string())
      return std::string{id->as_string()};
  return {};
}

/// Runs `fn` on `strand` after `seconds`.
void later(bench::strand_type strand, double seconds,
           std::function<void()> fn) {
  auto t = std::make_shared<net::steady_timer>(strand);
  t->expires_after(
    std::chrono::milliseconds{static_cast<int64_t>(seconds * 1e3)});
  t->async_wait([t, fn = std::move(fn)](bench::error_code ec) {
    if (!ec)
      fn();
  });
}

// -- floods
// ---------------------------------------------------------------------

/// Sockets that each keep `window` commands in flight as fast as the server
/// answers, and reconnect when the server closes them.
class flood : public attack {
public:
  using maker = std::function<std::string(uint64_t)>;

  flood(net::io_context& ioc, const setup& s, std::vector<account> accounts,
        bool init, size_t sockets, size_t window, maker make)
    : attack(ioc, s, std::move(accounts)),
      init_(init),
      sockets_(sockets),
      window_(window),
      make_(std::move(make)) {
    // nop
  }

  void start() override {
    net::post(strand_, [this] {
      for (size_t i = 0; i < sockets_; ++i)
        open_one();
    });
  }

protected:
  void open_one() {
    connect("flood", next_account().token);
  }

  void opened(bench::client& c) override {
    inflight_[&c] = 0;
    if (init_)
      c.send(frame("INIT", quoted(c.token), {}, "init"));
    else
      fill(c);
  }

  void frame_in(bench::client& c, const std::string& op,
                const boost::json::object& x) override {
    auto l = x.find("listener");
    if (init_ && !c.configured && l != x.end() && l->value() == "init") {
      c.configured = op == "INIT_OK";
      if (c.configured)
        fill(c);
      return;
    }
    reply(c, op, x);
    auto& n = inflight_[&c];
    if (n > 0)
      --n;
    fill(c);
  }

  /// An answer to one of the flood's commands.
  virtual void reply(bench::client&, const std::string&,
                     const boost::json::object&) {
    // nop
  }

  void ended(bench::client& c) override {
    inflight_.erase(&c);
    if (!stopping_)
      later(strand_, 0.05, [this] { open_one(); });
  }

  void fill(bench::client& c) {
    auto& n = inflight_[&c];
    while (!stopping_ && n < window_ && c.is_open()) {
      c.send(make_(sent_++));
      ++n;
    }
  }

  bool init_;
  size_t sockets_;
  size_t window_;
  maker make_;
  uint64_t sent_ = 0;
  std::unordered_map<bench::client*, size_t> inflight_;
};

/// A flood of CONFIG_PEER guesses at a 4-digit PIN lobby hosted by one of
/// the attacker's own accounts; reports whether and when it was found.
class password_guess : public flood {
public:
  password_guess(net::io_context& ioc, const setup& s,
                 std::vector<account> accounts)
    : flood(ioc, s, std::vector<account>(accounts.begin() + 1, accounts.end()),
            true, 4, 16, {}),
      host_acc_(accounts.front()),
      lobby_("pin-" + s.nonce) {
    std::random_device rd;
    pin_ = rd() % 10000;
    make_ = [this](uint64_t i) {
      auto guess = std::to_string(10000 + (i % 10000)).substr(1);
      return frame("CONFIG_PEER", "{\"lobby_id\":" + quoted(lobby_)
                                    + ",\"password\":" + quoted(guess) + "}");
    };
  }

  void start() override {
    net::post(strand_, [this] {
      host_ = connect("pin host", host_acc_.token);
      started_ = now_s();
    });
  }

protected:
  void opened(bench::client& c) override {
    if (&c == host_.get()) {
      c.send(frame("INIT", quoted(c.token)));
      return;
    }
    flood::opened(c);
  }

  void frame_in(bench::client& c, const std::string& op,
                const boost::json::object& x) override {
    if (&c == host_.get()) {
      if (op == "INIT_OK") {
        auto pin = std::to_string(10000 + pin_).substr(1);
        c.send(frame("CONFIG_HOST", "{\"lobby_id\":" + quoted(lobby_)
                                      + ",\"password\":" + quoted(pin) + "}"));
      } else if (op == "ACK_HOST") {
        for (size_t i = 0; i < sockets_; ++i)
          open_one();
      }
      return;
    }
    flood::frame_in(c, op, x);
  }

  void reply(bench::client&, const std::string& op,
             const boost::json::object&) override {
    if (op == "ACK_PEER" && counted("found") == 0) {
      count("found");
      count("found after ms",
            static_cast<uint64_t>((now_s() - started_) * 1e3));
      stop();
    }
  }

private:
  account host_acc_;
  std::string lobby_;
  unsigned pin_ = 0;
  std::shared_ptr<bench::client> host_;
  double started_ = 0;
};

// -- lobby-less bystanders
// ------------------------------------------------------

/// An attack watched by many lobby-less clients of the same game, which
/// count what reaches them (the amplification of NEW_HOST and
/// LOBBY_CLOSE).
class watched : public attack {
public:
  static constexpr size_t bystander_count = 200;

  using attack::attack;

  void start() override {
    net::post(strand_, [this] {
      for (size_t i = 0; i < bystander_count; ++i) {
        auto c = connect("bystander", next_account().token);
        c->group = &bystanders_;
      }
      begin();
    });
  }

protected:
  /// Starts the attack proper once the bystanders are on their way.
  virtual void begin() = 0;

  virtual void attacker_opened(bench::client& c) = 0;

  virtual void attacker_frame(bench::client& c, const std::string& op,
                              const boost::json::object& x)
    = 0;

  void opened(bench::client& c) override {
    if (c.group == &bystanders_)
      c.send(frame("INIT", quoted(c.token)));
    else
      attacker_opened(c);
  }

  void frame_in(bench::client& c, const std::string& op,
                const boost::json::object& x) override {
    if (c.group == &bystanders_)
      count("bystander got " + op);
    else
      attacker_frame(c, op, x);
  }

  int bystanders_ = 0;
};

/// Two accounts passing TRANSFER_HOST back and forth.
class transfer_flood : public watched {
public:
  using watched::watched;

protected:
  void begin() override {
    // Give the bystanders time to log in, so that they are lobby-less
    // witnesses of every host change.
    later(strand_, 1, [this] {
      a_ = connect("a", next_account().token);
      b_ = connect("b", next_account().token);
    });
  }

  void attacker_opened(bench::client& c) override {
    c.send(frame("INIT", quoted(c.token)));
  }

  void attacker_frame(bench::client& c, const std::string& op,
                      const boost::json::object& x) override {
    auto lobby = "swap-" + setup_.nonce;
    if (op == "INIT_OK") {
      c.id = payload_id(x);
      if (a_->id.empty() || b_->id.empty())
        return;
      a_->send(frame("CONFIG_HOST", "{\"lobby_id\":" + quoted(lobby) + "}"));
    } else if (op == "ACK_HOST") {
      b_->send(frame("CONFIG_PEER", "{\"lobby_id\":" + quoted(lobby) + "}"));
    } else if (op == "ACK_PEER") {
      pass(*a_, *b_);
    } else if (op == "HOST_RECLAIM" && payload_id(x) == c.id && !stopping_) {
      count("transfers");
      pass(c, &c == a_.get() ? *b_ : *a_);
    }
  }

private:
  void pass(bench::client& from, bench::client& to) {
    from.send(frame("TRANSFER_HOST", quoted(to.id)));
  }

  std::shared_ptr<bench::client> a_;
  std::shared_ptr<bench::client> b_;
};

/// Accounts that create a lobby, drop the connection and start over.
class lobby_churn : public watched {
public:
  static constexpr size_t loops = 4;

  using watched::watched;

protected:
  void begin() override {
    later(strand_, 1, [this] {
      for (size_t i = 0; i < loops; ++i)
        connect("churner", next_account().token);
    });
  }

  void attacker_opened(bench::client& c) override {
    c.send(frame("INIT", quoted(c.token)));
  }

  void attacker_frame(bench::client& c, const std::string& op,
                      const boost::json::object&) override {
    if (op == "INIT_OK") {
      auto lobby = "churn-" + setup_.nonce + "-" + std::to_string(made_++);
      c.send(frame("CONFIG_HOST", "{\"lobby_id\":" + quoted(lobby) + "}"));
    } else if (op == "ACK_HOST") {
      count("lobbies made");
      c.close();
    } else {
      c.close(); // SESSION_EXISTS while the last session is released, ...
    }
  }

  void ended(bench::client& c) override {
    if (c.group != &bystanders_ && !stopping_) {
      auto token = c.token;
      later(strand_, 0.001, [this, token] { connect("churner", token); });
    }
  }

private:
  uint64_t made_ = 0;
};

// -- others
// ----------------------------------------------------------------------

/// Peers that stop reading while their host sends them 60 KB offers.
class slow_reader : public attack {
public:
  static constexpr size_t stalled = 8;
  static constexpr size_t window = 32;

  slow_reader(net::io_context& ioc, const setup& s,
              std::vector<account> accounts)
    : attack(ioc, s, std::move(accounts)),
      lobby_("stall-" + s.nonce),
      offer_(quoted(std::string(60 * 1024, 'o'))) {
    // nop
  }

  void start() override {
    net::post(strand_,
              [this] { host_ = connect("host", next_account().token); });
  }

protected:
  void opened(bench::client& c) override {
    c.send(frame("INIT", quoted(c.token)));
  }

  void frame_in(bench::client& c, const std::string& op,
                const boost::json::object& x) override {
    if (&c == host_.get())
      return host_frame(op, x);
    if (op == "INIT_OK")
      c.send(frame("CONFIG_PEER", "{\"lobby_id\":" + quoted(lobby_) + "}"));
    else if (op == "ACK_PEER")
      c.stop_reading();
  }

  void host_frame(const std::string& op, const boost::json::object& x) {
    if (op == "INIT_OK") {
      host_->send(
        frame("CONFIG_HOST", "{\"lobby_id\":" + quoted(lobby_) + "}"));
    } else if (op == "ACK_HOST") {
      for (size_t i = 0; i < stalled; ++i)
        connect("stalled", next_account().token);
    } else if (op == "NEW_PEER") {
      targets_.push_back(payload_id(x));
      offer();
    } else if (op == "PEER_GONE") {
      auto id = payload_id(x);
      targets_.erase(std::remove(targets_.begin(), targets_.end(), id),
                     targets_.end());
      if (!stopping_)
        connect("stalled", next_account().token);
    } else if (op == "RELAY_OK" || op == "PEER_INVALID") {
      if (inflight_ > 0)
        --inflight_;
      offer();
    }
  }

  void offer() {
    while (!stopping_ && !targets_.empty() && inflight_ < window) {
      auto& to = targets_[next_target_++ % targets_.size()];
      host_->send(frame("MAKE_OFFER", offer_, to));
      ++inflight_;
      count("offers sent");
    }
  }

private:
  std::string lobby_;
  std::string offer_;
  std::shared_ptr<bench::client> host_;
  std::vector<std::string> targets_;
  size_t next_target_ = 0;
  size_t inflight_ = 0;
};

/// Sockets that upgrade and then never send a frame, reopened as the
/// server closes or refuses them.
class no_init : public attack {
public:
  static constexpr size_t sockets = 2000;
  static constexpr size_t parallel = 64;

  using attack::attack;

  void start() override {
    net::post(strand_, [this] {
      for (size_t i = 0; i < parallel; ++i)
        open_next();
    });
  }

protected:
  void open_next() {
    if (stopping_ || open_ + connecting_ >= sockets)
      return;
    ++connecting_;
    connect("lurker", {});
  }

  void opened(bench::client& c) override {
    c.ready = true;
    --connecting_;
    ++open_;
    open_next();
  }

  void frame_in(bench::client&, const std::string&,
                const boost::json::object&) override {
    // nop: counted
  }

  void ended(bench::client& c) override {
    if (c.ready)
      --open_;
    else
      --connecting_;
    // Refused or closed: try again a little later, as a botnet would.
    later(strand_, c.ready ? 0.2 : 1.0, [this] { open_next(); });
  }

private:
  size_t open_ = 0;
  size_t connecting_ = 0;
};

/// Many parallel logins with wrong passwords.
class login_flood : public attack {
public:
  static constexpr size_t parallel = 200;

  using attack::attack;

  void start() override {
    for (size_t i = 0; i < parallel; ++i)
      again();
  }

protected:
  void again() {
    if (stopping_)
      return;
    auto& a = next_account();
    login_once(ioc_, setup_, setup_.attacker_source, a.user + "@example.test",
               "wrong-password", [this](login_result r) {
                 count("status " + std::to_string(r.status));
                 again();
               });
  }

  void opened(bench::client&) override {
    // nop: no WebSockets
  }

  void frame_in(bench::client&, const std::string&,
                const boost::json::object&) override {
    // nop
  }
};

} // namespace

// -- factory
// ---------------------------------------------------------------------

const std::vector<std::string>& attack_names() {
  static const std::vector<std::string> names{
    "slow-reader", "no-init",          "keepalive-flood",
    "init-flood",  "lobby-list-flood", "transfer-flood",
    "lobby-churn", "password-guess",   "login-flood"};
  return names;
}

std::unique_ptr<attack> make_attack(const std::string& name,
                                    net::io_context& ioc, const setup& s,
                                    std::vector<account> accounts) {
  if (accounts.size() < 4)
    return nullptr;
  if (name == "slow-reader")
    return std::make_unique<slow_reader>(ioc, s, std::move(accounts));
  if (name == "no-init")
    return std::make_unique<no_init>(ioc, s, std::move(accounts));
  if (name == "keepalive-flood")
    return std::make_unique<flood>(ioc, s, std::move(accounts), false, 4, 256,
                                   [](uint64_t) { return frame("KEEPALIVE"); });
  if (name == "init-flood") {
    auto rng = std::make_shared<std::mt19937_64>(std::random_device{}());
    return std::make_unique<flood>(
      ioc, s, std::move(accounts), false, 4, 64, [rng](uint64_t) {
        return frame("INIT", quoted("forged-" + std::to_string((*rng)())));
      });
  }
  if (name == "lobby-list-flood")
    return std::make_unique<flood>(ioc, s, std::move(accounts), true, 4, 64,
                                   [](uint64_t) {
                                     return frame("LOBBY_LIST");
                                   });
  if (name == "transfer-flood")
    return std::make_unique<transfer_flood>(ioc, s, std::move(accounts));
  if (name == "lobby-churn")
    return std::make_unique<lobby_churn>(ioc, s, std::move(accounts));
  if (name == "password-guess")
    return std::make_unique<password_guess>(ioc, s, std::move(accounts));
  if (name == "login-flood")
    return std::make_unique<login_flood>(ioc, s, std::move(accounts));
  return nullptr;
}

} // namespace omega::abuse
