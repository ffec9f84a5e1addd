"""Black-box tests of service-kit features shared by every binary, run
against sotto-broker: mutual TLS, JSON logs without secrets, TLS
misconfiguration, --help.
"""

import json
import os
import shutil
import signal
import subprocess
import sys
import unittest

import grpc

import service_harness as harness

BINARY = None  # Set from argv in __main__.


class KitFeaturesTest(unittest.TestCase):

    def start(self, *extra_args):
        service = harness.ServiceProcess(BINARY, extra_args,
                                         name=self.id().split(".")[-1])
        self.addCleanup(service.close)
        return service.wait_ready()

    def test_mutual_tls_admits_only_clients_with_a_certificate(self):
        certs = harness.make_test_certs(harness.test_tmpdir("certs"))
        service = self.start("--tls_cert_file=" + certs["server.pem"],
                             "--tls_key_file=" + certs["server.key"],
                             "--tls_client_ca_file=" + certs["ca.pem"])

        def read(name):
            with open(certs[name], "rb") as f:
                return f.read()

        def check(credentials):
            with grpc.secure_channel(service.grpc_target,
                                     credentials) as channel:
                return harness.check_health(channel)

        with self.assertRaises(grpc.RpcError) as no_cert:
            check(grpc.ssl_channel_credentials(
                root_certificates=read("ca.pem")))
        self.assertEqual(no_cert.exception.code(), grpc.StatusCode.UNAVAILABLE)

        with self.assertRaises(grpc.RpcError):
            check(grpc.ssl_channel_credentials(
                root_certificates=read("ca.pem"),
                private_key=read("other_client.key"),
                certificate_chain=read("other_client.pem")))

        with self.assertRaises(grpc.RpcError):
            with service.channel() as plaintext:
                harness.check_health(plaintext)

        self.assertEqual(
            check(grpc.ssl_channel_credentials(
                root_certificates=read("ca.pem"),
                private_key=read("client.key"),
                certificate_chain=read("client.pem"))), harness.SERVING)

    def test_json_logs_parse_and_hide_secret_named_values(self):
        # The key file's path stands in for a secret: --tls_key_file is a
        # secret-named field, so its value must never reach the log.
        marker = "do-not-log-7f3a91"
        certs = harness.make_test_certs(harness.test_tmpdir("certs"))
        key_file = os.path.join(os.path.dirname(certs["server.key"]),
                                marker + ".key")
        shutil.copyfile(certs["server.key"], key_file)
        service = self.start("--log_format=json",
                             "--tls_cert_file=" + certs["server.pem"],
                             "--tls_key_file=" + key_file)
        service.process.send_signal(signal.SIGTERM)
        self.assertEqual(service.wait_exit(timeout=10), 0)

        text = service.log_text()
        self.assertNotIn(marker, text)
        lines = [json.loads(line) for line in service.log_lines()]
        for line in lines:
            for key in ("ts", "level", "service", "msg"):
                self.assertIn(key, line)
            self.assertEqual(line["service"], "broker")
        serving = [line for line in lines if line["msg"] == "serving"]
        self.assertEqual(len(serving), 1, text)
        self.assertEqual(serving[0]["grpc_port"], service.grpc_port)
        self.assertEqual(serving[0]["metrics_port"], service.metrics_port)
        self.assertEqual(serving[0]["tls_key_file"], "[redacted]")
        self.assertEqual(serving[0]["tls"], "tls")
        self.assertIn("drained", [line["msg"] for line in lines])

    def test_unreadable_tls_file_exits_nonzero_naming_the_file(self):
        missing = os.path.join(harness.test_tmpdir("tls"), "missing-cert.pem")
        result = subprocess.run(
            [os.path.abspath(BINARY), "--grpc_address=127.0.0.1:0",
             "--metrics_address=127.0.0.1:0", "--tls_cert_file=" + missing,
             "--tls_key_file=" + missing + ".key"],
            capture_output=True, timeout=20, env=harness.child_environment())
        self.assertNotEqual(result.returncode, 0)
        stderr = result.stderr.decode()
        self.assertIn(missing, stderr)
        self.assertIn("--tls_cert_file", stderr)

    def test_help_lists_the_kit_flags(self):
        result = subprocess.run([os.path.abspath(BINARY), "--help"],
                                capture_output=True, timeout=20,
                                env=harness.child_environment())
        output = (result.stdout + result.stderr).decode()
        for flag in ("--grpc_address", "--metrics_address", "--ready_file",
                     "--log_format", "--tls_client_ca_file", "--drain_grace",
                     "--drain_deadline"):
            self.assertIn(flag, output)
        self.assertIn("Default ports: gRPC 7100, metrics 9100", output)


if __name__ == "__main__":
    BINARY = sys.argv.pop(1)
    unittest.main()
