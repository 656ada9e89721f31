#!/usr/bin/env bash
# Relay throughput and latency across cluster nodes against within one node.
# Three set-ups, each measured by omega-bench's relay scenario:
#   single - one omega-server, no cluster (the reference);
#   local  - two clustered nodes; hosts and peers both on the game's owner;
#   cross  - two clustered nodes; hosts on the owner, peers on the other
#            node, so every relayed message crosses CAF remoting once.
# The nodes talk over TLS with certificates that omega-admin makes in the
# scratch folder (INSECURE=1: plain remoting on loopback instead, to measure
# what TLS costs).
# Both nodes share one core (SERVER_CPU, default 0) so that the server side
# gets the same CPU as the single server; omega-bench runs on CLIENT_CPU
# (default 1). Server CPU is summed over both nodes. Each set-up runs REPEAT
# times with fresh servers; the script prints a table of medians.
#
# Usage: bash scripts/bench-cluster.sh          (about 4 minutes)
#        QUICK=1 bash scripts/bench-cluster.sh  (2 s runs)
#
# Settings (environment variables, defaults in parentheses):
#   REPEAT (3)  DURATION (5; QUICK 2)  WARMUP (1; QUICK 0.5)
#   LOBBIES (50)  PEERS (1)  INFLIGHT (4)  PAYLOAD (1024)
#   SERVER_CPU (0)  CLIENT_CPU (1)  BUILD (build-bench)  SKIP_BUILD (0)
#   INSECURE (0)  OPEN_PERCENT (50: the open-loop runs' rate, percent of
#   each set-up's own maximum)
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
QUICK=${QUICK:-0}
if [[ $QUICK == 1 ]]; then def_duration=2 def_warmup=0.5; else
  def_duration=5 def_warmup=1; fi
REPEAT=${REPEAT:-3}
DURATION=${DURATION:-$def_duration}
WARMUP=${WARMUP:-$def_warmup}
LOBBIES=${LOBBIES:-50}
PEERS=${PEERS:-1}
INFLIGHT=${INFLIGHT:-4}
PAYLOAD=${PAYLOAD:-1024}
SERVER_CPU=${SERVER_CPU:-0}
CLIENT_CPU=${CLIENT_CPU:-1}
BUILD=${BUILD:-$ROOT/build-bench}
SKIP_BUILD=${SKIP_BUILD:-0}
INSECURE=${INSECURE:-0}
OPEN_PERCENT=${OPEN_PERCENT:-50}

say() { echo "bench-cluster: $*" >&2; }
die() { say "error: $*"; exit 1; }

WORK=$(mktemp -d /tmp/omega-bench-cluster.XXXXXX)
RESULTS=$WORK/results.tsv
: >"$RESULTS"
PIDS=()

stop_all() {
  for pid in "${PIDS[@]}"; do kill -TERM "$pid" 2>/dev/null || true; done
  for pid in "${PIDS[@]}"; do
    for _ in $(seq 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    kill -KILL "$pid" 2>/dev/null || true
    wait "$pid" 2>/dev/null || true
  done
  PIDS=()
}
trap 'stop_all; rm -rf "$WORK"' EXIT

if [[ $SKIP_BUILD != 1 ]]; then
  bash "$ROOT/scripts/setup.sh"
  cmake -S "$ROOT" -B "$BUILD" -G Ninja -DCMAKE_BUILD_TYPE=Release >/dev/null
  cmake --build "$BUILD" -j2 --target omega-bench omega-server omega-admin \
    >/dev/null
fi

# A free port on 127.0.0.1 (for the remoting ports, which peers must know).
free_port() {
  python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])' 2>/dev/null \
    || echo $((20000 + RANDOM % 20000))
}

