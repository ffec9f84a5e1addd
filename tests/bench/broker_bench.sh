#!/usr/bin/env bash
# Supervise + SetMode + Release round trips per second, and their p50/p99,
# for one broker with the policy service and a media engine, on SQLite and
# on PostgreSQL. Prints the numbers docs/performance.md keeps.
#
#   tests/bench/broker_bench.sh [seconds] [concurrency]
#
# Builds with -c opt, runs everything on loopback under a temp directory,
# starts a throwaway PostgreSQL with tools/pg_test_server.sh.
set -euo pipefail
cd "$(dirname "$0")/../.."
SECONDS_PER_RUN="${1:-10}"
CONCURRENCY="${2:-4}"

bazel build -c opt --symlink_prefix=bazel-opt- //services/broker:sotto-broker \
  //services/policy:sotto-policy //media_engine:sotto-media \
  //tests/bench:broker_load >&2
BIN=bazel-opt-bin
work="$(mktemp -d)"
pids=()
cleanup() {
  for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
  wait 2>/dev/null || true
  tools/pg_test_server.sh stop >/dev/null 2>&1 || true
  rm -rf "$work"
}
trap cleanup EXIT

secret="bench-secret-$(head -c 24 /dev/urandom | od -An -tx1 | tr -d ' \n')"
printf '%s\n' "$secret" >"$work/jwt-hs256.key"
cp services/policy/testdata/example-policy.yaml "$work/policy.yaml"

token() {  # subject role team
  python3 - "$secret" "$1" "$2" "$3" <<'PY'
import base64, hashlib, hmac, json, sys, time
secret, sub, role, team = sys.argv[1:5]
def b64(b): return base64.urlsafe_b64encode(b).rstrip(b"=").decode()
now = int(time.time())
claims = {"iss": "sotto-local", "aud": "sotto", "sub": sub, "tenant": "acme",
          "roles": [role], "teams": [team] if team else [], "iat": now,
          "exp": now + 3600}
head = b64(json.dumps({"alg": "HS256", "typ": "JWT"}).encode())
body = b64(json.dumps(claims).encode())
sig = hmac.new(secret.encode(), f"{head}.{body}".encode(), hashlib.sha256)
print(f"{head}.{body}.{b64(sig.digest())}")
PY
}

start() {  # name binary args...; its gRPC port in $work/name.port
  local name="$1" binary="$2"
  shift 2
  rm -f "$work/$name.json"
  "$binary" --grpc_address=127.0.0.1:0 --metrics_address=127.0.0.1:0 \
    --ready_file="$work/$name.json" "$@" >"$work/$name.log" 2>&1 &
  pids+=("$!")
  for _ in $(seq 200); do
    [[ -s "$work/$name.json" ]] && break
    sleep 0.05
  done
  [[ -s "$work/$name.json" ]] || { cat "$work/$name.log" >&2; exit 1; }
  python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["grpc_port"])' \
    "$work/$name.json" >"$work/$name.port"
}

integrator="$(token pbx-1 integrator "")"
lead="$(token lead-1 team_lead team-a)"
start policy "$BIN/services/policy/sotto-policy" \
  --policy_file="$work/policy.yaml"
policy_port="$(cat "$work/policy.port")"

run() {  # label store
  local label="$1" store="$2"
  start broker "$BIN/services/broker/sotto-broker" \
    --policy_address=127.0.0.1:"$policy_port" --store="$store"
  local broker_port
  broker_port="$(cat "$work/broker.port")"
  start media "$BIN/media_engine/sotto-media" \
    --broker_address=127.0.0.1:"$broker_port" --engine_id=bench-media \
    --media_bind_ip=127.0.0.1 --media_ip=127.0.0.1 --workers=1
  # broker_load waits for the engine to register before it starts timing.
  "$BIN/tests/bench/broker_load" --broker=127.0.0.1:"$broker_port" \
    --integrator_token="$integrator" --supervisor_token="$lead" \
    --concurrency="$CONCURRENCY" --seconds="$SECONDS_PER_RUN" --label="$label"
  local pid
  for pid in "${pids[-1]}" "${pids[-2]}"; do
    kill -9 "$pid" 2>/dev/null || true
    wait "$pid" 2>/dev/null || true
  done
  unset 'pids[-1]'
  unset 'pids[-1]'
}

run sqlite "sqlite:$work/broker.db"
eval "$(tools/pg_test_server.sh start)"
run postgresql "$SOTTO_TEST_PG_DSN"
