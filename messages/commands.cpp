#include "messages/commands.hpp"

#include <array>
#include <string_view>
#include <type_traits>

namespace omega {

namespace {

template <class T>
constexpr std::string_view wire_name_of() {
  if constexpr (std::is_same_v<T, cmd::bad_frame>)
    return {};
  else
    return T::wire_name;
}

/// The wire names in `command` order, which is the order of `opcode` after
/// `none` and `unknown`.
template <class... Ts>
constexpr auto wire_names(const std::variant<Ts...>*) {
  return std::array<std::string_view, sizeof...(Ts)>{wire_name_of<Ts>()...};
}

constexpr auto names = wire_names(static_cast<const command*>(nullptr));

constexpr size_t first_named = static_cast<size_t>(opcode::make_offer);

// Every command but `bad_frame` has an opcode.
static_assert(static_cast<size_t>(opcode::turn_credentials) + 1 - first_named
              == names.size() - 1);
static_assert(
  names[static_cast<size_t>(opcode_of<cmd::config_host>) - first_named]
  == cmd::config_host::wire_name);
static_assert(opcode_of<cmd::make_offer> == opcode::make_offer);
static_assert(opcode_of<cmd::keepalive> == opcode::keepalive);
static_assert(opcode_of<cmd::kick> == opcode::kick);
static_assert(opcode_of<cmd::lobby_info> == opcode::lobby_info);
static_assert(opcode_of<cmd::turn_credentials> == opcode::turn_credentials);

} // namespace

const char* opcode_name(opcode x) {
  auto i = static_cast<size_t>(x);
  if (i >= first_named && i - first_named < names.size() - 1)
    return names[i - first_named].data();
  return x == opcode::none ? "" : "UNKNOWN";
}

std::string to_string(opcode x) {
  return x == opcode::none ? "NONE" : opcode_name(x);
}

opcode opcode_from_name(std::string_view x) {
  for (size_t i = 0; i + 1 < names.size(); ++i)
    if (x == names[i])
      return static_cast<opcode>(first_named + i);
  return opcode::unknown;
}

} // namespace omega
