#!/usr/bin/env bash
# Runs a command in a private network namespace made for it, then removes
# the namespace: the browser tests' network (docs/testing.md).
#
# usage: scripts/netns-run.sh COMMAND [ARGS...]
#
# Inside there is loopback and one veth pair whose ends are 10.77.0.1/24 and
# 10.77.0.2/24. Chromium gathers no WebRTC candidates on 127.0.0.1, so the
# tests serve on 10.77.0.1; the pair reaches nothing outside, so no test
# traffic (WebRTC included) ever leaves the machine. Needs root (or
# CAP_SYS_ADMIN and CAP_NET_ADMIN) and iproute2. Exits with COMMAND's
# status, or 125 when the namespace cannot be made.
set -uo pipefail

if [ $# -eq 0 ]; then
  echo "usage: scripts/netns-run.sh COMMAND [ARGS...]" >&2
  exit 125
fi
sudo_cmd=()
if [ "$(id -u)" -ne 0 ]; then
  sudo_cmd=(sudo -E)
fi
ns="omega-test-$$"
left="om$$l"
right="om$$r"

remove_namespace() {
  "${sudo_cmd[@]}" ip netns delete "$ns" 2>/dev/null || true
}
trap remove_namespace EXIT
trap 'exit 130' INT TERM

make_namespace() {
  local ip=("${sudo_cmd[@]}" ip)
  "${ip[@]}" netns add "$ns" || return 1
  "${ip[@]}" -n "$ns" link set lo up || return 1
  # Addresses usable at once (no duplicate address detection), so a browser
  # started right away sees no interface change a moment later.
  "${sudo_cmd[@]}" ip netns exec "$ns" sysctl -qw \
    net.ipv6.conf.all.accept_dad=0 net.ipv6.conf.default.accept_dad=0 || return 1
  "${ip[@]}" -n "$ns" link add "$left" type veth peer name "$right" || return 1
  "${ip[@]}" -n "$ns" address add 10.77.0.1/24 dev "$left" || return 1
  "${ip[@]}" -n "$ns" address add 10.77.0.2/24 dev "$right" || return 1
  "${ip[@]}" -n "$ns" link set "$left" up || return 1
  "${ip[@]}" -n "$ns" link set "$right" up || return 1
  # A default route, so Chromium sees a network at all.
  "${ip[@]}" -n "$ns" route add default via 10.77.0.2 dev "$left" || return 1
}

if ! errors=$(make_namespace 2>&1); then
  echo "netns-run: cannot make a network namespace: ${errors%%$'\n'*}" >&2
  exit 125
fi
"${sudo_cmd[@]}" ip netns exec "$ns" "$@"
