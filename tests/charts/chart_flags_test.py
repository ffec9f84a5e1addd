"""Every flag the chart passes to a Sotto binary is a flag that binary
really has (asked of the binary itself with --helpfull), so a renamed or
misspelt flag fails here and not in a crash-looping pod. Flags of services
still being built are listed in ASSUMED and reported, not failed."""
import os
import re
import subprocess
import sys
import unittest

import chart_helm

# component → the binary's path in the runfiles (from BUILD args).
BINARIES = dict(arg.split("=", 1) for arg in sys.argv[1:] if "=" in arg)
# Flags the chart gives services that do not have them yet (reporting is
# being built); docs: charts/sotto/README.md.
_CLIENT_TLS = {"tls_ca_file", "tls_client_cert_file", "tls_client_key_file"}
ASSUMED = {
    "reporting": {"store", "policy_address"} | _CLIENT_TLS,
}


def flags_of(binary):
    out = subprocess.run([binary, "--helpfull"], capture_output=True, text=True)
    return set(re.findall(r"^\s+--([a-z_0-9]+) ", out.stdout + out.stderr, re.M))


def flag_names(args):
    return {a[2:].split("=", 1)[0] for a in args if a.startswith("--")}


class ChartFlagsTest(unittest.TestCase):
    def test_EveryFlagTheChartPassesExists(self):
        chart = chart_helm.chart_copy()
        for values in ([], ["-f", os.path.join(chart, "ci", "production-values.yaml")]):
            objects = chart_helm.render(chart, *values)
            probe_flags = flags_of(BINARIES["probe"])
            seen = set()
            for o in objects:
                if o["kind"] not in ("Deployment", "StatefulSet"):
                    continue
                component = o["metadata"]["labels"]["app.kubernetes.io/component"]
                seen.add(component)
                known = flags_of(BINARIES[component])
                self.assertIn("grpc_address", known, f"could not read {component}'s flags")
                container = o["spec"]["template"]["spec"]["containers"][0]
                unknown = flag_names(container["args"]) - known
                missing_assumed = unknown & ASSUMED.get(component, set())
                if missing_assumed:
                    print(f"note: {component} does not have {sorted(missing_assumed)} yet (assumed by the chart)")
                self.assertEqual(unknown - missing_assumed, set(), f"{component}: flags the binary lacks")
                probe = container["readinessProbe"].get("exec")
                if probe:
                    self.assertEqual(flag_names(probe["command"][1:]) - probe_flags, set(), "sotto-health-probe")
            self.assertEqual(seen, {"broker", "policy", "media", "recorder", "reporting"})


if __name__ == "__main__":
    unittest.main(argv=sys.argv[:1])
