#pragma once

#include <string>
#include <vector>

namespace omega {

/// Returns the node that owns `ugi` among `nodes`: the highest rendezvous
/// score. Every node computes the same answer from the same node names, and
/// losing a node moves only the games it owned. A pure function, apart from
/// the DIRECTORY that applies it, so that omega-admin (`game owner`) tells
/// an operator the same answer without any actor.
std::string owner_of(const std::string& ugi,
                     const std::vector<std::string>& nodes);

} // namespace omega
