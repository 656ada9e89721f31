#include "actors/actors.hpp"

#include <caf/actor_system_config.hpp>
#include <caf/message.hpp>

namespace omega {

void add_message_types(caf::actor_system_config& cfg) {
  cfg.add_message_types<caf::id_block::omega>();
  cfg.add_message_types<caf::id_block::omega_actors>();
  // The templated add_error_category<T> of 0.17.6 does not compile; the
  // renderer form does the same.
  cfg.add_error_category(caf::atom("omega"), [](uint8_t code, caf::atom_value,
                                                const caf::message& ctx) {
    auto result = "omega: " + to_string(ec{code});
    if (!ctx.empty())
      result += " " + caf::to_string(ctx);
    return result;
  });
}

} // namespace omega
