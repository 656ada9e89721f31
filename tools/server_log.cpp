#include "tools/server_log.hpp"

#include <chrono>
#include <cstdio>
#include <ctime>
#include <mutex>

#include <boost/json/object.hpp>
#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>
#include <boost/json/value.hpp>

namespace omega {

namespace {

log_level threshold = log_level::info;
bool as_json = false;

const char* name_of(log_level x) {
  static const char* names[] = {"error", "warning", "info", "debug"};
  return names[static_cast<int>(x)];
}

/// Now in RFC 3339 with milliseconds, UTC.
std::string timestamp() {
  using namespace std::chrono;
  auto now = system_clock::now();
  auto t = system_clock::to_time_t(now);
  auto ms = duration_cast<milliseconds>(now.time_since_epoch()).count() % 1000;
  std::tm tm{};
  gmtime_r(&t, &tm);
  char buf[40];
  auto n = std::strftime(buf, sizeof(buf), "%Y-%m-%dT%H:%M:%S", &tm);
  std::snprintf(buf + n, sizeof(buf) - n, ".%03dZ", static_cast<int>(ms));
  return buf;
}

std::string json_line(log_level level, std::string_view event,
                      std::string_view message,
                      std::initializer_list<log_field> fields) {
  boost::json::object x;
  x["time"] = timestamp();
  x["level"] = name_of(level);
  x["event"] = event;
  x["message"] = message;
  for (auto& f : fields) {
    if (f.number)
      x[f.key] = boost::json::parse(f.value.empty() ? "0" : f.value);
    else
      x[f.key] = f.value;
  }
  return boost::json::serialize(x) + "\n";
}

std::string text_line(log_level level, std::string_view message,
                      std::initializer_list<log_field> fields) {
  auto line = std::string{"omega: "} + name_of(level) + ": ";
  line.append(message);
  for (auto& f : fields) {
    line += ' ';
    line.append(f.key);
    line += '=';
    line += f.value;
  }
  return line + "\n";
}

} // namespace

bool configure_log(const std::string& level, const std::string& format) {
  if (level == "error")
    threshold = log_level::error;
  else if (level == "warning")
    threshold = log_level::warning;
  else if (level == "info")
    threshold = log_level::info;
  else if (level == "debug")
    threshold = log_level::debug;
  else
    return false;
  if (format != "text" && format != "json")
    return false;
  as_json = format == "json";
  return true;
}

void log(log_level level, std::string_view event, std::string_view message,
         std::initializer_list<log_field> fields) {
  static std::mutex mtx;
  if (level > threshold)
    return;
  auto line = as_json ? json_line(level, event, message, fields)
                      : text_line(level, message, fields);
  std::lock_guard<std::mutex> guard{mtx};
  std::fwrite(line.data(), 1, line.size(), stderr);
  std::fflush(stderr);
}

} // namespace omega
