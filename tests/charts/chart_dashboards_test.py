"""The Grafana dashboards reach Grafana unchanged: every
charts/sotto/dashboards/*.json is rendered into a ConfigMap labelled for the
Grafana sidecar whose data is the file, byte for byte, and nothing else.
Fails when the folder has no dashboards."""
import glob
import os
import shutil
import unittest

import chart_helm


def mismatches(chart, objects):
    """Differences between dashboards/*.json and the rendered ConfigMaps."""
    files = {os.path.basename(p): open(p, "rb").read() for p in glob.glob(os.path.join(chart, "dashboards", "*.json"))}
    shipped = {}
    problems = []
    for o in objects:
        if o["kind"] != "ConfigMap" or "-dashboard-" not in o["metadata"]["name"]:
            continue
        if o["metadata"]["labels"].get("grafana_dashboard") != "1":
            problems.append(f"{o['metadata']['name']}: not labelled grafana_dashboard=1")
        for key, value in o.get("data", {}).items():
            if key in shipped:
                problems.append(f"{key}: shipped twice")
            shipped[key] = value.encode("utf-8")
    for name in sorted(set(files) | set(shipped)):
        if name not in shipped:
            problems.append(f"{name}: in dashboards/ but in no ConfigMap")
        elif name not in files:
            problems.append(f"{name}: in a ConfigMap but not in dashboards/")
        elif files[name] != shipped[name]:
            problems.append(f"{name}: ConfigMap data differs from the file")
    return files, problems


class ChartDashboardsTest(unittest.TestCase):
    def test_ChartShipsEveryDashboardByteForByte(self):
        chart = chart_helm.chart_copy()
        files, problems = mismatches(chart, chart_helm.render(chart))
        self.assertTrue(files, "charts/sotto/dashboards/ has no *.json dashboards")
        self.assertEqual(problems, [])

    def test_ComparisonSeesExactBytesAndCatchesDifferences(self):
        # A throwaway chart copy with awkward dashboards (no final newline,
        # trailing spaces, tabs, non-ASCII, HTML characters) proves the
        # rendering is exact and the comparison would notice a change.
        chart = chart_helm.chart_copy()
        folder = os.path.join(chart, "dashboards")
        shutil.rmtree(folder, ignore_errors=True)
        os.makedirs(folder)
        samples = {
            "calls_overview.json": b'{\n  "title": "Calls <&> \xc3\xa9t\xc3\xa9",\n\t"panels": []  \n}',
            "media-quality.json": b'{"title": "Media"}\n\n',
        }
        for name, data in samples.items():
            with open(os.path.join(folder, name), "wb") as f:
                f.write(data)
        objects = chart_helm.render(chart)
        files, problems = mismatches(chart, objects)
        self.assertEqual(set(files), set(samples))
        self.assertEqual(problems, [])
        with open(os.path.join(folder, "media-quality.json"), "ab") as f:
            f.write(b" ")
        _, problems = mismatches(chart, objects)
        self.assertEqual(problems, ["media-quality.json: ConfigMap data differs from the file"])
        os.remove(os.path.join(folder, "calls_overview.json"))
        _, problems = mismatches(chart, objects)
        self.assertIn("calls_overview.json: in a ConfigMap but not in dashboards/", problems)
        # Switched off, no dashboard ConfigMaps at all.
        off = chart_helm.render(chart, "--set", "dashboards.enabled=false")
        self.assertFalse([o for o in off if "-dashboard-" in o["metadata"]["name"]])


if __name__ == "__main__":
    unittest.main()
