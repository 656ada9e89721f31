#!/usr/bin/env bash
# Benchmarks omega-server against two reference servers on this machine:
#   plain  - plain-relay, a bare Boost.Beast relay (the plumbing limit);
#   peerjs - the PeerJS server (npm `peer`), a popular signaling server.
# The target omega-tls (not in the default TARGETS) is omega-server serving
# wss:// (--tls-cert, a self-signed P-256 certificate made for the run) and
# omega-bench speaking it (--tls, verifying that certificate): with
# TARGETS="omega omega-tls", one run measures what TLS costs, side by side.
# Each server runs pinned to one core (SERVER_CPU, default 0) with one
# thread where it has a choice; the load generator omega-bench runs pinned to
# another (CLIENT_CPU, default 1). Every scenario runs REPEAT times per
# target, with a fresh server per run, and the script prints one table of
# medians and the ratios omega/plain and omega/peerjs.
#
# Usage: bash scripts/bench.sh           (about 17 minutes)
#        QUICK=1 bash scripts/bench.sh   (2 s runs, smaller populations)
#        TARGETS="omega omega-tls" bash scripts/bench.sh   (TLS vs not,
#          about 6 minutes)
#
# Settings (environment variables, defaults in parentheses):
#   REPEAT (3)  DURATION (10; QUICK 2)  WARMUP (1; QUICK 0.5)
#   LOBBIES (100)  PEERS (1)  INFLIGHT (4)  PAYLOAD (1024)
#   HS_CONCURRENCY (8)  HS_COUNT (20000; QUICK 4000)
#   IDLE_CONNS (10000; QUICK 2000)  SETTLE (2; QUICK 1)
#   HALF_RATE (half of omega's measured maximum)  HALF_REPEAT (5: runs at
#   half load, whose p99 moves most from run to run)
#   OPEN_LEVELS ("25 50 75": open-loop rates, percent of each server's own
#   maximum)  OPEN_REPEAT (3)
#   TARGETS ("omega plain peerjs"; also omega-tls)  SERVER_CPU (0)
#   CLIENT_CPU (1)
#   BUILD (build-bench)  SKIP_BUILD (0)  PEERJS_DIR (/tmp/omega-bench-peerjs)
#   KEEP (0: delete the scratch folder with logs and results at the end)
#   OMEGA_FLAGS (none; e.g. "--io-threads 1" for a dedicated I/O thread)
#   LIMITS (off; "default": omega's limits against abuse as shipped)
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
QUICK=${QUICK:-0}
if [[ $QUICK == 1 ]]; then
  def_duration=2 def_warmup=0.5 def_hs_count=4000 def_idle=2000 def_settle=1
else
  def_duration=10 def_warmup=1 def_hs_count=20000 def_idle=10000 def_settle=2
fi
REPEAT=${REPEAT:-3}
HALF_REPEAT=${HALF_REPEAT:-5}
OPEN_REPEAT=${OPEN_REPEAT:-3}
OPEN_LEVELS=${OPEN_LEVELS:-25 50 75}
DURATION=${DURATION:-$def_duration}
WARMUP=${WARMUP:-$def_warmup}
LOBBIES=${LOBBIES:-100}
PEERS=${PEERS:-1}
INFLIGHT=${INFLIGHT:-4}
PAYLOAD=${PAYLOAD:-1024}
HS_CONCURRENCY=${HS_CONCURRENCY:-8}
HS_COUNT=${HS_COUNT:-$def_hs_count}
IDLE_CONNS=${IDLE_CONNS:-$def_idle}
SETTLE=${SETTLE:-$def_settle}
TARGETS=${TARGETS:-omega plain peerjs}
SERVER_CPU=${SERVER_CPU:-0}
CLIENT_CPU=${CLIENT_CPU:-1}
BUILD=${BUILD:-$ROOT/build-bench}
SKIP_BUILD=${SKIP_BUILD:-0}
PEERJS_DIR=${PEERJS_DIR:-/tmp/omega-bench-peerjs}
PEERJS_VERSION=1.0.2
PEERJS_BIN=$PEERJS_DIR/node_modules/peer/dist/bin/peerjs.js
KEEP=${KEEP:-0}
OMEGA_FLAGS=${OMEGA_FLAGS:-}
# A benchmark drives each connection far beyond any client's rate: the
# limits against abuse (docs/operations.md, "Limits") are off, unless
# LIMITS=default (to measure what checking them costs).
LIMITS=${LIMITS:-off}
NO_LIMITS="--rate-relay 0 --rate-relay-bytes 0 --rate-keepalive 0
  --rate-init 0 --rate-lobby 0 --rate-query 0 --lobby-create-rate 0
  --broadcast-rate 0"
