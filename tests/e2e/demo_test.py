"""The main job as a test: `./dev demo`'s scenario, shorter, through all
five real services with ffmpeg SRTP endpoints (tools/demo). Run with
argument `sqlite` or `postgresql` (then SOTTO_TEST_PG_DSN, and the test
makes its own database on that server).

Asserts the demo's own verdict (every party heard exactly whom its mode
allows, measured from the audio) and the shape of var/demo/summary.json:
phases with times and who was heard, the heard and source WAVs, the
recording's channels, and the reporting figures.
"""

import json
import os
import subprocess
import sys
import unittest
import wave

import demo
import service_harness as harness

STORE = None  # Set from argv in __main__.


class DemoTest(unittest.TestCase):

    def store(self):
        if STORE == "sqlite":
            return "sqlite"
        dsn = os.environ.get("SOTTO_TEST_PG_DSN", "")
        if not dsn:
            self.fail("SOTTO_TEST_PG_DSN is not set: run ./dev test")
        database = "demo_%d" % os.getpid()
        for sql in ("DROP DATABASE IF EXISTS %s" % database,
                    "CREATE DATABASE %s" % database):
            subprocess.run(["psql", dsn, "-q", "-v", "ON_ERROR_STOP=1", "-c",
                            sql], check=True, capture_output=True)
        self.addCleanup(subprocess.run,
                        ["psql", dsn, "-q", "-c",
                         "DROP DATABASE IF EXISTS %s WITH (FORCE)" % database],
                        capture_output=True)
        return dsn.rsplit("/", 1)[0] + "/" + database

    def test_supervised_call_end_to_end(self):
        var = harness.test_tmpdir("demo-var")
        status = demo.main(["--var_dir", var, "--phase_seconds", "3.5",
                            "--store", self.store()])
        with open(os.path.join(var, "demo", "summary.json")) as f:
            summary = json.load(f)
        self.assertEqual(summary["failures"], [])
        self.assertEqual(status, 0)
        modes = [phase["mode"] for phase in summary["phases"]]
        self.assertEqual(modes, list(demo.PHASES))
        by_mode = {phase["mode"]: phase for phase in summary["phases"]}
        self.assertEqual(by_mode["WHISPER"]["heard"]["customer"], ["agent"])
        self.assertEqual(sorted(by_mode["WHISPER"]["heard"]["agent"]),
                         ["customer", "supervisor"])
        self.assertEqual(by_mode["TAKEOVER"]["heard"]["customer"],
                         ["supervisor"])
        self.assertEqual(by_mode["TRANSFERRED"]["heard"]["customer"],
                         ["agent2"])
        for phase in summary["phases"]:
            self.assertLess(phase["start_s"], phase["end_s"])
        for party, path in summary["heard_wav"].items():
            with wave.open(path) as w:
                self.assertEqual((w.getnchannels(), w.getframerate()),
                                 (1, 8000), party)
        self.assertEqual(sorted(summary["lines_wav"]),
                         ["agent", "agent2", "customer", "supervisor"])
        recording = summary["recording"]
        self.assertIn("customer", recording["channels"])
        self.assertIn("agent", recording["channels"])
        for path in recording["paths"]:
            info = subprocess.run(["sox", "--i", path], capture_output=True,
                                  text=True)
            self.assertEqual(info.returncode, 0, info.stderr)
        report = summary["report"]
        self.assertEqual(report["supervisor"], "lead-1")
        self.assertEqual(report["sessions"], 1)
        self.assertEqual(report["mode_switches"], 3)
        for mode in ("MODE_LISTEN", "MODE_WHISPER", "MODE_BARGE",
                     "MODE_TAKEOVER"):
            self.assertAlmostEqual(report["seconds_by_mode"][mode], 3.5,
                                   delta=0.5)


if __name__ == "__main__":
    STORE = sys.argv.pop(1)
    unittest.main()