# The cluster's CA and the two nodes' certificates, made once per run.
CERTS=$WORK/certs
"$BUILD/omega-admin" cluster init-ca "$CERTS" >/dev/null
# Prints node $1's security flags, one per line.
cluster_security() {
  if [[ $INSECURE == 1 ]]; then echo --cluster-insecure; return; fi
  [[ -f $CERTS/$1.pem ]] \
    || "$BUILD/omega-admin" cluster issue-cert "$CERTS" "$1" >/dev/null
  printf '%s\n' --cluster-cert "$CERTS/$1.pem" --cluster-key "$CERTS/$1.key" \
    --cluster-ca "$CERTS/ca.pem"
}

# Starts omega-server with data folder $1 and extra flags; sets PORT and PID.
# The limits against abuse are off: a benchmark is no legitimate client.
start_server() {
  local dir=$1; shift
  local log=$dir.log
  taskset -c "$SERVER_CPU" "$BUILD/omega-server" --listen 127.0.0.1:0 \
    --data-dir "$dir" --password-hash minimal --log-level info \
    --rate-relay 0 --rate-keepalive 0 --rate-init 0 --rate-lobby 0 \
    --rate-query 0 --lobby-create-rate 0 --broadcast-rate 0 "$@" \
    2>"$log" &
  PID=$!
  PIDS+=("$PID")
  for _ in $(seq 100); do
    PORT=$(sed -n 's/.*info: listening on 127.0.0.1:\([0-9]*\).*/\1/p' "$log")
    [[ -n $PORT ]] && return 0
    sleep 0.1
  done
  die "omega-server did not start: $(cat "$log")"
}

# Waits until log $1 mentions "node $2 joined".
await_join() {
  for _ in $(seq 100); do
    grep -q "node $2 joined" "$1" && return 0
    sleep 0.1
  done
  die "node $2 never joined ($1)"
}

# One run of set-up $1 ($2 = repetition), recorded under label $3 (default:
# the set-up); further arguments go to omega-bench (e.g. --rate R).
run_once() {
  local setup=$1 rep=$2 label=${3:-$1}
  shift 3 || shift $#
  local a=$WORK/$label-$rep-a b=$WORK/$label-$rep-b
  local ugi accounts=$((LOBBIES * (PEERS + 1)))
  ugi=$("$BUILD/omega-admin" --data-dir "$a" game add "Bench Game" \
    --developer Bench)
  "$BUILD/omega-admin" --data-dir "$a" user add-many bench "$accounts" \
    >"$WORK/tokens-$label-$rep.tsv"
  local host_port peer_port pid_a pid_b=""
  if [[ $setup == single ]]; then
    start_server "$a"; host_port=$PORT; peer_port=$PORT; pid_a=$PID
  else
    local ca cb
    ca=$(free_port); cb=$(free_port)
    local sec_a sec_b
    mapfile -t sec_a < <(cluster_security na)
    mapfile -t sec_b < <(cluster_security nb)
    start_server "$a" --node-name na --cluster-listen "127.0.0.1:$ca" \
      "${sec_a[@]}"
    local port_a=$PORT; pid_a=$PID
    start_server "$b" --node-name nb --cluster-listen "127.0.0.1:$cb" \
      --cluster-peer "127.0.0.1:$ca" "${sec_b[@]}"
    local port_b=$PORT; pid_b=$PID
    await_join "$a.log" nb; await_join "$b.log" na
    # Accounts and game reach node b by the one-second push.
    sleep 1.5
    local owner
    owner=$("$BUILD/omega-admin" game owner "$ugi" na nb)
    if [[ $owner == na ]]; then host_port=$port_a; other=$port_b
      host_pid=$pid_a; other_pid=$pid_b
    else host_port=$port_b; other=$port_a; host_pid=$pid_b; other_pid=$pid_a
    fi
    if [[ $setup == local ]]; then peer_port=$host_port; else
      peer_port=$other; fi
    pid_a=$host_pid; pid_b=$other_pid
  fi
  local out=$WORK/$label-$rep.out
  local extra=()
  [[ -n $pid_b ]] && extra=(--peer-server-pid "$pid_b")
  taskset -c "$CLIENT_CPU" "$BUILD/omega-bench" --target omega \
    --port "$host_port" --peer-port "$peer_port" --ugi "$ugi" \
    --tokens "$WORK/tokens-$label-$rep.tsv" --server-pid "$pid_a" \
    "${extra[@]}" --scenario relay --lobbies "$LOBBIES" --peers "$PEERS" \
    --inflight "$INFLIGHT" --payload-bytes "$PAYLOAD" \
    --duration "$DURATION" --warmup "$WARMUP" "$@" >"$out" 2>&1 || true
  local line
  line=$(grep '^RESULT ' "$out" | head -1 || true)
  [[ -n $line ]] || die "no result for $setup: $(tail -5 "$out")"
  echo -e "$label\t$line" >>"$RESULTS"
  say "$label #$rep: $(echo "$line" | grep -o ' rate=[^ ]*\|p99_us=[^ ]*\|late=[^ ]*\|msgs_per_server_cpu_s=[^ ]*' | tr '\n' ' ')"
  stop_all
}