[[ $LIMITS == default ]] && NO_LIMITS=""

say() { echo "bench: $*" >&2; }
die() { say "error: $*"; exit 1; }

WORK=$(mktemp -d /tmp/omega-bench.XXXXXX)
RESULTS=$WORK/results.tsv
: >"$RESULTS"
SERVER_PID=
BENCH_PID=

stop_pid() {
  local pid=$1
  kill -TERM "$pid" 2>/dev/null || return 0
  for _ in $(seq 50); do
    kill -0 "$pid" 2>/dev/null || break
    sleep 0.1
  done
  kill -KILL "$pid" 2>/dev/null || true
  wait "$pid" 2>/dev/null || true
}

cleanup() {
  [[ -n $BENCH_PID ]] && stop_pid "$BENCH_PID"
  [[ -n $SERVER_PID ]] && stop_pid "$SERVER_PID"
  BENCH_PID='' SERVER_PID=''
  if [[ $KEEP == 1 ]]; then
    say "logs and results kept in $WORK"
  else
    rm -rf "$WORK"
  fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# -- preparation ------------------------------------------------------------------

if [[ $SKIP_BUILD != 1 ]]; then
  say "building (Release) in $BUILD"
  cmake -S "$ROOT" -B "$BUILD" -G Ninja -DCMAKE_BUILD_TYPE=Release >/dev/null
  cmake --build "$BUILD" -j2 \
    --target omega-bench plain-relay omega-server omega-admin >/dev/null
fi
for bin in omega-bench plain-relay omega-server omega-admin; do
  [[ -x $BUILD/$bin ]] || die "$BUILD/$bin is missing"
done

# True if target $1 is among TARGETS.
has_target() {
  [[ " $TARGETS " == *" $1 "* ]]
}

if has_target peerjs; then
  command -v node >/dev/null || die "node is needed for the PeerJS target"
  if [[ ! -f $PEERJS_BIN ]]; then
    say "installing PeerJS server $PEERJS_VERSION into $PEERJS_DIR"
    npm install --prefix "$PEERJS_DIR" --no-audit --no-fund \
      "peer@$PEERJS_VERSION" >/dev/null ||
      die "npm install peer@$PEERJS_VERSION failed"
  fi
fi

# Every connection is a descriptor in the client and one in the server.
ulimit -n "$(ulimit -Hn)" 2>/dev/null || true
max_conns=$(($(ulimit -n) - 200))
if ((IDLE_CONNS > max_conns)); then
  say "IDLE_CONNS lowered from $IDLE_CONNS to $max_conns (ulimit -n)"
  IDLE_CONNS=$max_conns
fi

if pgrep -x cc1plus >/dev/null || pgrep -x ninja >/dev/null; then
  say "warning: compilers are running on this machine; numbers will be noisy"
fi

# One data folder for every omega run: a game and enough accounts for the
# largest scenario. Each run starts a fresh server, so tokens are reused
# across runs (one live session per account only holds within a process).
DATA=$WORK/data
relay_conns=$((LOBBIES * (1 + PEERS)))
accounts=$((2 * HS_COUNT))
((relay_conns > accounts)) && accounts=$relay_conns
((IDLE_CONNS > accounts)) && accounts=$IDLE_CONNS
UGI=
TOKENS=$WORK/tokens.tsv
if has_target omega || has_target omega-tls; then
  UGI=$("$BUILD/omega-admin" --data-dir "$DATA" game add "Bench Game" \
    --developer "Bench Developer")
  say "creating $accounts accounts with tokens"
  "$BUILD/omega-admin" --data-dir "$DATA" user add-many bench "$accounts" \
    >"$TOKENS"
fi

# omega-tls: a certificate for 127.0.0.1 as an operator would make one; the
# client trusts exactly it.
TLS_CERT=$WORK/tls-cert.pem
TLS_KEY=$WORK/tls-key.pem
if has_target omega-tls; then
  command -v openssl >/dev/null || die "openssl is needed for omega-tls"
  openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes \
    -keyout "$TLS_KEY" -out "$TLS_CERT" -days 2 -subj /CN=127.0.0.1 \
    -addext subjectAltName=IP:127.0.0.1 -batch 2>/dev/null ||
    die "openssl could not make a certificate"
fi

# -- servers ---------------------------------------------------------------------

free_port() {
  node -e 'const s=require("net").createServer();
           s.listen(0,"127.0.0.1",()=>{console.log(s.address().port);s.close()})'
}

# Waits for a line matching the extended regex $2 in file $1 and prints the
# port that follows "127.0.0.1:" (or port: N for PeerJS).
wait_for_port() {
  local log=$1 pattern=$2
  for _ in $(seq 100); do
    if grep -qE "$pattern" "$log" 2>/dev/null; then
      grep -oE "$pattern" "$log" | head -1 | grep -oE '[0-9]+$'
      return 0
    fi
    kill -0 "$SERVER_PID" 2>/dev/null || break
    sleep 0.1
  done
  return 1
}

# Starts a fresh server for target $1; sets SERVER_PID and SERVER_PORT.
start_server() {
  local target=$1 log=$WORK/server-$1-$RUN.log
  case $target in
    omega | omega-tls)
      local tls=()
      [[ $target == omega-tls ]] && tls=(--tls-cert "$TLS_CERT" --tls-key
        "$TLS_KEY")
      taskset -c "$SERVER_CPU" "$BUILD/omega-server" --listen 127.0.0.1:0 \
        --data-dir "$DATA" --password-hash minimal --caf-threads 1 \
        "${tls[@]}" $NO_LIMITS $OMEGA_FLAGS 2>"$log" &
      SERVER_PID=$!
      SERVER_PORT=$(wait_for_port "$log" 'listening on 127\.0\.0\.1:[0-9]+') || true
      ;;
    plain)
      taskset -c "$SERVER_CPU" "$BUILD/plain-relay" --listen 127.0.0.1:0 \
        --threads 1 2>"$log" &
      SERVER_PID=$!
      SERVER_PORT=$(wait_for_port "$log" 'listening on 127\.0\.0\.1:[0-9]+') || true
      ;;
    peerjs)
      local port
      port=$(free_port)
      # The CLI logs every connect and disconnect on stdout; that is part of
      # running PeerJS as documented. The limits are raised so that neither
      # the idle scenario nor a slow run hits them.
      taskset -c "$SERVER_CPU" node "$PEERJS_BIN" --port "$port" \
        --host 127.0.0.1 --concurrent_limit 10000000 \
        --alive_timeout 3600000 >"$log" 2>&1 &
      SERVER_PID=$!
      SERVER_PORT=$(wait_for_port "$log" 'port: [0-9]+') || true
      ;;
  esac
  [[ -n $SERVER_PORT ]] || { cat "$log" >&2; die "$target did not start"; }
  # Let start-up work (JIT, SQLite, thread creation) finish before measuring.
  sleep 0.3
}

