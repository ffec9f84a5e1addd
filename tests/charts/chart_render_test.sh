#!/bin/bash
# helm template with the default values and with ci/production-values.yaml;
# every rendered object is validated against the Kubernetes API schemas
# (and the cert-manager and Prometheus Operator CRD schemas), unknown fields
# included. The validator is first shown to reject a broken object.
# Usage: chart_render_test.sh VALIDATOR
set -euo pipefail
validator=$1
source "$TEST_SRCDIR/$TEST_WORKSPACE/tests/charts/chart_env.sh"
validate() { node "$validator" "$K8S_MODULES" "$@"; }

echo "ValidatorRejectsBrokenObjects"
cat > "$WORK/broken.yaml" <<'YAML'
apiVersion: apps/v1
kind: Deployment
metadata: {name: x}
spec:
  selector: {matchLabels: {a: b}}
  template:
    metadata: {labels: {a: b}}
    spec:
      containers:
        - name: c
          image: i
          readinessProbe: {grpc: {port: "7100"}}
          securityContext: {readOnlyRootFilesytem: true}
---
apiVersion: monitoring.coreos.com/v1
kind: ServiceMonitor
metadata: {name: x}
spec: {selector: {}, endpoints: [{port: metrics, intervall: 30s}]}
YAML
if validate "$WORK/broken.yaml" > "$WORK/out" 2>&1; then
  fail "the validator accepted broken objects"
fi
for e in "grpc/port must be integer" "readOnlyRootFilesytem: unknown field" "intervall: unknown field"; do
  grep -q "$e" "$WORK/out" || fail "validator missed '$e': $(cat "$WORK/out")"
done

echo "DefaultValuesRenderValidObjects"
"$HELM" template sotto "$CHART" --namespace sotto > "$WORK/default.yaml"
validate "$WORK/default.yaml"

echo "ProductionValuesRenderValidObjects"
"$HELM" template sotto "$CHART" --namespace sotto \
  -f "$CHART/ci/production-values.yaml" > "$WORK/production.yaml"
validate "$WORK/production.yaml"
for kind in ServiceMonitor PrometheusRule HorizontalPodAutoscaler Certificate; do
  grep -q "^kind: $kind$" "$WORK/production.yaml" || fail "production render has no $kind"
done

echo "PlaintextValuesRenderValidObjects"
"$HELM" template sotto "$CHART" --namespace sotto --set tls.enabled=false \
  --set media.hostNetwork=false --set media.advertise.source=podIP \
  --set networkPolicy.enabled=false > "$WORK/plain.yaml"
validate "$WORK/plain.yaml"
echo "PASS"
