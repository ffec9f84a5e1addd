#!/bin/bash
# promtool test rules on tests/charts/alerts_test.yaml (which loads
# charts/sotto/files/alerts.yaml, the rules the chart's PrometheusRule holds).
set -euo pipefail
cd "$TEST_SRCDIR/$TEST_WORKSPACE/tests/charts"
promtool test rules alerts_test.yaml
