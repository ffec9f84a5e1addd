# Sourced by the chart tests: finds helm and the schema packages fetched by
# tools/k8s/fetch_tools.sh (./dev setup runs it) and copies the chart out of
# the runfiles (symlinks) into a plain folder helm can package.
# Sets: HELM, K8S_MODULES, CHART (the copy), WORK.
# Bazel runs tests without HOME: fall back to the user's home from passwd.
home="${HOME:-$(getent passwd "$(id -u)" | cut -d: -f6)}"
tools_dir="${SOTTO_TOOLS_DIR:-$home/.cache/sotto-tools}"
HELM="$tools_dir/helm-v3.17/helm"
K8S_MODULES="$tools_dir/k8s-validate/node_modules"
if [ ! -x "$HELM" ] || [ ! -d "$K8S_MODULES/kubernetes-models" ]; then
  echo "FAIL: helm or the Kubernetes schemas are missing in $tools_dir;" \
       "run tools/k8s/fetch_tools.sh (./dev setup does)." >&2
  exit 1
fi
WORK="$(mktemp -d "${TEST_TMPDIR:-/tmp}/chart.XXXXXX")"
CHART="$WORK/sotto"
mkdir -p "$CHART"
cp -rL "$TEST_SRCDIR/$TEST_WORKSPACE/charts/sotto/." "$CHART/"
rm -f "$CHART/BUILD"
chmod -R u+w "$CHART"
export HELM_CACHE_HOME="$WORK/helm-cache" HELM_CONFIG_HOME="$WORK/helm-config" \
  HELM_DATA_HOME="$WORK/helm-data"
fail() { echo "FAIL: $*" >&2; exit 1; }
