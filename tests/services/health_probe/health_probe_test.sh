#!/bin/bash
# sotto-health-probe against a real sotto-policy: SERVING → exit 0; draining
# (NOT_SERVING) → exit 1; nothing listening → exit 1; under mutual TLS it
# passes only with the client certificate and the right server name.
# Usage: health_probe_test.sh PROBE POLICY POLICY_DOC CERT_DIR
set -euo pipefail
probe=$1 policy=$2 doc=$3 certs=$(dirname "$4")
work=$(mktemp -d "${TEST_TMPDIR:-/tmp}/probe.XXXXXX")
# Under --config=tsan: the suppressions for uninstrumented Debian libraries,
# as tests/e2e/service_harness.py gives its processes.
if [ -n "${TSAN_OPTIONS:-}" ]; then
  export TSAN_OPTIONS="$TSAN_OPTIONS:suppressions=$TEST_SRCDIR/$TEST_WORKSPACE/tests/sanitizers/tsan.supp:ignore_noninstrumented_modules=1"
fi
pids=()
cleanup() { for p in "${pids[@]}"; do kill -KILL "$p" 2>/dev/null || true; done; }
trap cleanup EXIT
fail() { echo "FAIL: $*" >&2; exit 1; }

# start NAME ARGS...: starts sotto-policy, waits for its ready file, sets PORT.
start() {
  local name=$1; shift
  rm -f "$work/$name.ready"
  "$policy" --policy_file="$doc" --grpc_address=127.0.0.1:0 \
    --metrics_address=127.0.0.1:0 --ready_file="$work/$name.ready" "$@" \
    > "$work/$name.log" 2>&1 &
  PID=$!; pids+=("$PID")
  for _ in $(seq 1 100); do
    [ -s "$work/$name.ready" ] && break
    kill -0 "$PID" 2>/dev/null || { cat "$work/$name.log" >&2; fail "$name did not start"; }
    sleep 0.1
  done
  PORT=$(sed -n 's/.*"grpc_port":\([0-9]*\).*/\1/p' "$work/$name.ready")
  [ -n "$PORT" ] || fail "$name wrote no grpc_port"
}

echo "ProbePassesWhileServing"
start plain --drain_grace=30s
"$probe" --address=127.0.0.1:$PORT || fail "probe failed on a serving server"

echo "ProbeFailsWhileDraining"
kill -TERM "$PID"
# The drain turns health NOT_SERVING at once and keeps serving RPCs for the
# grace period; poll until the probe sees it (bounded).
seen=0
for _ in $(seq 1 50); do
  if ! "$probe" --address=127.0.0.1:$PORT > "$work/out" 2>&1; then
    grep -q NOT_SERVING "$work/out" && { seen=1; break; }
  fi
  sleep 0.1
done
[ $seen = 1 ] || fail "probe never reported NOT_SERVING during the drain"
kill -KILL "$PID" 2>/dev/null || true

echo "ProbeFailsWhenNothingListens"
if "$probe" --address=127.0.0.1:$PORT --timeout=1s 2>/dev/null; then
  fail "probe passed with no server"
fi

echo "ProbePassesOverMutualTlsWithClientCertificate"
start mtls --tls_cert_file="$certs/server.pem" --tls_key_file="$certs/server.key" \
  --tls_client_ca_file="$certs/ca.pem"
tls=(--tls_ca_file="$certs/ca.pem" --tls_client_cert_file="$certs/client.pem"
     --tls_client_key_file="$certs/client.key")
"$probe" --address=127.0.0.1:$PORT "${tls[@]}" --tls_server_name=localhost ||
  fail "mTLS probe with the right certificate failed"

echo "ProbeFailsOverMutualTlsWithoutClientCertificate"
if "$probe" --address=127.0.0.1:$PORT --tls_ca_file="$certs/ca.pem" \
     --tls_server_name=localhost --timeout=1s 2>/dev/null; then
  fail "mTLS server accepted a probe without a client certificate"
fi

echo "ProbeFailsOverMutualTlsWithWrongServerName"
if "$probe" --address=127.0.0.1:$PORT "${tls[@]}" --tls_server_name=sotto-elsewhere \
     --timeout=1s 2>/dev/null; then
  fail "probe accepted a certificate for another name"
fi
echo "PASS"