# -- runs --------------------------------------------------------------------------

RUN=0
FAILED=0
NOISY=0

# True if compilers or linkers run on this machine: they take the cores the
# server and the client are pinned to.
busy() {
  pgrep -x cc1plus >/dev/null || pgrep -x ld >/dev/null ||
    pgrep -x ninja >/dev/null
}

# Runs one scenario against target $2 and records its RESULT line under label
# $1; the remaining arguments go to omega-bench.
run_bench() {
  local label=$1 target=$2
  shift 2
  RUN=$((RUN + 1))
  start_server "$target"
  local args=(--target "${target%-tls}" --port "$SERVER_PORT" --server-pid
    "$SERVER_PID" "$@")
  [[ $target == omega* ]] && args+=(--ugi "$UGI" --tokens "$TOKENS")
  [[ $target == *-tls ]] && args+=(--tls --tls-ca "$TLS_CERT")
  local out=$WORK/run-$RUN.out err=$WORK/run-$RUN.err rc=0 noisy=0
  busy && noisy=1
  taskset -c "$CLIENT_CPU" "$BUILD/omega-bench" "${args[@]}" >"$out" \
    2>"$err" &
  BENCH_PID=$!
  wait "$BENCH_PID" || rc=$?
  BENCH_PID=
  busy && noisy=1
  stop_pid "$SERVER_PID"
  SERVER_PID=
  local line
  line=$(grep '^RESULT ' "$out" | head -1 || true)
  if ((rc != 0)) || [[ -z $line ]]; then
    FAILED=$((FAILED + 1))
    say "run $RUN ($label $target) failed (exit $rc):"
    sed 's/^/    /' "$err" | head -20 >&2
  fi
  [[ -n $line ]] && printf '%s\t%s\t%s\n' "$label" "$target" "$line" \
    >>"$RESULTS"
  say "$(printf '%-10s %-9s #%-2s %s' "$label" "$target" "$RUN" \
    "$(summary "$line")")"
  # A saturating relay run keeps the server's core busy; less means that
  # something else (often a compiler) took the core or the client lagged.
  local cpu
  cpu=$(field "$line" server_cpu_pct)
  if [[ $label == relay && -n $cpu && $cpu != na ]] && ((cpu < 90)); then
    noisy=1
    say "  warning: the server used only $cpu% of its core at full load"
  fi
  if ((noisy)); then
    NOISY=$((NOISY + 1))
    say "  warning: this run overlapped with other heavy processes"
  fi
}

