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

echo "PolicyImageServesMutualTlsHealthAsTheChartRunsIt"
# The exact arguments the chart gives sotto-policy (production values), in
# the image, as user 10001, with the chart's mounts: TLS material as
# cert-manager writes it, the policy document, the JWT key; the image's
# sotto-health-probe must then see SERVING over mutual TLS, as the
# readiness probe does. Only the listen port differs (a free one, so the
# test can share the machine).
helm="${SOTTO_TOOLS_DIR:-$(getent passwd "$(id -u)" | cut -d: -f6)/.cache/sotto-tools}/helm-v3.17/helm"
[ -x "$helm" ] || fail "helm missing at $helm: run tools/k8s/fetch_tools.sh"
chart="$bins/chart"
cp -rL "$(dirname "$build_sh")/../../charts/sotto" "$chart"
rm -f "$chart/BUILD"
"$helm" template sotto "$chart" -f "$chart/ci/production-values.yaml" > "$bins/rendered.yaml"
mapfile -t args < <(/usr/bin/python3 - "$bins/rendered.yaml" <<'PY'
import sys, yaml
for o in yaml.safe_load_all(open(sys.argv[1])):
    if o and o["kind"] == "Deployment" and o["metadata"]["name"] == "sotto-policy":
        c = o["spec"]["template"]["spec"]["containers"][0]
        print("\n".join(c["args"]))
        print("PROBE:" + " ".join(c["readinessProbe"]["exec"]["command"]))
        print("POLICY:" + next(d["data"]["policy.yaml"] for d in yaml.safe_load_all(open(sys.argv[1]))
                               if d and d["kind"] == "ConfigMap" and d["metadata"]["name"] == "sotto-policy").replace("\n", "\\n"))
PY
)
probe_cmd="" policy_doc=""
server_args=()
for a in "${args[@]}"; do
  case "$a" in
    PROBE:*) probe_cmd="${a#PROBE:}" ;;
    POLICY:*) policy_doc="${a#POLICY:}" ;;
    --grpc_address=*) server_args+=(--grpc_address=127.0.0.1:0) ;;
    --metrics_address=*) server_args+=(--metrics_address=127.0.0.1:0) ;;
    *) server_args+=("$a") ;;
  esac
done
[ -n "$probe_cmd" ] && [ -n "$policy_doc" ] || fail "could not read the chart's policy Deployment"
mnt="$bins/mnt"
mkdir -p "$mnt/tls" "$mnt/jwt" "$mnt/policy" "$mnt/tmp"
(
  cd "$mnt/tls"
  openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout ca.key \
    -subj /CN=sotto-ca -days 1 -addext basicConstraints=critical,CA:TRUE -out ca.crt 2>/dev/null
  openssl req -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout tls.key \
    -subj /CN=sotto-policy -out tls.csr 2>/dev/null
  printf 'subjectAltName=DNS:sotto-policy,DNS:sotto-policy.sotto.svc\nextendedKeyUsage=serverAuth,clientAuth\n' > ext
  openssl x509 -req -in tls.csr -CA ca.crt -CAkey ca.key -CAcreateserial -days 1 \
    -extfile ext -out tls.crt 2>/dev/null
  rm -f ca.key tls.csr ext ca.srl
)
openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:2048 2>/dev/null |
  openssl pkey -pubout -out "$mnt/jwt/idp-rs256.pub"
printf '%b' "$policy_doc" > "$mnt/policy/policy.yaml"
# As the kubelet mounts Secrets with defaultMode 0440 and fsGroup 10001.
chgrp -R 10001 "$mnt/tls" "$mnt/jwt"
chmod 0440 "$mnt"/tls/* "$mnt"/jwt/*
chmod 0750 "$mnt/tls" "$mnt/jwt"
chmod 1777 "$mnt/tmp"
server_args+=(--ready_file=/tmp/ready.json)
bah run -v "$mnt/tls:/etc/sotto/tls:ro" -v "$mnt/jwt:/etc/sotto/jwt:ro" \
  -v "$mnt/policy:/etc/sotto/policy:ro" -v "$mnt/tmp:/tmp" "$ctr" -- \
  ${entrypoint} "${server_args[@]}" > "$bins/policy.log" 2>&1 &
runner=$!
for _ in $(seq 1 100); do
  [ -s "$mnt/tmp/ready.json" ] && break
  kill -0 "$runner" 2>/dev/null || { cat "$bins/policy.log" >&2; fail "sotto-policy did not start in the image"; }
  sleep 0.1
done
[ -s "$mnt/tmp/ready.json" ] || { cat "$bins/policy.log" >&2; fail "sotto-policy never became ready"; }
port=$(sed -n 's/.*"grpc_port":\([0-9]*\).*/\1/p' "$mnt/tmp/ready.json")
pid=$(sed -n 's/.*"pid":\([0-9]*\).*/\1/p' "$mnt/tmp/ready.json")
# The chart's probe command, pointed at the test's port, run in the image.
read -r -a probe <<< "${probe_cmd//127.0.0.1:7101/127.0.0.1:$port}"
set +e
probe_out="$(bah run -v "$mnt/tls:/etc/sotto/tls:ro" "$ctr" -- "${probe[@]}" 2>&1)"
probe_rc=$?
set -e
kill -TERM "$pid" 2>/dev/null || true
wait "$runner" || true
[ $probe_rc = 0 ] || { cat "$bins/policy.log" >&2; fail "the chart's readiness probe failed in the image: $probe_out"; }
grep -q SERVING <<< "$probe_out" || fail "probe said: $probe_out"
grep -q '"policy loaded"\|policy loaded' "$bins/policy.log" || fail "no 'policy loaded' in the log: $(cat "$bins/policy.log")"

echo "ImageHoldsNoBuildTools"
for tool in gcc g++ make bazel; do
  if bah run "$ctr" -- sh -c "command -v $tool" > /dev/null 2>&1; then
    fail "$tool is in the runtime image"
  fi
done
echo "PASS"
