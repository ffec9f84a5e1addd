"""Starts a Sotto binary for black-box tests and talks to it the way a load
balancer, Prometheus or an operator would: grpc.health.v1, server reflection,
GET /metrics and signals.

Debian has no Python stubs for health and reflection, so the messages come
from //tests/protos. They are loaded by file path: the generated modules live
in a `grpc/` directory, and importing them as `grpc.health.v1...` would
collide with the grpcio package itself.
"""

import base64
import hashlib
import hmac
import importlib.util
import json
import os
import queue
import re
import shutil
import subprocess
import time
import urllib.request

import grpc

_HEALTH_PROTO = "tests/protos/grpc/health/v1/health_pb2.py"
_REFLECTION_PROTO = "tests/protos/grpc/reflection/v1alpha/reflection_pb2.py"

HEALTH_CHECK = "/grpc.health.v1.Health/Check"
REFLECTION_INFO = ("/grpc.reflection.v1alpha.ServerReflection/"
                   "ServerReflectionInfo")


def runfile(path):
    """Absolute path of a data dependency given relative to the workspace."""
    root = os.environ.get("TEST_SRCDIR", os.getcwd())
    workspace = os.environ.get("TEST_WORKSPACE", "sotto")
    candidate = os.path.join(root, workspace, path)
    return candidate if os.path.exists(candidate) else os.path.abspath(path)


def _load_module(name, path):
    spec = importlib.util.spec_from_file_location(name, runfile(path))
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


health_pb2 = _load_module("sotto_test_health_pb2", _HEALTH_PROTO)
reflection_pb2 = _load_module("sotto_test_reflection_pb2", _REFLECTION_PROTO)

SERVING = health_pb2.HealthCheckResponse.SERVING
NOT_SERVING = health_pb2.HealthCheckResponse.NOT_SERVING


def _b64url(data):
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def make_token(secret, subject, roles, teams=(), tenant="acme",
               issuer="sotto-local", audience="sotto", lifetime=600):
    """An HS256 JWT signed with `secret`, as the example policy document's
    `local` issuer accepts it (made with the standard library only)."""
    now = int(time.time())
    claims = {"iss": issuer, "aud": audience, "sub": subject,
              "tenant": tenant, "roles": list(roles), "teams": list(teams),
              "iat": now, "exp": now + lifetime}
    header = _b64url(json.dumps({"alg": "HS256", "typ": "JWT"}).encode())
    payload = _b64url(json.dumps(claims).encode())
    signing_input = ("%s.%s" % (header, payload)).encode("ascii")
    signature = hmac.new(secret, signing_input, hashlib.sha256).digest()
    return "%s.%s.%s" % (header, payload, _b64url(signature))


def example_policy_args(example, secret):
    """sotto-policy's flags for a copy of the policy document `example`
    (workspace-relative) beside a fresh `jwt-hs256.key` holding `secret`."""
    doc_dir = test_tmpdir("policy-doc")
    policy_path = os.path.join(doc_dir, "policy.yaml")
    shutil.copyfile(runfile(example), policy_path)
    with open(os.path.join(doc_dir, "jwt-hs256.key"), "wb") as f:
        f.write(secret + b"\n")
    return ["--policy_file=" + policy_path]


def test_tmpdir(name):
    """A fresh directory under $TEST_TMPDIR."""
    base = os.environ.get("TEST_TMPDIR", "/tmp")
    path = os.path.join(base, "%s-%d" % (name, time.monotonic_ns()))
    os.makedirs(path)
    return path


def wait_until(predicate, timeout, interval=0.02, what="condition"):
    """Polls predicate() until it returns a truthy value or time runs out."""
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() >= deadline:
            raise AssertionError("timed out after %.1fs waiting for %s" %
                                 (timeout, what))
        time.sleep(interval)


def child_environment():
    """The environment for a service process.

    Under --config=tsan the binaries need the same ThreadSanitizer
    suppressions as the C++ tests (see tests/sanitizers/tsan.supp).
    """
    env = dict(os.environ)
    if "TSAN_OPTIONS" in env:
        env["TSAN_OPTIONS"] += (
            ":suppressions=%s:ignore_noninstrumented_modules=1" %
            runfile("tests/sanitizers/tsan.supp"))
    return env


