#!/usr/bin/env bash
# Builds each libFuzzer target with clang++-14 (ASan + UBSan) straight from
# the sources and runs it for N seconds each (default 10): ./dev fuzz [N].
#
# Bazel's toolchain is gcc, which has no libFuzzer, hence this script. The
# parsers depend on Abseil only, so a direct compile is enough.
# New interesting inputs go to $FUZZ_OUT_DIR/corpus/<target>; the checked-in
# seeds in tests/fuzz/corpus/<target> are only read. Exits non-zero on the
# first crash, leaving the reproducer (crash-*) in $FUZZ_OUT_DIR.
set -euo pipefail

seconds="${1:-10}"
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
out="${FUZZ_OUT_DIR:-${TMPDIR:-/tmp}/sotto-fuzz}"
cxx="${FUZZ_CXX:-clang++-14}"

if ! command -v "$cxx" >/dev/null; then
  echo "fuzz.sh: $cxx not found; install clang-14 and libclang-rt-14-dev" >&2
  exit 1
fi

mkdir -p "$out/obj"
absl="$(pkg-config --cflags --libs absl_span absl_strings absl_status absl_statusor)"
flags=(-std=c++17 -g -O1 -fno-omit-frame-pointer -I"$root"
       -fsanitize=address,undefined -fno-sanitize-recover=undefined)

# The parsers are compiled once and linked into every target: the wire
# parsers (rtp/) and the SDES key text parser (srtp/srtp_key.cc, which
# needs Abseil's status and strings only, not libsrtp).
objects=()
for src in "$root"/media_engine/rtp/*.cc "$root"/media_engine/srtp/srtp_key.cc; do
  obj="$out/obj/$(basename "${src%.cc}").o"
  "$cxx" "${flags[@]}" -fsanitize=fuzzer-no-link -c "$src" -o "$obj"
  objects+=("$obj")
done

for target in rtp_parser rtcp_parser telephone_event sdes_crypto; do
  binary="$out/${target}_fuzzer"
  # shellcheck disable=SC2086  # pkg-config output is a list of flags
  "$cxx" "${flags[@]}" -fsanitize=fuzzer \
    "$root/tests/fuzz/${target}_fuzzer.cc" "${objects[@]}" -o "$binary" $absl
  mkdir -p "$out/corpus/$target"
  echo "fuzz.sh: running ${target}_fuzzer for ${seconds}s"
  (cd "$out" && "$binary" -max_total_time="$seconds" -print_final_stats=1 \
    "$out/corpus/$target" "$root/tests/fuzz/corpus/$target")
done
echo "fuzz.sh: all targets ran ${seconds}s without a crash"