# A short progress line from a RESULT line.
summary() {
  local line=$1 keys k v out=
  case $line in
    *scenario=relay*) keys="rate p50_us p99_us server_cpu_pct client_cpu_pct errors" ;;
    *scenario=handshake*) keys="hs_rate hs_p50_us init_rate server_cpu_s errors" ;;
    *scenario=idle*) keys="connections kb_per_conn init_rate errors" ;;
    *) echo "no result"; return ;;
  esac
  for k in $keys; do
    v=$(field "$line" "$k")
    out+="$k=$v "
  done
  echo "$out"
}

# The value of key $2 in RESULT line $1.
field() {
  tr ' ' '\n' <<<"$1" | awk -F= -v k="$2" '$1 == k { print $2; exit }'
}

# The median of key $3 over the runs labelled $1 for target $2, or "na".
median() {
  awk -F'\t' -v l="$1" -v t="$2" -v k="$3" '
    $1 == l && $2 == t {
      n = split($3, kv, " ")
      for (i = 1; i <= n; i++) {
        split(kv[i], p, "=")
        if (p[1] == k && p[2] != "na" && p[2] != "") print p[2]
      }
    }' "$RESULTS" | sort -g | awk '
    { a[NR] = $1 }
    END {
      if (NR == 0) print "na"
      else if (NR % 2) print a[(NR + 1) / 2]
      else print (a[NR / 2] + a[NR / 2 + 1]) / 2
    }'
}

relay_args=(--scenario relay --lobbies "$LOBBIES" --peers "$PEERS"
  --inflight "$INFLIGHT" --payload-bytes "$PAYLOAD" --duration "$DURATION"
  --warmup "$WARMUP")
