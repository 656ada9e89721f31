#include "transport/api_throttle.hpp"

namespace omega {

api_throttle::api_throttle(const throttle_limits& limits)
  : login_address_(limits.login_per_address),
    login_account_(limits.login_per_account),
    register_address_(limits.register_per_address),
    register_account_(limits.register_per_account) {
  // nop
}

api_throttle::decision
api_throttle::admit(std::string_view route, const std::string& address,
                    const std::string& email, steady_time now) {
  decision result;
  rate_limiter* by_address = nullptr;
  rate_limiter* by_account = nullptr;
  limit address_limit = limit::login_per_address;
  limit account_limit = limit::login_per_account;
  if (route == "login") {
    by_address = &login_address_;
    by_account = &login_account_;
  } else if (route == "register") {
    by_address = &register_address_;
    by_account = &register_account_;
    address_limit = limit::register_per_address;
    account_limit = limit::register_per_account;
  } else {
    return result;
  }
  if (!address.empty())
    if (auto wait = by_address->take(address, now); wait.count() > 0) {
      result = {false, address_limit, wait};
      return result;
    }
  if (!email.empty()) {
    if (auto wait = by_account->take(email, now); wait.count() > 0) {
      if (!address.empty())
        by_address->give_back(address);
      result = {false, account_limit, wait};
    }
  }
  return result;
}

void api_throttle::give_back(std::string_view route, const std::string& address,
                             const std::string& email) {
  auto both = [&](rate_limiter& by_address, rate_limiter& by_account) {
    if (!address.empty())
      by_address.give_back(address);
    if (!email.empty())
      by_account.give_back(email);
  };
  if (route == "login")
    both(login_address_, login_account_);
  else if (route == "register")
    both(register_address_, register_account_);
}

std::string email_key(std::string_view email) {
  while (!email.empty() && (email.front() == ' ' || email.front() == '\t'))
    email.remove_prefix(1);
  while (!email.empty() && (email.back() == ' ' || email.back() == '\t'))
    email.remove_suffix(1);
  std::string result{email};
  for (auto& c : result)
    if (c >= 'A' && c <= 'Z')
      c = static_cast<char>(c - 'A' + 'a');
  return result;
}

} // namespace omega
