"""The media benchmark still runs end to end: a few rooms for a second
against the engine it starts, and against its floor relay. It checks the
program's contract (last line one JSON object with the issue's fields, the
probe reaching the customer), never its speed: numbers come from -c opt runs
recorded in docs/performance.md."""
import json
import subprocess
import sys
import unittest

MEDIA_LOAD = sys.argv.pop(1)

REQUIRED = ["rooms", "seconds", "packets_sent", "packets_received",
            "loss_ratio", "latency_p50_us", "latency_p99_us",
            "engine_cpu_seconds", "engine_rss_kib"]


def run(*flags):
    # No CPU pinning: other tests share the machine.
    result = subprocess.run(
        [MEDIA_LOAD, "--rooms=3", "--seconds=2", "--warmup_seconds=1",
         "--engine_cpu=-1", "--generator_cpu=-1", "--sender_threads=1",
         "--port_min=31000", "--port_max=31999",
         "--engine_log=/dev/null", *flags],
        capture_output=True, text=True, timeout=120)
    if result.returncode != 0:
        raise AssertionError("media_load failed (%d): %s" %
                             (result.returncode, result.stderr[-2000:]))
    return json.loads(result.stdout.strip().splitlines()[-1])


class MediaLoadSmokeTest(unittest.TestCase):

    def check(self, report, target):
        for field in REQUIRED:
            self.assertIn(field, report)
        self.assertEqual(report["target"], target)
        self.assertEqual(report["rooms"], 3)
        self.assertGreater(report["packets_sent"], 3 * 3 * 50)
        self.assertGreater(report["packets_received"], 3 * 3 * 50)
        # The agent's probe reached the customer and was timed.
        self.assertGreater(report["latency_samples"], 3 * 50)
        self.assertGreater(report["latency_p50_us"], 0)
        self.assertGreater(report["engine_cpu_seconds"], 0)
        self.assertEqual(report["undecryptable"], 0)

    def test_srtp_rooms_against_the_engine(self):
        self.check(run(), "sotto-media")

    def test_floor_relay(self):
        report = run("--floor_relay")
        self.check(report, "floor-relay")
        self.assertEqual(report["transport"], "rtp")


if __name__ == "__main__":
    unittest.main()