value() { echo "$1" | tr ' ' '\n' | sed -n "s/^$2=//p"; }

median() {
  local setup=$1 key=$2
  awk -F'\t' -v s="$setup" '$1 == s { print $2 }' "$RESULTS" \
    | while read -r line; do value "$line" "$key"; done | grep -v '^na$' \
    | sort -g | awk '{ v[NR] = $1 } END {
        if (NR == 0) { print "na"; exit }
        print (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2 }'
}

for setup in single local cross; do
  for rep in $(seq "$REPEAT"); do run_once "$setup" "$rep"; done
done
# The open loop (docs/benchmarks.md, Method): each set-up again at
# OPEN_PERCENT of its own saturated rate, latency from the scheduled send
# times, late sends counted.
for setup in single local cross; do
  max=$(median "$setup" rate)
  [[ $max == na ]] && continue
  rate=$(awk -v m="$max" -v p="$OPEN_PERCENT" 'BEGIN { printf "%d", m * p / 100 }')
  for rep in $(seq "$REPEAT"); do
    run_once "$setup" "$rep" "$setup-open" --rate "$rate"
  done
done

echo
mode=TLS; [[ $INSECURE == 1 ]] && mode="plain remoting"
echo "relay across cluster nodes ($mode): $LOBBIES lobbies x $PEERS peers," \
  "$INFLIGHT in flight, $PAYLOAD B payloads; medians of $REPEAT runs"
printf '%-8s %12s %10s %10s %10s %16s\n' setup "msgs/s" "p50 us" \
  "p99 us" "p99.9 us" "msgs/server-CPU-s"
for setup in single local cross; do
  printf '%-8s %12s %10s %10s %10s %16s\n' "$setup" \
    "$(median "$setup" rate)" "$(median "$setup" p50_us)" \
    "$(median "$setup" p99_us)" "$(median "$setup" p999_us)" \
    "$(median "$setup" msgs_per_server_cpu_s)"
done
echo
echo "open loop at $OPEN_PERCENT% of each set-up's own maximum (latency from" \
  "the scheduled send time)"
printf '%-8s %10s %10s %10s %14s %18s\n' setup "msgs/s" "p99 us" "late" \
  "CPU us/msg" "CPU/msg / sat."
for setup in single local cross; do
  open=$(median "$setup-open" server_cpu_us_per_msg)
  sat=$(median "$setup" server_cpu_us_per_msg)
  printf '%-8s %10s %10s %10s %14s %18s\n' "$setup" \
    "$(median "$setup-open" rate)" "$(median "$setup-open" p99_us)" \
    "$(median "$setup-open" late)" "$open" \
    "$(awk -v a="$open" -v b="$sat" 'BEGIN { if (a == "na" || b == "na" || b == 0) print "na"; else printf "%.2f", a / b }')"
done
