#pragma once

#include <caf/fwd.hpp>

namespace boost {
namespace asio {
class io_context;
} // namespace asio
} // namespace boost

namespace omega {

/// Makes the actor system built from `cfg` schedule its actors on threads
/// that also run the gateway's Asio handlers (see `attach_io`). On a
/// dedicated I/O thread every relayed frame crosses threads twice (socket to
/// CONNECTION, SINK back to the socket), and on few cores each crossing is a
/// wake-up and a context switch; on shared threads a frame is read, handled
/// by its actors and written without leaving the thread. Call before
/// constructing the `caf::actor_system`; it also bounds
/// `scheduler.max-throughput`, which later settings may override.
void use_shared_loop(caf::actor_system_config& cfg);

/// Lets the scheduler threads of `sys` run the handlers of `ioc` whenever
/// they have no actor to run. Returns false if `sys` does not use the shared
/// loop (then the caller needs I/O threads of its own).
bool attach_io(caf::actor_system& sys, boost::asio::io_context& ioc);

/// Takes `ioc` back: on return no scheduler thread runs its handlers, and
/// the caller may stop and destroy it. Idempotent.
void detach_io(caf::actor_system& sys);

} // namespace omega
