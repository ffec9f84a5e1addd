"""Black-box test of sotto-policy (path given as the first argument) with the
shipped example document (the second argument), copied into a temp
directory next to a freshly written HS256 key file.

Tokens are made here with the standard library (hmac, hashlib, base64,
json), independently of libjwt. Checks: Authenticate accepts a good token
and refuses bad ones with UNAUTHENTICATED; Authorize answers with rule ids,
reasons and supervision terms (deny by default, tenant isolation,
disclosure); GetRecordingPolicy and GetPolicyStatus; a broken hot reload
keeps the old document; and no token ever appears in the process's log.
"""

import base64
import hashlib
import hmac
import json
import os
import shutil
import sys
import time
import unittest
import urllib.request

import grpc

import service_harness as harness
from sotto.v1 import common_pb2
from sotto.v1 import policy_pb2
from sotto.v1 import policy_pb2_grpc

BINARY = None  # Set from argv in __main__.
EXAMPLE = None
SECRET = b"e2e-secret-0123456789-abcdefghijklmnopqrstuv"


def b64url(data):
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def make_token(claims, secret=SECRET, alg="HS256"):
    header = b64url(json.dumps({"alg": alg, "typ": "JWT"}).encode())
    payload = b64url(json.dumps(claims).encode())
    signing_input = ("%s.%s" % (header, payload)).encode("ascii")
    signature = hmac.new(secret, signing_input, hashlib.sha256).digest()
    return "%s.%s.%s" % (header, payload, b64url(signature))


def claims(**overrides):
    now = int(time.time())
    value = {
        "iss": "sotto-local",
        "aud": "sotto",
        "sub": "lead-1",
        "tenant": "acme",
        "roles": ["team_lead"],
        "teams": ["team-a"],
        "name": "Lee Lead",
        "iat": now,
        "exp": now + 600,
    }
    value.update(overrides)
    return value


