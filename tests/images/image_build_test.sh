#!/bin/bash
# Builds the sotto-policy image with tools/images/build.sh (buildah, no
# daemon, Debian bookworm-slim base from mmdebstrap) from the Bazel-built
# binaries, then runs the image's own entrypoint with --help inside it: the
# binary starts, every library resolves, and it runs as the non-root user.
# Usage: image_build_test.sh BUILD_SH POLICY_BIN PROBE_BIN
set -euo pipefail
build_sh=$1 policy=$2 probe=$3
fail() { echo "FAIL: $*" >&2; exit 1; }

# Preconditions: buildah and mmdebstrap (./dev setup installs them) need
# root here (buildah's storage under /var/lib/containers; mmdebstrap
# --mode=root). Without them the test says why and skips.
if [ "$(id -u)" -ne 0 ]; then
  echo "SKIPPED: image build needs root (buildah storage, mmdebstrap --mode=root); running as uid $(id -u)"
  exit 0
fi
for tool in buildah mmdebstrap; do
  command -v "$tool" > /dev/null ||
    { echo "SKIPPED: $tool is not installed (./dev setup installs it)"; exit 0; }
done

export BUILDAH_ISOLATION=chroot
storage="${SOTTO_IMAGE_STORAGE:-/var/lib/containers/storage}"
driver="${SOTTO_IMAGE_STORAGE_DRIVER:-overlay}"
bah() { buildah --root "$storage" --runroot "$storage.run" --storage-driver "$driver" "$@"; }
tag="test-$$"
image="localhost/sotto-policy:$tag"
ctr=""
cleanup() {
  [ -n "$ctr" ] && bah rm "$ctr" > /dev/null 2>&1 || true
  bah rmi "$image" "localhost/sotto-runtime:$tag" > /dev/null 2>&1 || true
}
trap cleanup EXIT

bins="$(mktemp -d "${TEST_TMPDIR:-/tmp}/bins.XXXXXX")"
cp "$policy" "$probe" "$bins/"

echo "ImageBuildsWithoutADaemon"
start=$(date +%s)
"$build_sh" --bin-dir "$bins" --tag "$tag" policy > "$bins/built" 2> "$bins/build.log" ||
  { tail -30 "$bins/build.log" >&2; fail "tools/images/build.sh failed"; }
grep -qx "$image" "$bins/built" || fail "build.sh did not report $image"
echo "built in $(( $(date +%s) - start )) s"

echo "ImageIsDebianBookwormSlimWithTini"
ctr="$(bah from --pull=never "$image")"
os="$(bah run "$ctr" -- cat /etc/os-release)"
grep -q 'VERSION_CODENAME=bookworm' <<< "$os" || fail "not bookworm: $os"
entrypoint="$(bah inspect --format '{{range .OCIv1.Config.Entrypoint}}{{.}} {{end}}' "$image")"
[ "${entrypoint% }" = "/usr/bin/tini -- /usr/local/bin/sotto-policy" ] ||
  fail "unexpected entrypoint: $entrypoint"

echo "ImageRunsAsNonRootUser"
user="$(bah inspect --format '{{.OCIv1.Config.User}}' "$image")"
[ "$user" = "10001:10001" ] || fail "image user is '$user'"
[ "$(bah run "$ctr" -- id -u)" = 10001 ] || fail "processes do not run as 10001"

echo "EntrypointAnswersHelpInsideTheImage"
# The image's own entrypoint (tini → sotto-policy) with --help.
# shellcheck disable=SC2086
set +e
help="$(bah run "$ctr" -- ${entrypoint} --help 2>&1)"
set -e
grep -q '^sotto-policy: ' <<< "$help" || fail "no usage line from sotto-policy: $help"
grep -q -- '--policy_file' <<< "$help" || fail "--help does not list --policy_file: $help"
grep -q 'error while loading shared libraries' <<< "$help" && fail "missing library: $help"

echo "HealthProbeRunsInsideTheImage"
set +e
probe_out="$(bah run "$ctr" -- /usr/local/bin/sotto-health-probe --address=127.0.0.1:1 --timeout=1s 2>&1)"
probe_rc=$?
set -e
[ $probe_rc = 1 ] || fail "probe against nothing exited $probe_rc: $probe_out"
grep -q 'health probe: 127.0.0.1:1' <<< "$probe_out" || fail "probe said: $probe_out"

echo "ImageHoldsNoBuildTools"
for tool in gcc g++ make bazel; do
  if bah run "$ctr" -- sh -c "command -v $tool" > /dev/null 2>&1; then
    fail "$tool is in the runtime image"
  fi
done
echo "PASS"
