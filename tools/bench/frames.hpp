#pragma once

#include <cstdint>
#include <string>
#include <string_view>

namespace omega::bench {

/// The three relayed message kinds; PeerJS calls ICE `CANDIDATE`.
enum class msg_kind : uint8_t { offer, answer, ice };

/// What a received frame means to a scenario, whatever the target.
enum class in_type {
  ready,    // omega INIT_OK, PeerJS OPEN
  ack_host, // omega ACK_HOST
  ack_peer, // omega ACK_PEER (src = host id)
  new_peer, // omega NEW_PEER (src = peer id)
  ack,      // omega RELAY_OK, plain "ok"
  delivery, // a relayed message (src = sender, sent_ns = its timestamp)
  gone,     // omega LOBBY_CLOSE, HOST_GONE, PEER_GONE (src = lobby or member
            // id, text = opcode): fatal when it concerns the client's lobby
  ignore,   // notifications scenarios do not care about
  error,    // anything unexpected (text says what)
};

/// One classified frame. `src` views either the frame or `storage`, so an
/// `incoming` is used in place and never copied.
struct incoming {
  in_type type = in_type::ignore;
  msg_kind kind = msg_kind::offer;
  std::string_view src;
  int64_t sent_ns = 0;
  std::string storage;
  std::string text;
};

} // namespace omega::bench
