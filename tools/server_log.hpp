#pragma once

#include <initializer_list>
#include <string>
#include <string_view>

/// omega-server's log on stderr: one line per event, as text (`omega: info:
/// listening on ...`, what people read) or as JSON (`--log-format json`,
/// one object per line for a log pipeline: time, level, event, message and
/// the event's fields). Lines from different threads never interleave.

namespace omega {

enum class log_level { error, warning, info, debug };

/// One named value of an event; `number` writes it unquoted in JSON.
struct log_field {
  std::string_view key;
  std::string value;
  bool number = false;
};

/// Sets the least severe level written and the format; false for a name
/// that is neither.
bool configure_log(const std::string& level, const std::string& format);

/// Writes an event: `event` a short snake_case name (`listening`,
/// `http_request`), `message` what the text line says.
void log(log_level level, std::string_view event, std::string_view message,
         std::initializer_list<log_field> fields = {});

} // namespace omega
