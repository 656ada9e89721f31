#pragma once

#include <caf/type_id.hpp>

#include "messages/commands.hpp"
#include "messages/error.hpp"
#include "messages/events.hpp"
#include "messages/internal.hpp"

/// The `omega` type-ID block: every message type that crosses actor (and
/// node) boundaries, so both ends of a remote connection agree on names.
/// Actor handles continue in the `omega_actors` block (actors/actors.hpp).

#define OMEGA_ADD_ATOM(name, text) CAF_ADD_ATOM(omega, omega::atom, name, text)

CAF_BEGIN_TYPE_ID_BLOCK(omega, caf::first_custom_type_id)

  // INTERNAL: a CONNECTION joins its GAME's audience for broadcasts.
  OMEGA_ADD_ATOM(subscribe, "subscribe")
  // LOBBY: report its public details for LOBBY_INFO.
  OMEGA_ADD_ATOM(info, "info")
  // INTERNAL: a former member of a destroyed LOBBY saw its LOBBY_CLOSE.
  OMEGA_ADD_ATOM(leave, "leave")
  // INTERNAL: a LOBBY's claim window ran out.
  OMEGA_ADD_ATOM(claim_end, "claimEnd")
  // CLUSTER: two nodes introduce themselves (NODE <-> NODE).
  OMEGA_ADD_ATOM(hello, "hello")
  // CLUSTER: the owner node of a game serves it (DIRECTORY <-> DIRECTORY).
  OMEGA_ADD_ATOM(place, "place")
  // CLUSTER: asks whether a node already runs a game's GAME.
  OMEGA_ADD_ATOM(find, "find")
  // CLUSTER: holds or frees an account's one session (AUTH <-> AUTH).
  OMEGA_ADD_ATOM(reserve, "reserve")
  OMEGA_ADD_ATOM(release, "release")
  // CLUSTER: fetch missing rows from every peer (HTTP login -> local AUTH).
  OMEGA_ADD_ATOM(pull, "pull")
  // INTERNAL: a periodic timer (replication push, peer reconnects).
  OMEGA_ADD_ATOM(tick, "tick")
  // INTERNAL: a CONNECTION's deadline for INIT ran out.
  OMEGA_ADD_ATOM(init_deadline, "initDue")
  // INTERNAL: a LOBBY's held-back PASSWORD_FAIL is due.
  OMEGA_ADD_ATOM(password_due, "pwDue")
  // INTERNAL: a GAME's broadcasts held back over budget are due.
  OMEGA_ADD_ATOM(flush, "flush")
  // INTERNAL: the process drains before a restart, so nothing new starts on
  // this node (gateway -> DIRECTORY -> GAMEs and NODE).
  OMEGA_ADD_ATOM(drain, "drain")
  // INTERNAL: a held session's resume window ran out (CONNECTION).
  OMEGA_ADD_ATOM(resume_end, "resumeEnd")
  // INTERNAL: a new socket took the session over; the old SINK keeps
  // passing its lobby's frames to the CONNECTION and closes its socket.
  OMEGA_ADD_ATOM(supersede, "supersede")
  // CONNECTION -> AUTH: TURN credentials for an account.
  OMEGA_ADD_ATOM(turn, "turn")

  CAF_ADD_TYPE_ID(omega, (omega::ec))
  CAF_ADD_TYPE_ID(omega, (omega::opcode))

  CAF_ADD_TYPE_ID(omega, (omega::cmd::keepalive))
  CAF_ADD_TYPE_ID(omega, (omega::cmd::init))
  CAF_ADD_TYPE_ID(omega, (omega::cmd::config_host))
  CAF_ADD_TYPE_ID(omega, (omega::cmd::config_peer))
  CAF_ADD_TYPE_ID(omega, (omega::cmd::make_offer))
  CAF_ADD_TYPE_ID(omega, (omega::cmd::make_answer))
  CAF_ADD_TYPE_ID(omega, (omega::cmd::ice))
  CAF_ADD_TYPE_ID(omega, (omega::cmd::claim_host))
  CAF_ADD_TYPE_ID(omega, (omega::cmd::transfer_host))
  CAF_ADD_TYPE_ID(omega, (omega::cmd::lock))
  CAF_ADD_TYPE_ID(omega, (omega::cmd::unlock))
  CAF_ADD_TYPE_ID(omega, (omega::cmd::size))
  CAF_ADD_TYPE_ID(omega, (omega::cmd::kick))
  CAF_ADD_TYPE_ID(omega, (omega::cmd::lobby_list))
  CAF_ADD_TYPE_ID(omega, (omega::cmd::lobby_info))
  CAF_ADD_TYPE_ID(omega, (omega::cmd::resumable))
  CAF_ADD_TYPE_ID(omega, (omega::cmd::resume))
  CAF_ADD_TYPE_ID(omega, (omega::cmd::turn_credentials))
  CAF_ADD_TYPE_ID(omega, (omega::cmd::bad_frame))
  CAF_ADD_TYPE_ID(omega, (omega::command))

  CAF_ADD_TYPE_ID(omega, (omega::evt::keepalive))
  CAF_ADD_TYPE_ID(omega, (omega::evt::init_ok))
  CAF_ADD_TYPE_ID(omega, (omega::evt::ack_host))
  CAF_ADD_TYPE_ID(omega, (omega::evt::password_ack))
  CAF_ADD_TYPE_ID(omega, (omega::evt::ack_peer))
  CAF_ADD_TYPE_ID(omega, (omega::evt::new_host))
  CAF_ADD_TYPE_ID(omega, (omega::evt::new_peer))
  CAF_ADD_TYPE_ID(omega, (omega::evt::anticipate))
  CAF_ADD_TYPE_ID(omega, (omega::evt::discover))
  CAF_ADD_TYPE_ID(omega, (omega::evt::peer_gone))
  CAF_ADD_TYPE_ID(omega, (omega::evt::host_gone))
  CAF_ADD_TYPE_ID(omega, (omega::evt::host_reclaim))
  CAF_ADD_TYPE_ID(omega, (omega::evt::lobby_close))
  CAF_ADD_TYPE_ID(omega, (omega::evt::relayed))
  CAF_ADD_TYPE_ID(omega, (omega::evt::relay_ok))
  CAF_ADD_TYPE_ID(omega, (omega::evt::lock_state))
  CAF_ADD_TYPE_ID(omega, (omega::evt::size_state))
  CAF_ADD_TYPE_ID(omega, (omega::evt::lobby_list))
  CAF_ADD_TYPE_ID(omega, (omega::evt::lobby_info))
  CAF_ADD_TYPE_ID(omega, (omega::evt::error_reply))
  CAF_ADD_TYPE_ID(omega, (omega::evt::violation))
  CAF_ADD_TYPE_ID(omega, (omega::evt::resumable))
  CAF_ADD_TYPE_ID(omega, (omega::evt::resumed))
  CAF_ADD_TYPE_ID(omega, (omega::evt::turn_credentials))
  CAF_ADD_TYPE_ID(omega, (omega::evt::encoded))

  CAF_ADD_TYPE_ID(omega, (omega::member_info))
  CAF_ADD_TYPE_ID(omega, (omega::authenticate))
  CAF_ADD_TYPE_ID(omega, (omega::session_info))
  CAF_ADD_TYPE_ID(omega, (omega::relay))
  CAF_ADD_TYPE_ID(omega, (omega::lobby_closed))
  CAF_ADD_TYPE_ID(omega, (omega::replica))
  CAF_ADD_TYPE_ID(omega, (omega::replica_query))
  CAF_ADD_TYPE_ID(omega, (omega::read_gate))
  CAF_ADD_TYPE_ID(omega, (omega::account_row))
  CAF_ADD_TYPE_ID(omega, (omega::game_row))
  CAF_ADD_TYPE_ID(omega, (omega::token_row))
  CAF_ADD_TYPE_ID(omega, (omega::save_key))
  CAF_ADD_TYPE_ID(omega, (omega::save_row))

CAF_END_TYPE_ID_BLOCK(omega)

#undef OMEGA_ADD_ATOM