hs_args=(--scenario handshake --concurrency "$HS_CONCURRENCY"
  --count "$HS_COUNT" --duration "$DURATION" --warmup 0.5)
idle_args=(--scenario idle --connections "$IDLE_CONNS" --settle "$SETTLE"
  --setup-timeout 120)

say "targets: $TARGETS; $REPEAT runs each; ${DURATION}s windows"
for _ in $(seq "$REPEAT"); do
  for t in $TARGETS; do run_bench relay "$t" "${relay_args[@]}"; done
done

# -- open loop: below saturation, where production servers run ----------------
# omega-bench --rate sends on a fixed schedule and stamps each message with
# its scheduled time (no coordinated omission); it counts the sends it could
# not make on time (late). Each target runs at OPEN_LEVELS percent of its
# own saturated rate; every target also runs at half of omega's maximum
# (HALF_RATE, the rate the p99 target compares at), and omega at half of
# plain-relay's maximum.

# Prints $2 percent of the median saturated rate of target $1 (or nothing).
own_rate() {
  local max
  max=$(median relay "$1" rate)
  [[ $max == na ]] && return 0
  awk -v m="$max" -v p="$2" 'BEGIN { printf "%d", m * p / 100 }'
}

HALF_RATE=${HALF_RATE:-$(own_rate omega 50)}
if [[ -n $HALF_RATE && $HALF_RATE != 0 ]]; then
  say "relay, open loop at $HALF_RATE msg/s (half of omega's maximum)"
  for _ in $(seq "$HALF_REPEAT"); do
    for t in $TARGETS; do
      run_bench relay_half "$t" "${relay_args[@]}" --rate "$HALF_RATE"
    done
  done
fi
for level in $OPEN_LEVELS; do
  say "relay, open loop at $level% of each server's own maximum"
  for _ in $(seq "$OPEN_REPEAT"); do
    for t in $TARGETS; do
      rate=$(own_rate "$t" "$level")
      [[ -n $rate && $rate != 0 ]] &&
        run_bench "open_$level" "$t" "${relay_args[@]}" --rate "$rate"
    done
  done
done
PLAIN_HALF=$(has_target plain && has_target omega && own_rate plain 50 || true)
if [[ -n $PLAIN_HALF && $PLAIN_HALF != 0 ]]; then
  say "relay, omega open loop at $PLAIN_HALF msg/s (half of plain's maximum)"
  for _ in $(seq "$OPEN_REPEAT"); do
    run_bench relay_plain_half omega "${relay_args[@]}" --rate "$PLAIN_HALF"
  done
fi

for _ in $(seq "$REPEAT"); do
  for t in $TARGETS; do run_bench handshake "$t" "${hs_args[@]}"; done
done

for _ in $(seq "$REPEAT"); do
  for t in $TARGETS; do run_bench idle "$t" "${idle_args[@]}"; done
done

# -- the table --------------------------------------------------------------------

ratio() {
  awk -v a="$1" -v b="$2" 'BEGIN {
    if (a == "na" || b == "na" || b + 0 == 0) print "na"
    else printf "%.2f", a / b }'
}

# The median of key $5 for label $1 / target $2 over the same for label $3 /
# target $4.
over() {
  ratio "$(median "$1" "$2" "$5")" "$(median "$3" "$4" "$5")"
}

fmt() {
  awk -v x="$1" -v d="$2" 'BEGIN {
    if (x == "na") print "na"; else printf "%.*f", d, x }'
}

col() {
  [[ " $TARGETS " == *" $1 "* ]] && echo 1 || echo 0
}

# The columns omega-tls and tls/omega come only with that target, so the
# default table stays as it was.
TLS_COL=$(col omega-tls)

