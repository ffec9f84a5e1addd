#!/usr/bin/env bash
# Side-by-side peer: the same load against Janus AudioBridge (Debian `janus`,
# plain RTP, PCMU), driven by media_load --janus. Janus runs from a temp dir
# config, pinned to CPU 0; the generator pins itself to CPU 1.
#   tests/bench/janus_load.sh ROOMS SECONDS [extra media_load flags]
# Needs: apt-get install -y janus; bazel build -c opt //tests/bench:media_load
# (MEDIA_LOAD_BIN=path overrides where media_load is found).
set -euo pipefail
ROOMS=${1:-50}
SECONDS_=${2:-20}
shift 2 || true
BAZEL=(bazel)
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
BIN=${MEDIA_LOAD_BIN:-$(cd "$ROOT" && "${BAZEL[@]}" info -c opt bazel-bin 2>/dev/null)/tests/bench/media_load}
DIR=$(mktemp -d /tmp/janus_bench.XXXXXX)
PLUGINS=/usr/lib/x86_64-linux-gnu/janus/plugins
TRANSPORTS=/usr/lib/x86_64-linux-gnu/janus/transports
disable_list() {  # every .so in $1 but $2
  ls "$1" | grep '\.so$' | grep -v "^$2\$" | paste -sd, -
}
cat > "$DIR/janus.jcfg" <<JCFG
general: {
  configs_folder = "$DIR"
  plugins_folder = "$PLUGINS"
  transports_folder = "$TRANSPORTS"
  events_folder = "/nonexistent"
  loggers_folder = "/nonexistent"
  debug_level = 2
  session_timeout = 0
}
nat: {
  ice_enforce_list = "lo"
}
plugins: {
  disable = "$(disable_list $PLUGINS libjanus_audiobridge.so)"
}
transports: {
  disable = "$(disable_list $TRANSPORTS libjanus_http.so)"
}
events: {
  broadcast = false
}
JCFG
cat > "$DIR/janus.transport.http.jcfg" <<JCFG
general: {
  json = "compact"
  base_path = "/janus"
  http = true
  port = 8088
  ip = "127.0.0.1"
  https = false
}
admin: {
  admin_http = false
}
JCFG
cat > "$DIR/janus.plugin.audiobridge.jcfg" <<JCFG
general: {
  rtp_port_range = "50000-59999"
  local_ip = "127.0.0.1"
}
JCFG
taskset -c 0 janus -C "$DIR/janus.jcfg" -F "$DIR" -i 127.0.0.1 -s 0 -o \
  > "$DIR/janus.log" 2>&1 &
JANUS=$!
trap 'kill $JANUS 2>/dev/null; wait $JANUS 2>/dev/null; rm -rf "$DIR"' EXIT
for _ in $(seq 100); do
  curl -s -o /dev/null http://127.0.0.1:8088/janus/info && break
  sleep 0.1
done
"$BIN" --janus=http://127.0.0.1:8088 --engine_pid=$JANUS --rooms="$ROOMS" \
  --seconds="$SECONDS_" --generator_cpu=1 "$@"