class PolicyServiceTest(unittest.TestCase):

    @classmethod
    def setUpClass(cls):
        cls.dir = harness.test_tmpdir("policy-doc")
        cls.policy_path = os.path.join(cls.dir, "policy.yaml")
        shutil.copyfile(harness.runfile(EXAMPLE), cls.policy_path)
        with open(os.path.join(cls.dir, "jwt-hs256.key"), "wb") as f:
            f.write(SECRET + b"\n")
        cls.service = harness.ServiceProcess(
            BINARY, ["--policy_file=" + cls.policy_path,
                     "--reload_interval=100ms", "--log_level=debug"],
            name="policy")
        cls.service.wait_ready()
        cls.channel = cls.service.channel()
        cls.stub = policy_pb2_grpc.PolicyStub(cls.channel)
        cls.tokens = []

    @classmethod
    def tearDownClass(cls):
        cls.channel.close()
        cls.service.close()

    def authenticate(self, token):
        self.tokens.append(token)
        return self.stub.Authenticate(
            policy_pb2.AuthenticateRequest(token=token), timeout=10)

    def authorize(self, principal, action, team="team-a", tenant="acme",
                  mode=common_pb2.MODE_UNSPECIFIED, disclosed=False):
        return self.stub.Authorize(policy_pb2.AuthorizeRequest(
            principal=principal, action=action, mode=mode,
            resource=policy_pb2.ResourceAttributes(
                tenant=tenant, call="tenants/%s/calls/c1" % tenant,
                queue="sales", team=team, monitoring_disclosed=disclosed)),
            timeout=10)

    def assert_code(self, code, call, *args, **kwargs):
        with self.assertRaises(grpc.RpcError) as raised:
            call(*args, **kwargs)
        self.assertEqual(raised.exception.code(), code,
                         raised.exception.details())
        return raised.exception.details()

    def test_authenticate_returns_the_principal(self):
        principal = self.authenticate(make_token(claims()))
        self.assertEqual(principal.tenant, "acme")
        self.assertEqual(principal.subject, "lead-1")
        self.assertEqual(list(principal.roles), ["team_lead"])
        self.assertEqual(list(principal.teams), ["team-a"])
        self.assertEqual(principal.display_name, "Lee Lead")
        self.assertGreater(principal.expire_time.seconds, time.time())

    def test_bad_tokens_are_unauthenticated_with_a_reason(self):
        now = int(time.time())
        for token, reason in [
                (make_token(claims(exp=now - 3600)), "expired"),
                (make_token(claims(nbf=now + 3600)), "not yet valid"),
                (make_token(claims(iss="elsewhere")), "unknown issuer"),
                (make_token(claims(aud="other")), "wrong audience"),
                (make_token(claims(), secret=b"x" * 40), "bad signature"),
                (make_token(claims(), alg="HS512"), "algorithm not accepted"),
                (make_token({k: v for k, v in claims().items()
                             if k != "tenant"}), "missing tenant claim"),
                ("", "no token"),
        ]:
            self.tokens.append(token)
            details = self.assert_code(grpc.StatusCode.UNAUTHENTICATED,
                                       self.authenticate, token)
            self.assertIn(reason, details)
            if token:
                self.assertNotIn(token.split(".")[2], details)

    def test_authorize_follows_the_example_rules(self):
        lead = self.authenticate(make_token(claims()))
        qa = self.authenticate(make_token(claims(
            sub="qa-1", roles=["qa_analyst"], teams=[])))

        own = self.authorize(lead, policy_pb2.ACTION_CALLS_SUPERVISE,
                             mode=common_pb2.MODE_WHISPER)
        self.assertTrue(own.allowed, own.reason)
        self.assertEqual(own.rule, "leads-coach-own-team")
        self.assertEqual(list(own.supervision.allowed_modes),
                         [common_pb2.MODE_LISTEN, common_pb2.MODE_WHISPER])
        self.assertEqual(own.supervision.downgrade_to, common_pb2.MODE_LISTEN)
        self.assertEqual(own.supervision.max_supervisors_per_call, 3)
        self.assertEqual(own.supervision.takeover_rank, 20)
        self.assertTrue(own.supervision.whisper_cue_tone)

        other_team = self.authorize(lead, policy_pb2.ACTION_CALLS_SUPERVISE,
                                    team="team-b",
                                    mode=common_pb2.MODE_LISTEN)
        self.assertFalse(other_team.allowed)
        self.assertEqual(other_team.rule, "default-deny")

        barge = self.authorize(lead, policy_pb2.ACTION_CALLS_SUPERVISE,
                               mode=common_pb2.MODE_BARGE)
        self.assertFalse(barge.allowed)
        self.assertEqual(barge.rule, "leads-coach-own-team")
        self.assertIn("monitoring_disclosed", barge.reason)
        self.assertTrue(self.authorize(
            lead, policy_pb2.ACTION_CALLS_SUPERVISE,
            mode=common_pb2.MODE_BARGE, disclosed=True).allowed)

        qa_barge = self.authorize(qa, policy_pb2.ACTION_CALLS_SUPERVISE,
                                  team="team-b", mode=common_pb2.MODE_BARGE,
                                  disclosed=True)
        self.assertFalse(qa_barge.allowed)
        self.assertEqual(
            qa_barge.reason,
            "no rule grants calls.supervise in BARGE to roles [qa_analyst] "
            "on team team-b in queue sales")
        self.assertFalse(qa_barge.HasField("supervision"))

        other_tenant = self.authorize(lead, policy_pb2.ACTION_CALLS_VIEW,
                                      tenant="globex")
        self.assertFalse(other_tenant.allowed)
        self.assertNotIn("globex", other_tenant.reason)

    def decisions(self, decision, rule):
        """sotto_policy_decisions_total for acme's calls.supervise."""
        url = "http://127.0.0.1:%d/metrics" % self.service.metrics_port
        with urllib.request.urlopen(url, timeout=10) as response:
            text = response.read().decode()
        total = 0.0
        for line in text.splitlines():
            if (line.startswith("sotto_policy_decisions_total{") and
                    'tenant="acme"' in line and
                    'action="calls.supervise"' in line and
                    'decision="%s"' % decision in line and
                    'rule="%s"' % rule in line):
                total += float(line.rsplit(" ", 1)[1])
        return total

    def test_decisions_are_counted_by_decision_and_rule(self):
        lead = self.authenticate(make_token(claims()))
        denied = self.decisions("deny", "default-deny")
        allowed = self.decisions("allow", "leads-coach-own-team")
        for _ in range(2):
            self.assertFalse(self.authorize(
                lead, policy_pb2.ACTION_CALLS_SUPERVISE, team="team-b",
                mode=common_pb2.MODE_LISTEN).allowed)
        self.assertTrue(self.authorize(
            lead, policy_pb2.ACTION_CALLS_SUPERVISE,
            mode=common_pb2.MODE_LISTEN).allowed)
        self.assertEqual(self.decisions("deny", "default-deny"), denied + 2)
        self.assertEqual(self.decisions("allow", "leads-coach-own-team"),
                         allowed + 1)

    def test_malformed_authorize_is_invalid_argument(self):
        lead = self.authenticate(make_token(claims()))
        self.assert_code(grpc.StatusCode.INVALID_ARGUMENT, self.authorize,
                         lead, policy_pb2.ACTION_UNSPECIFIED)
        self.assert_code(grpc.StatusCode.INVALID_ARGUMENT, self.authorize,
                         lead, policy_pb2.ACTION_CALLS_SUPERVISE)
        self.assert_code(grpc.StatusCode.INVALID_ARGUMENT, self.authorize,
                         policy_pb2.Principal(), policy_pb2.ACTION_CALLS_VIEW)

    def test_recording_policy_and_status(self):
        recording = self.stub.GetRecordingPolicy(
            policy_pb2.GetRecordingPolicyRequest(tenant="acme"), timeout=10)
        self.assertTrue(recording.enabled)
        self.assertEqual(recording.layout, policy_pb2.RecordingPolicy.MULTICHANNEL)
        self.assertEqual(recording.retention.seconds, 90 * 86400)
        payments = self.stub.GetRecordingPolicy(
            policy_pb2.GetRecordingPolicyRequest(tenant="acme",
                                                 queue="payments"), timeout=10)
        self.assertFalse(payments.enabled)
        self.assert_code(grpc.StatusCode.NOT_FOUND, self.stub.GetRecordingPolicy,
                         policy_pb2.GetRecordingPolicyRequest(tenant="nobody"),
                         timeout=10)
        status = self.stub.GetPolicyStatus(policy_pb2.GetPolicyStatusRequest(),
                                           timeout=10)
        self.assertEqual(status.source, self.policy_path)
        with open(self.policy_path, "rb") as f:
            self.assertEqual(status.sha256, hashlib.sha256(f.read()).hexdigest())
        self.assertEqual(status.tenants, 2)
        self.assertEqual(status.rules, 5)

    def test_zz_broken_reload_keeps_the_old_document_and_no_token_is_logged(self):
        # Runs last (name order): it rewrites the shared document.
        with open(self.policy_path) as f:
            original = f.read()
        broken = original.replace("version: 1", "version: 7", 1)
        with open(self.policy_path + ".tmp", "w") as f:
            f.write(broken)
        os.replace(self.policy_path + ".tmp", self.policy_path)

        def rejected():
            status = self.stub.GetPolicyStatus(
                policy_pb2.GetPolicyStatusRequest(), timeout=10)
            return status if status.last_error else None

        status = harness.wait_until(rejected, timeout=10, what="last_error")
        self.assertIn("unsupported version", status.last_error)
        self.assertEqual(status.sha256,
                         hashlib.sha256(original.encode()).hexdigest())
        lead = self.authenticate(make_token(claims()))
        self.assertTrue(self.authorize(lead, policy_pb2.ACTION_CALLS_VIEW).allowed)

        log = self.service.log_text()
        self.assertIn("policy reload rejected", log)
        self.assertTrue(self.tokens)
        for token in self.tokens:
            if not token:
                continue
            self.assertNotIn(token, log)
            for part in token.split("."):
                self.assertNotIn(part, log)


if __name__ == "__main__":
    BINARY = sys.argv.pop(1)
    EXAMPLE = sys.argv.pop(1)
    unittest.main()
