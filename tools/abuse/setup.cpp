#include "tools/abuse/setup.hpp"

#include <chrono>
#include <fstream>
#include <sstream>

#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>
#include <boost/json/string.hpp>

namespace omega::abuse {

std::vector<account> read_accounts(const std::string& path) {
  std::vector<account> result;
  std::ifstream in{path};
  std::string line;
  while (std::getline(in, line)) {
    std::istringstream fields{line};
    account a;
    if (std::getline(fields, a.id, '\t') && std::getline(fields, a.user, '\t')
        && std::getline(fields, a.token, '\t'))
      result.push_back(std::move(a));
  }
  return result;
}

std::string quoted(std::string_view x) {
  return boost::json::serialize(boost::json::string{x});
}

std::string frame(std::string_view op, std::string_view payload_json,
                  std::string_view recipient, std::string_view listener) {
  std::string result = "{\"opcode\":" + quoted(op);
  if (!payload_json.empty())
    result.append(",\"payload\":").append(payload_json);
  if (!recipient.empty())
    result.append(",\"recipient\":").append(quoted(recipient));
  if (!listener.empty())
    result.append(",\"listener\":").append(quoted(listener));
  result += '}';
  return result;
}

std::optional<boost::json::object> parse(std::string_view frame) {
  boost::json::error_code ec;
  auto v = boost::json::parse(frame, ec);
  if (ec || !v.is_object())
    return std::nullopt;
  return std::move(v.as_object());
}

std::string opcode_of(const boost::json::object& x) {
  if (auto i = x.find("opcode"); i != x.end() && i->value().is_string())
    return std::string{i->value().as_string()};
  return {};
}

double now_s() {
  using namespace std::chrono;
  return duration<double>(steady_clock::now().time_since_epoch()).count();
}

} // namespace omega::abuse
