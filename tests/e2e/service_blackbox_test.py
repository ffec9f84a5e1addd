"""Black-box test of one Sotto binary (given as the first argument): health,
reflection, /metrics and the SIGTERM drain, as seen from outside the process.
"""

import signal
import sys
import time
import unittest

import grpc

import service_harness as harness

BINARY = None  # Set from argv in __main__.
# Flags every start of the binary needs (e.g. sotto-policy's
# --policy_file), given in BUILD as "--flag=value" right after the binary.
SERVICE_ARGS = []


class ServiceBlackBoxTest(unittest.TestCase):

    def start(self, *extra_args):
        service = harness.ServiceProcess(BINARY,
                                         SERVICE_ARGS + list(extra_args),
                                         name=self.id().split(".")[-1])
        self.addCleanup(service.close)
        return service.wait_ready()

    def test_health_check_answers_serving(self):
        service = self.start()
        with service.channel() as channel:
            self.assertEqual(harness.check_health(channel), harness.SERVING)

    def test_reflection_lists_health_and_reflection(self):
        service = self.start()
        with service.channel() as channel:
            stream = harness.ReflectionStream(channel)
            names = stream.list_services()
            self.assertEqual(stream.close(), grpc.StatusCode.OK)
        self.assertIn("grpc.health.v1.Health", names)
        self.assertIn("grpc.reflection.v1alpha.ServerReflection", names)

    def test_metrics_pass_promtool_and_count_the_health_check(self):
        service = self.start()
        with service.channel() as channel:
            harness.check_health(channel)
        text = harness.scrape(service.metrics_port)
        code, output = harness.promtool_check(text)
        self.assertEqual(code, 0, "promtool check metrics:\n" + output)
        self.assertEqual(
            harness.sample_value(text, "grpc_server_handled_total",
                                 grpc_service="grpc.health.v1.Health",
                                 grpc_method="Check", grpc_code="OK"), 1.0,
            text)
        self.assertEqual(
            harness.sample_value(text, "sotto_build_info"), 1.0, text)

    def test_sigterm_drains_in_flight_stream_and_exits_zero(self):
        service = self.start("--drain_grace=2s")
        # Separate channels: the probes must not share the stream's
        # connection, which the server keeps open for the in-flight call.
        stream_channel = service.channel()
        probe_channel = service.channel()
        self.addCleanup(stream_channel.close)
        self.addCleanup(probe_channel.close)
        stream = harness.ReflectionStream(stream_channel)
        self.assertIn("grpc.health.v1.Health", stream.list_services())

        service.process.send_signal(signal.SIGTERM)
        sigterm_at = time.monotonic()

        # During the grace: still answering, but NOT_SERVING.
        status = harness.wait_until(
            lambda: harness.check_health(probe_channel, timeout=2) ==
            harness.NOT_SERVING,
            timeout=1.8, what="NOT_SERVING")
        self.assertTrue(status)

        # After the grace: new RPCs are refused while the stream lives on.
        def refused():
            try:
                harness.check_health(probe_channel, timeout=1)
                return False
            except grpc.RpcError as error:
                return error.code() == grpc.StatusCode.UNAVAILABLE

        harness.wait_until(refused, timeout=3.5, what="new RPCs refused")
        self.assertIsNone(service.process.poll(),
                          "exited before the in-flight stream finished")

        self.assertIn("grpc.health.v1.Health", stream.list_services())
        self.assertEqual(stream.close(), grpc.StatusCode.OK)

        remaining = 5.0 - (time.monotonic() - sigterm_at)
        self.assertEqual(service.wait_exit(timeout=max(remaining, 0.1)), 0,
                         service.log_text())
        self.assertLess(time.monotonic() - sigterm_at, 5.0)


if __name__ == "__main__":
    BINARY = sys.argv.pop(1)
    while len(sys.argv) > 1 and sys.argv[1].startswith("--") and (
            "=" in sys.argv[1]):
        SERVICE_ARGS.append(sys.argv.pop(1))
    unittest.main()