row() {
  local title=$1 label=$2 key=$3 dec=$4 o p j t
  # Labels for the plain and peerjs columns (and omega-tls: as plain's), if
  # not the same as omega's.
  local plabel=${5:-$label} jlabel=${6:-$label}
  o=$(median "$label" omega "$key")
  p=$(median "$plabel" plain "$key")
  j=$(median "$jlabel" peerjs "$key")
  printf '%-44s %11s %11s %11s %11s %12s' "$title" "$(fmt "$o" "$dec")" \
    "$(fmt "$p" "$dec")" "$(fmt "$j" "$dec")" "$(ratio "$o" "$p")" \
    "$(ratio "$o" "$j")"
  if ((TLS_COL)); then
    t=$(median "$plabel" omega-tls "$key")
    printf ' %11s %11s' "$(fmt "$t" "$dec")" "$(ratio "$t" "$o")"
  fi
  printf '\n'
}

# Server CPU per message at label $2 over the same at saturation, for
# each target (and the ratio of those ratios).
cpu_row() {
  local title=$1 label=$2 t
  local -A r=()
  for t in omega plain peerjs; do
    r[$t]=$(over "$label" "$t" relay "$t" server_cpu_us_per_msg)
  done
  printf '%-44s %11s %11s %11s %11s %12s\n' "$title" "${r[omega]}" \
    "${r[plain]}" "${r[peerjs]}" "$(ratio "${r[omega]}" "${r[plain]}")" \
    "$(ratio "${r[omega]}" "${r[peerjs]}")"
}

echo
echo "omega benchmark, $(date -u +%Y-%m-%dT%H:%M:%SZ), $(nproc) cores:" \
  "$(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ *//')"
echo "server on core $SERVER_CPU (omega: --caf-threads 1 $OMEGA_FLAGS;" \
  "plain-relay --threads 1; PeerJS $PEERJS_VERSION on node" \
  "$(node --version 2>/dev/null || echo '?')), omega-bench on core $CLIENT_CPU"
echo "relay: $LOBBIES lobbies x $PEERS peers, $INFLIGHT in flight per pair," \
  "$PAYLOAD B payloads, ${DURATION}s windows after ${WARMUP}s warm-up;" \
  "handshake: $HS_CONCURRENCY at a time, at most $HS_COUNT;" \
  "idle: $IDLE_CONNS connections"
if ((TLS_COL)); then
  echo "omega-tls: omega over TLS (self-signed P-256 certificate, which" \
    "omega-bench --tls verifies; every connect a full handshake)"
fi
echo "medians of $REPEAT runs ($HALF_REPEAT at half load); ratios are" \
  "omega/other (for latency and memory, lower is better)"
echo
printf '%-44s %11s %11s %11s %11s %12s' "metric" "omega" "plain" "peerjs" \
  "omega/plain" "omega/peerjs"
((TLS_COL)) && printf ' %11s %11s' "omega-tls" "tls/omega"
printf '\n'
printf '%s\n' "$(printf '%.0s-' $(seq $((105 + 24 * TLS_COL))))"
row "relay msgs/s (max)" relay rate 0
row "relay msgs per server CPU-second" relay msgs_per_server_cpu_s 0
row "relay p50 us (max load)" relay p50_us 1
row "relay p99 us (max load)" relay p99_us 1
row "relay p99.9 us (max load)" relay p999_us 1
row "relay server CPU % (max load)" relay server_cpu_pct 0
row "relay client CPU % (max load)" relay client_cpu_pct 0
if [[ -n $HALF_RATE && $HALF_RATE != 0 ]]; then
  row "open @ $HALF_RATE msg/s: achieved msgs/s" relay_half rate 0
  row "open @ $HALF_RATE msg/s: p50 us" relay_half p50_us 1
  row "open @ $HALF_RATE msg/s: p99 us" relay_half p99_us 1
  row "open @ $HALF_RATE msg/s: p99.9 us" relay_half p999_us 1
  row "open @ $HALF_RATE msg/s: late sends" relay_half late 0
  row "open @ $HALF_RATE msg/s: server CPU %" relay_half server_cpu_pct 0
  row "open @ $HALF_RATE msg/s: server CPU us/msg" relay_half \
    server_cpu_us_per_msg 2
