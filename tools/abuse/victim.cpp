#include "tools/abuse/victim.hpp"

#include <chrono>
#include <cmath>

#include <boost/asio/post.hpp>
#include <boost/json/serialize.hpp>

#include "tools/abuse/http_login.hpp"

namespace omega::abuse {

namespace {

/// Nanoseconds of `seconds` on the steady clock's scale (`now_s`).
int64_t to_ns(double seconds) {
  return static_cast<int64_t>(std::llround(seconds * 1e9));
}

std::chrono::steady_clock::time_point at(double seconds) {
  return std::chrono::steady_clock::time_point{
    std::chrono::nanoseconds{to_ns(seconds)}};
}

} // namespace

victim::victim(net::io_context& ioc, const setup& s, account host, account peer,
               account login, net::ip::address source, double rate)
  : ioc_(ioc),
    setup_(s),
    strand_(net::make_strand(ioc)),
    host_acc_(std::move(host)),
    peer_acc_(std::move(peer)),
    login_acc_(std::move(login)),
    source_(source),
    interval_(1 / rate),
    timer_(strand_),
    login_timer_(strand_),
    lobby_("victim-" + s.nonce) {
  // nop
}

void victim::start() {
  net::post(strand_, [this] {
    host_ = bench::make_plain_client(strand_, *this);
    peer_ = bench::make_plain_client(strand_, *this);
    host_->token = host_acc_.token;
    peer_->token = peer_acc_.token;
    for (auto& c : {host_, peer_}) {
      c->source = source_;
      c->open(setup_.server, setup_.host_header, setup_.signaling_path());
    }
  });
}

void victim::measure(double seconds) {
  net::post(strand_, [this, seconds] {
    relays_.reset();
    logins_.reset();
    sent_ = 0;
    received_ = 0;
    failed_logins_ = 0;
    next_ = now_s();
    end_ = next_ + seconds;
    tick();
    login();
  });
}

void victim::on_opened(bench::client& c, bool ok, const std::string& what) {
  if (!ok) {
    error_ = "victim could not connect: " + what;
    done_ = true;
    return;
  }
  c.send(frame("INIT", quoted(c.token)));
}

void victim::on_frame(bench::client& c, std::string_view f) {
  auto x = parse(f);
  if (!x)
    return;
  auto op = opcode_of(*x);
  if (&c == host_.get())
    on_host_frame(op, *x);
  else
    on_peer_frame(op, *x);
}

void victim::on_host_frame(const std::string& op,
                           const boost::json::object& x) {
  if (op == "INIT_OK") {
    host_->send(frame("CONFIG_HOST", "{\"lobby_id\":" + quoted(lobby_) + "}"));
  } else if (op == "ACK_HOST") {
    peer_->send(frame("CONFIG_PEER", "{\"lobby_id\":" + quoted(lobby_) + "}"));
  } else if (op != "RELAY_OK" && op != "NEW_PEER" && error_.empty()) {
    error_ = "victim host got " + boost::json::serialize(x);
  }
}

void victim::on_peer_frame(const std::string& op,
                           const boost::json::object& x) {
  if (op == "ICE") {
    auto i = x.find("payload");
    if (i != x.end() && i->value().is_int64()) {
      relays_.record(to_ns(now_s()) - i->value().as_int64());
      ++received_;
    }
  } else if (op == "ACK_PEER") {
    ready_ = true;
  } else if (op != "INIT_OK" && op != "NEW_HOST" && error_.empty()) {
    error_ = "victim peer got " + boost::json::serialize(x);
  }
}

void victim::tick() {
  auto now = now_s();
  // Every relay whose time has come goes now, stamped with its scheduled
  // time: a late send shows as latency instead of vanishing.
  while (next_ <= now && next_ < end_) {
    host_->send(frame("ICE", std::to_string(to_ns(next_)), peer_acc_.id));
    ++sent_;
    next_ += interval_;
  }
  if (next_ >= end_) {
    // Give the last relays a moment to arrive.
    timer_.expires_at(at(end_ + 1));
    timer_.async_wait([this](bench::error_code) { done_ = true; });
    return;
  }
  timer_.expires_at(at(next_));
  timer_.async_wait([this](bench::error_code ec) {
    if (!ec)
      tick();
  });
}

void victim::login() {
  if (now_s() >= end_)
    return;
  login_once(ioc_, setup_, source_, login_acc_.user + "@example.test",
             "password123", [this](login_result r) {
               if (r.status == 200)
                 logins_.record(to_ns(r.seconds));
               else
                 ++failed_logins_;
             });
  login_timer_.expires_after(std::chrono::seconds{1});
  login_timer_.async_wait([this](bench::error_code ec) {
    if (!ec)
      login();
  });
}

void victim::on_lost(bench::client&, const std::string& what) {
  if (error_.empty())
    error_ = "victim connection lost: " + what;
}

} // namespace omega::abuse