class ServiceProcess:
    """One running binary on loopback with ephemeral ports.

    Logs go to a file (a pipe could fill and block the service); read them
    with log_text() or log_lines().
    """

    def __init__(self, binary, extra_args=(), name="service"):
        self.dir = test_tmpdir(name)
        self.ready_file = os.path.join(self.dir, "ready.json")
        self.log_path = os.path.join(self.dir, "stderr.log")
        self.args = [
            os.path.abspath(binary),
            "--grpc_address=127.0.0.1:0",
            "--metrics_address=127.0.0.1:0",
            "--ready_file=" + self.ready_file,
        ] + list(extra_args)
        self._log = open(self.log_path, "wb")
        self.process = subprocess.Popen(self.args, stdout=self._log,
                                        stderr=self._log,
                                        stdin=subprocess.DEVNULL,
                                        env=child_environment())
        self.grpc_port = None
        self.metrics_port = None

    def wait_ready(self, timeout=20):
        def ready():
            if self.process.poll() is not None:
                raise AssertionError(
                    "%s exited with %d before it was ready:\n%s" %
                    (self.args[0], self.process.returncode, self.log_text()))
            if not os.path.exists(self.ready_file):
                return None
            with open(self.ready_file) as f:
                return json.load(f)

        info = wait_until(ready, timeout, what="ready file")
        assert info["pid"] == self.process.pid, info
        self.grpc_port = info["grpc_port"]
        self.metrics_port = info["metrics_port"]
        return self

    @property
    def grpc_target(self):
        return "127.0.0.1:%d" % self.grpc_port

    def channel(self):
        return grpc.insecure_channel(self.grpc_target)

    def wait_exit(self, timeout):
        try:
            return self.process.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            raise AssertionError("%s still running after %.1fs:\n%s" %
                                 (self.args[0], timeout, self.log_text()))

    def log_text(self):
        self._log.flush()
        with open(self.log_path, encoding="utf-8", errors="replace") as f:
            return f.read()

    def log_lines(self):
        return [line for line in self.log_text().splitlines() if line]

    def close(self):
        if self.process.poll() is None:
            self.process.kill()
            self.process.wait()
        self._log.close()


def check_health(channel, service="", timeout=5):
    """grpc.health.v1 Check; returns the ServingStatus or raises RpcError."""
    check = channel.unary_unary(
        HEALTH_CHECK,
        request_serializer=health_pb2.HealthCheckRequest.SerializeToString,
        response_deserializer=health_pb2.HealthCheckResponse.FromString)
    return check(health_pb2.HealthCheckRequest(service=service),
                 timeout=timeout).status


class ReflectionStream:
    """An open ServerReflectionInfo bidi stream: one request, one answer."""

    def __init__(self, channel, timeout=30):
        self._requests = queue.Queue()
        info = channel.stream_stream(
            REFLECTION_INFO,
            request_serializer=reflection_pb2.ServerReflectionRequest.
            SerializeToString,
            response_deserializer=reflection_pb2.ServerReflectionResponse.
            FromString)
        self._call = info(self._request_iterator(), timeout=timeout)

    def _request_iterator(self):
        while True:
            request = self._requests.get()
            if request is None:
                return
            yield request

    def list_services(self):
        self._requests.put(reflection_pb2.ServerReflectionRequest(
            list_services="*"))
        response = next(self._call)
        return sorted(s.name for s in response.list_services_response.service)

    def close(self):
        """Half-closes and waits for the server to finish; returns the code."""
        self._requests.put(None)
        for _ in self._call:
            pass
        return self._call.code()


def scrape(metrics_port, timeout=5):
    url = "http://127.0.0.1:%d/metrics" % metrics_port
    with urllib.request.urlopen(url, timeout=timeout) as response:
        return response.read().decode("utf-8")


def promtool_check(text):
    """Runs `promtool check metrics` on exposition text; (exit code, output)."""
    result = subprocess.run(["/usr/bin/promtool", "check", "metrics"],
                            input=text.encode("utf-8"), capture_output=True,
                            timeout=30)
    return result.returncode, (result.stdout + result.stderr).decode()


_SAMPLE = re.compile(r'^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})? (\S+)$')
_LABEL = re.compile(r'([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"')


def samples(text):
    """Parses exposition text into (name, {label: value}, float) tuples."""
    result = []
    for line in text.splitlines():
        if not line or line.startswith("#"):
            continue
        match = _SAMPLE.match(line)
        if match:
            labels = dict(_LABEL.findall(match.group(2) or ""))
            result.append((match.group(1), labels, float(match.group(3))))
    return result


def sample_value(text, name, **labels):
    """Value of the sample `name` whose labels include `labels`, or None."""
    for sample_name, sample_labels, value in samples(text):
        if sample_name == name and all(
                sample_labels.get(k) == v for k, v in labels.items()):
            return value
    return None


def make_test_certs(directory):
    """Writes a CA, server and client certificates (openssl CLI)."""
    subprocess.run(
        [runfile("tests/services/common/make_test_certs.sh"), directory],
        check=True, timeout=60)
    return {
        name: os.path.join(directory, name)
        for name in os.listdir(directory)
    }