fi
for level in $OPEN_LEVELS; do
  l=open_$level
  row "open @ $level% of own max: msgs/s" "$l" rate 0
  row "open @ $level% of own max: p99 us" "$l" p99_us 1
  row "open @ $level% of own max: late sends" "$l" late 0
  row "open @ $level% of own max: server CPU %" "$l" server_cpu_pct 0
  row "open @ $level% of own max: CPU us/msg" "$l" server_cpu_us_per_msg 2
  cpu_row "open @ $level%: CPU/msg / saturated's" "$l"
done
if [[ -n $PLAIN_HALF && $PLAIN_HALF != 0 ]]; then
  row "omega @ $PLAIN_HALF msg/s (plain's half): p99 us" relay_plain_half \
    p99_us 1
  row "omega @ $PLAIN_HALF msg/s (plain's half): late" relay_plain_half late 0
fi
row "handshakes/s" handshake hs_rate 0
row "handshakes per server CPU-second" handshake hs_per_server_cpu_s 0
row "handshake p50 us" handshake hs_p50_us 0
row "handshake p99 us" handshake hs_p99_us 0
row "connect+INIT/s (in handshakes)" handshake init_rate 0
row "connect+INIT p50 us (in handshakes)" handshake init_p50_us 0
row "connect+INIT per server CPU-second (idle)" idle init_per_server_cpu_s 0
row "idle KiB per connection" idle kb_per_conn 2
row "errors per run (relay, max load)" relay errors 0
echo

# The targets of docs/benchmarks.md ("Targets"), as ratios within this run.
# check TITLE VALUE OP LIMIT prints one line: the value, the limit, ok/MISSED.
check() {
  local verdict
  verdict=$(awk -v v="$2" -v op="$3" -v l="$4" 'BEGIN {
    if (v == "na") { print "na"; exit }
    ok = (op == "<=") ? (v + 0 <= l + 0) : (v + 0 >= l + 0)
    print ok ? "ok" : "MISSED" }')
  printf '%-58s %10s %s %-8s %s\n' "$1" "$2" "$3" "$4" "$verdict"
}
if has_target omega; then
  echo "targets (omega, this run):"
  half=$([[ -n $HALF_RATE && $HALF_RATE != 0 ]] && echo 1 || echo 0)
  if has_target plain && ((half)); then
    check "p99 at $HALF_RATE msg/s, over plain's at that rate" \
      "$(over relay_half omega relay_half plain p99_us)" "<=" 1.5
    check "late sends at $HALF_RATE msg/s (median of runs)" \
      "$(median relay_half omega late)" "<=" 0
  fi
  if ((half)); then
    check "CPU per msg at $HALF_RATE msg/s, over saturated" \
      "$(over relay_half omega relay omega server_cpu_us_per_msg)" "<=" 1.25
  fi
  if has_target plain; then
    check "relayed msgs per server CPU-s, over plain's" \
      "$(over relay omega relay plain msgs_per_server_cpu_s)" ">=" 0.85
    check "idle KiB per connection, over plain's" \
      "$(over idle omega idle plain kb_per_conn)" "<=" 1.15
  fi
  if has_target peerjs; then
    check "relayed msgs per server CPU-s, over PeerJS's" \
      "$(over relay omega relay peerjs msgs_per_server_cpu_s)" ">=" 1.8
  fi
  check "connect+INIT per server CPU-s" \
    "$(median idle omega init_per_server_cpu_s)" ">=" 15000
  echo
fi
if ((NOISY > 0)); then
  echo "warning: $NOISY run(s) overlapped with compilers or ran below full" \
    "server load; their numbers are noisy"
fi
if ((FAILED > 0)); then
  echo "$FAILED run(s) failed; see the messages above (KEEP=1 keeps logs)"
  exit 1
fi
