#!/usr/bin/env bash
# Runs tools/fuzz.sh for 3 s per target: proves the libFuzzer build still
# works and finds nothing quick. clang-14 is a required package, so its
# absence is a failure, not a skip.
set -euo pipefail
if ! command -v clang++-14 >/dev/null; then
  echo "clang++-14 is required: apt-get install clang-14 libclang-rt-14-dev" >&2
  exit 1
fi
export FUZZ_OUT_DIR="${TEST_TMPDIR:-$(mktemp -d)}/fuzz"
exec tools/fuzz.sh 3
