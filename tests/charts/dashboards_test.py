"""Static checks of the Grafana dashboards in charts/sotto/dashboards: each
is valid JSON in Grafana's schema (version 39), reads Prometheus through a
`${datasource}` variable, is templated by tenant, team and queue, and every
panel has at least one target whose PromQL parses (promtool, with Grafana's
variables replaced). Metric label sets must stay bounded: no expression
filters or groups by a call, supervision or agent id.

Arguments: the dashboard files.
"""

import os
import re
import subprocess
import sys
import tempfile
import unittest

import dashboard_exprs

PATHS = []  # Set from argv in __main__.
VALUES = {"tenant": "acme", "team": ".*", "queue": ".*", "job": ".*",
          "datasource": "prometheus"}
UNBOUNDED_LABELS = ("call", "call_id", "agent", "agent_id", "supervision",
                    "supervisor", "leg")


class DashboardsTest(unittest.TestCase):

    def setUp(self):
        self.paths = sorted(PATHS)

    def test_the_four_dashboards_are_there(self):
        names = sorted(os.path.basename(p) for p in self.paths)
        self.assertEqual(names, ["coaching-activity.json",
                                 "coaching-effectiveness.json",
                                 "live-supervision.json",
                                 "platform-media-health.json"])

    def test_each_is_a_templated_grafana_dashboard(self):
        uids = set()
        for path in self.paths:
            with self.subTest(dashboard=os.path.basename(path)):
                dashboard = dashboard_exprs.load(path)
                self.assertGreaterEqual(dashboard["schemaVersion"], 36)
                self.assertTrue(dashboard["title"].startswith("Sotto / "))
                self.assertNotIn(dashboard["uid"], uids)
                uids.add(dashboard["uid"])
                variables = {v["name"]: v
                             for v in dashboard["templating"]["list"]}
                for name in dashboard_exprs.REQUIRED_VARIABLES:
                    self.assertIn(name, variables)
                self.assertEqual(variables["datasource"]["type"], "datasource")
                self.assertEqual(variables["datasource"]["query"],
                                 "prometheus")
                for name in ("tenant", "team", "queue"):
                    self.assertIn("label_values(",
                                  variables[name]["definition"])

    def test_every_panel_has_a_target_on_the_datasource_variable(self):
        for path in self.paths:
            dashboard = dashboard_exprs.load(path)
            ids = set()
            for panel in dashboard_exprs.panels(dashboard):
                with self.subTest(dashboard=os.path.basename(path),
                                  panel=panel["title"]):
                    self.assertNotIn(panel["id"], ids)
                    ids.add(panel["id"])
                    self.assertEqual(panel["datasource"]["uid"],
                                     "${datasource}")
                    self.assertGreaterEqual(len(panel["targets"]), 1)
                    for target in panel["targets"]:
                        self.assertTrue(target["expr"].strip())
                        self.assertEqual(target["datasource"]["uid"],
                                         "${datasource}")
                    grid = panel["gridPos"]
                    self.assertLessEqual(grid["x"] + grid["w"], 24)

    def test_no_expression_uses_an_unbounded_label(self):
        for path in self.paths:
            for title, _, expr in dashboard_exprs.targets(
                    dashboard_exprs.load(path)):
                for label in UNBOUNDED_LABELS:
                    self.assertIsNone(
                        re.search(r"[{,(]\s*%s\s*[=!~,)}]" % label, expr),
                        "%s: %s uses label %s" % (title, expr, label))

    def test_every_expression_parses(self):
        # promtool parses PromQL in recording rules; one rule per target.
        lines = ["groups:", "  - name: dashboards", "    rules:"]
        count = 0
        for path in self.paths:
            for title, ref, expr in dashboard_exprs.targets(
                    dashboard_exprs.load(path)):
                query = dashboard_exprs.substitute(expr, VALUES)
                lines.append("      - record: dashboard:expr_%d" % count)
                lines.append("        expr: '%s'" % query.replace("'", "''"))
                count += 1
        self.assertGreater(count, 40)
        with tempfile.NamedTemporaryFile("w", suffix=".yml",
                                         delete=False) as f:
            f.write("\n".join(lines) + "\n")
        result = subprocess.run(["promtool", "check", "rules", f.name],
                                capture_output=True, text=True)
        self.assertEqual(result.returncode, 0, result.stdout + result.stderr)
        self.assertIn("%d rules found" % count, result.stdout)


if __name__ == "__main__":
    PATHS = [a for a in sys.argv[1:] if a.endswith(".json")]
    del sys.argv[1:len(PATHS) + 1]
    unittest.main()
