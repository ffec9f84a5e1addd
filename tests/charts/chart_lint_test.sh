#!/bin/bash
# helm lint --strict passes with the default values and with the
# production-like ci/production-values.yaml; values.schema.json rejects
# unknown keys and out-of-range values; the alert rules load in promtool.
set -euo pipefail
source "$TEST_SRCDIR/$TEST_WORKSPACE/tests/charts/chart_env.sh"

echo "ChartLintsStrictWithDefaultValues"
"$HELM" lint --strict "$CHART"
echo "ChartLintsStrictWithProductionValues"
"$HELM" lint --strict "$CHART" -f "$CHART/ci/production-values.yaml"

# refuses WHAT EXPECTED_IN_ERROR --set ...: the chart must not render, and
# its error must name what to fix.
refuses() {
  local what=$1 expected=$2; shift 2
  if "$HELM" template t "$CHART" "$@" > "$WORK/out" 2>&1; then
    fail "rendered although $what"
  fi
  grep -q -- "$expected" "$WORK/out" || fail "$what: the error does not say '$expected': $(cat "$WORK/out")"
}

echo "SchemaRejectsMisspeltValue"
refuses "a value key is misspelt" replicaz --set broker.replicaz=3
echo "SchemaRejectsPrivilegedMediaPorts"
refuses "the media range starts below 1024" media.portMin --set media.portMin=80
echo "ChartRefusesDrainLongerThanGracePeriod"
refuses "the drain outlasts the grace period" terminationGracePeriodSeconds --set media.drainDeadline=2h
echo "ChartRefusesSeveralBrokersOnSqlite"
refuses "three brokers would each have their own SQLite" database.existingSecret --set broker.replicas=3
echo "ChartRefusesSeveralRecordersOnReadWriteOnce"
refuses "two recorders would share a ReadWriteOnce volume" ReadWriteMany \
  --set recorder.replicas=2 --set database.existingSecret=db

echo "ChartRefusesRestrictedBrokerWithoutNodeRangesForHostNetworkEngines"
refuses "hostNetwork engines could not reach a restricted broker" nodeCidrs \
  -f "$CHART/ci/production-values.yaml" --set-json 'networkPolicy.nodeCidrs=[]'

echo "AlertRulesLoadInPromtool"
promtool check rules "$CHART/files/alerts.yaml"
echo "PASS"
