"""Black-box test of the built sottoctl binary against the real services:
sotto-policy (the shipped example document, a fresh HS256 key), sotto-broker
and a sotto-media that registers itself with the broker, all on loopback
with ephemeral ports (--ready_file). Arguments: the sottoctl, broker, media
and policy binaries and the example policy document.

The phones are plain-RTP UDP sockets; only their ports matter here. What is
checked is what a person or a script sees: exit codes, the human output,
`-o json` lines, and error messages with their hints.
"""

import json
import os
import socket
import subprocess
import sys
import unittest

sys.path.insert(0, os.path.join(os.environ.get("TEST_SRCDIR", ""),
                                os.environ.get("TEST_WORKSPACE", "sotto"),
                                "tests", "e2e"))
import service_harness as harness  # noqa: E402

SOTTOCTL = BROKER = MEDIA = POLICY = EXAMPLE = None  # Set from argv.
SECRET = b"sottoctl-e2e-secret-0123456789-abcdefghijklmno"
CALL = "tenants/acme/calls/cli-call-1"


def make_token(subject, roles, teams=(), tenant="acme"):
    """A token the example policy's `local` issuer accepts."""
    return harness.make_token(SECRET, subject, roles, teams, tenant)


def sottoctl_environment():
    """The test's environment without SOTTO_* variables (each test sets its
    own), with the sanitizer settings the service processes get too."""
    return {k: v for k, v in harness.child_environment().items()
            if not k.startswith("SOTTO_")}


class SottoctlBlackboxTest(unittest.TestCase):

    def setUp(self):
        self.policy = self.start(
            POLICY, harness.example_policy_args(EXAMPLE, SECRET), "policy")
        store_dir = harness.test_tmpdir("broker-store")
        self.broker = self.start(
            BROKER, ["--policy_address=" + self.policy.grpc_target,
                     "--store=sqlite:" + os.path.join(store_dir, "broker.db")],
            "broker")
        self.media = self.start(
            MEDIA, ["--broker_address=" + self.broker.grpc_target,
                    "--engine_id=media-cli", "--media_bind_ip=127.0.0.1",
                    "--media_ip=127.0.0.1", "--workers=1"], "media")
        self.integrator = make_token("pbx-1", ["integrator"])
        self.lead = make_token("lead-1", ["team_lead"], ["team-a"])
        self.qa = make_token("qa-1", ["qa_analyst"])
        self.ports = {}
        for leg in ("customer", "agent", "supervisor"):
            sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
            sock.bind(("127.0.0.1", 0))
            self.addCleanup(sock.close)
            self.ports[leg] = sock.getsockname()[1]
        self.outputs = []

    def start(self, binary, args, name):
        process = harness.ServiceProcess(binary, args, name=name)
        self.addCleanup(process.close)
        return process.wait_ready()

    def sottoctl(self, *args, token=None):
        """Runs the binary the way a shell would: addresses and the token in
        the environment (SOTTO_*), so the command lines stay short."""
        env = sottoctl_environment()
        env.update({"SOTTO_BROKER": self.broker.grpc_target,
                    "SOTTO_POLICY": self.policy.grpc_target,
                    "SOTTO_MEDIA": self.media.grpc_target})
        if token:
            env["SOTTO_TOKEN"] = token
        done = subprocess.run([os.path.abspath(SOTTOCTL)] + list(args),
                              env=env, stdin=subprocess.DEVNULL,
                              capture_output=True, text=True, timeout=60)
        self.outputs.append(done.stdout + done.stderr)
        return done

    def ok(self, *args, token=None):
        done = self.sottoctl(*args, token=token)
        self.assertEqual(done.returncode, 0,
                         "sottoctl %s\n%s" % (" ".join(args), done.stderr))
        self.assertEqual(done.stderr, "")
        return done.stdout

    def json(self, *args, token=None):
        lines = self.ok(*(list(args) + ["-o", "json"]), token=token)
        lines = lines.splitlines()
        self.assertEqual(len(lines), 1, lines)
        return json.loads(lines[0])

    def register_args(self, request_id):
        return ["calls", "register", "cli-call-1", "--queue=sales",
                "--agent=a-1", "--team=team-a", "--disclosed",
                "--customer_rtp=127.0.0.1:%d" % self.ports["customer"],
                "--customer_suite=plain-rtp",
                "--agent_rtp=127.0.0.1:%d" % self.ports["agent"],
                "--agent_suite=plain", "--request_id=" + request_id]

    def test_supervision_flow_from_the_shell(self):
        # The engine registers itself; `engines list` shows it healthy.
        def engine_healthy():
            engines = self.json("engines", "list").get("engines", [])
            return [e for e in engines if e["engine_id"] == "media-cli" and
                    e["state"] == "HEALTHY"]
        harness.wait_until(engine_healthy, 15, interval=0.1,
                           what="media-cli healthy in `engines list`")

        # No token: UNAUTHENTICATED, exit 1, and how to give one. (Without a
        # token the tenant must be named.)
        done = self.sottoctl(*self.register_args("register-1"),
                             "--tenant=acme")
        self.assertEqual(done.returncode, 1, done.stderr)
        self.assertIn("sottoctl: calls register: UNAUTHENTICATED: ",
                      done.stderr)
        self.assertIn("hint: set --token or SOTTO_TOKEN", done.stderr)
        self.assertEqual(done.stdout, "")

        # The broker's own INVALID_ARGUMENT message, naming the field,
        # reaches the person.
        done = self.sottoctl(*self.register_args("register-bad"),
                             "--attr=note=" + "x" * 300,
                             token=self.integrator)
        self.assertEqual(done.returncode, 1, done.stderr)
        self.assertIn("INVALID_ARGUMENT: attributes: each entry at most",
                      done.stderr)
        self.assertIn("calls register --help", done.stderr)

        # A leg with neither key nor suite is caught before the broker, by
        # the flag's name.
        args = [a for a in self.register_args("register-bad")
                if a != "--customer_suite=plain-rtp"]
        done = self.sottoctl(*args, token=self.integrator)
        self.assertEqual(done.returncode, 2, done.stderr)
        self.assertIn("--customer_key is required", done.stderr)
        self.assertIn("--customer_suite=plain-rtp", done.stderr)

        # A usage error never reaches the broker: exit 2.
        done = self.sottoctl("supervise", CALL, "--mode=shout",
                             token=self.lead)
        self.assertEqual(done.returncode, 2)
        self.assertIn("valid: listen, whisper, barge, takeover", done.stderr)

        # Register; the tenant comes from the token.
        call = self.json(*self.register_args("register-1"),
                         token=self.integrator)
        self.assertEqual(call["name"], CALL)
        self.assertEqual(call["state"], "ACTIVE")
        self.assertEqual(call["media_engine"], "media-cli")
        # A retry with the same --request_id answers the same call.
        retry = self.json(*self.register_args("register-1"),
                          token=self.integrator)
        self.assertEqual(retry, call)

        # list and get, human and JSON.
        listing = self.ok("calls", "list", token=self.lead)
        self.assertIn(CALL, listing.splitlines()[1])
        self.assertIn("active", listing)
        self.assertEqual([c["name"] for c in self.json(
            "calls", "list", "--team=team-a", token=self.lead)["calls"]],
            [CALL])
        self.assertEqual(self.json("calls", "list", "--team=team-b",
                                   token=self.lead), {})
        shown = self.ok("calls", "get", "cli-call-1", token=self.lead)
        self.assertIn("call     " + CALL, shown)
        self.assertIn("queue sales", shown)

        # Supervise in LISTEN, then whisper -> barge -> listen.
        supervision = self.json(
            "supervise", CALL, "--mode=listen", "--suite=plain",
            "--rtp=127.0.0.1:%d" % self.ports["supervisor"], token=self.lead)
        name = supervision["name"]
        self.assertTrue(name.startswith(CALL + "/supervisions/"), name)
        self.assertEqual(supervision["mode"], "MODE_LISTEN")
        self.assertEqual(supervision["supervisor"], "lead-1")
        self.assertEqual(supervision["state"], "ACTIVE")
        text = self.ok("supervisions", "get", name, token=self.lead)
        self.assertIn("mode listen", text)

        self.assertEqual(self.json("mode", name, "whisper",
                                   token=self.lead)["mode"], "MODE_WHISPER")
        barge = self.ok("mode", name, "barge", token=self.lead)
        self.assertIn("mode barge", barge)
        # Bare supervision id with --call, the long form, and --mode.
        listen = self.json("supervisions", "mode",
                           name.rsplit("/", 1)[1], "--call=cli-call-1",
                           "--mode=listen", token=self.lead)
        self.assertEqual(listen["mode"], "MODE_LISTEN")
        routing = self.json("calls", "get", CALL, token=self.lead)["routing"]
        routes = {(e["source"], e["sink"]) for e in routing["entries"]}
        self.assertNotIn(("supervisor-1", "customer"), routes)
        self.assertNotIn(("supervisor-1", "agent-1"), routes)

        # A QA analyst may only listen.
        done = self.sottoctl("mode", name, "barge", token=self.qa)
        self.assertEqual(done.returncode, 1)
        self.assertIn("PERMISSION_DENIED", done.stderr)
        self.assertIn("sottoctl whoami", done.stderr)

        # whoami asks the policy service who the token names.
        who = self.ok("whoami", token=self.lead)
        self.assertIn("subject  lead-1", who)
        self.assertIn("team_lead", who)

        # Release, then end the call.
        released = self.json("release", name, token=self.lead)
        self.assertEqual(released["state"], "RELEASED")
        ended = self.json("calls", "end", "cli-call-1",
                          "--reason=customer hung up", token=self.integrator)
        self.assertEqual(ended["state"], "ENDED")
        self.assertEqual(ended["end_reason"], "customer hung up")
        self.assertEqual(self.json("calls", "list", token=self.lead), {})
        ended_list = self.ok("calls", "list", "--state=ended",
                             token=self.lead)
        self.assertIn(CALL, ended_list)

        # No token reaches any output of sottoctl or any service log.
        for token in (self.integrator, self.lead, self.qa):
            signature = token.split(".")[2]
            for text in self.outputs:
                self.assertNotIn(signature, text)
            for process in (self.broker, self.policy, self.media):
                self.assertNotIn(signature, process.log_text())

    def test_unreachable_broker_says_where_it_looked(self):
        done = subprocess.run(
            [os.path.abspath(SOTTOCTL), "calls", "list", "--tenant=acme",
             "--broker=127.0.0.1:1", "--timeout=5s"],
            env=sottoctl_environment(),
            capture_output=True, text=True, timeout=60)
        self.assertEqual(done.returncode, 1)
        self.assertIn("UNAVAILABLE", done.stderr)
        self.assertIn("is the broker running at 127.0.0.1:1? "
                      "(--broker / SOTTO_BROKER)", done.stderr)


if __name__ == "__main__":
    SOTTOCTL, BROKER, MEDIA, POLICY, EXAMPLE = sys.argv[1:6]
    del sys.argv[1:6]
    unittest.main()
