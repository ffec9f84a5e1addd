"""The five Sotto services on loopback, on embedded defaults: what `./dev
demo`, `./dev up` and the end-to-end demo test run.

Stack(...).start() generates what a first run lacks (an HS256 key, the
sample policy), starts sotto-policy, -reporting, -recorder, -broker and
-media with their state under `var_dir`, and waits until each is ready.
Tokens for the sample tenant come from token().
"""

import base64
import hashlib
import hmac
import json
import os
import secrets
import shutil
import signal
import subprocess
import sys
import time

TENANT = "acme"
SERVICES = ("policy", "reporting", "recorder", "broker", "media")
BINARIES = {
    "policy": "services/policy/sotto-policy",
    "reporting": "services/reporting/sotto-reporting",
    "recorder": "services/recorder/sotto-recorder",
    "broker": "services/broker/sotto-broker",
    "media": "media_engine/sotto-media",
}
EXAMPLE_POLICY = "services/policy/testdata/example-policy.yaml"
FIXED_PORTS = {  # gRPC, metrics: the services' defaults
    "broker": (7100, 9100), "policy": (7101, 9101), "media": (7102, 9102),
    "recorder": (7103, 9103), "reporting": (7104, 9104),
}


def _runfiles_roots():
    for variable in ("RUNFILES_DIR", "TEST_SRCDIR"):
        if os.environ.get(variable):
            yield os.environ[variable]
    # Python resolves symlinks for sys.path[0], not for argv[0].
    for path in (sys.argv[0], __file__):
        absolute = os.path.abspath(path)
        if ".runfiles/" in absolute:
            yield absolute.split(".runfiles/")[0] + ".runfiles"


def runfile(path):
    """A data dependency, from the runfiles of the running py_binary/test."""
    for root in _runfiles_roots():
        candidate = os.path.join(root, "sotto", path)
        if os.path.exists(candidate):
            return candidate
    raise FileNotFoundError("%s is not among the runfiles: run this through "
                            "bazel (./dev demo)" % path)


def _b64url(data):
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


class Stack:
    """The running services. `store` is "sqlite" (files under var_dir) or a
    PostgreSQL DSN shared by the broker, recorder and reporting."""

    def __init__(self, var_dir, store="sqlite", fixed_ports=False,
                 log=lambda line: None):
        self.var = os.path.abspath(var_dir)
        self.store = store
        self.fixed_ports = fixed_ports
        self.log = log
        self.processes = {}
        self.ports = {}  # name -> (grpc, metrics)
        self.secret = None

    # -- setup -------------------------------------------------------------

    def _prepare(self):
        for sub in ("keys", "policy", "run", "logs"):
            os.makedirs(os.path.join(self.var, sub), exist_ok=True)
        key_path = os.path.join(self.var, "policy", "jwt-hs256.key")
        if not os.path.exists(key_path):
            with open(key_path, "w") as f:  # 48 random bytes, base64
                f.write(base64.b64encode(secrets.token_bytes(48)).decode() +
                        "\n")
            os.chmod(key_path, 0o600)
        with open(key_path, "rb") as f:
            self.secret = f.read().strip()
        policy_path = os.path.join(self.var, "policy", "policy.yaml")
        if not os.path.exists(policy_path):
            shutil.copyfile(runfile(EXAMPLE_POLICY), policy_path)
        return policy_path

    def token(self, subject, roles, teams=(), ttl_s=8 * 3600):
        """An HS256 JWT for the sample tenant, signed with the local key."""
        now = int(time.time())
        claims = {"iss": "sotto-local", "aud": "sotto", "sub": subject,
                  "tenant": TENANT, "roles": list(roles), "teams": list(teams),
                  "iat": now, "exp": now + ttl_s}
        head = _b64url(json.dumps({"alg": "HS256", "typ": "JWT"}).encode())
        body = _b64url(json.dumps(claims).encode())
        signature = hmac.new(self.secret, ("%s.%s" % (head, body)).encode(),
                             hashlib.sha256).digest()
        return "%s.%s.%s" % (head, body, _b64url(signature))

    def _store_flag(self, name):
        if self.store == "sqlite":
            return "sqlite:" + os.path.join(self.var, name, name + ".db")
        return self.store

    def _start(self, name, args, detach):
        ready = os.path.join(self.var, "run", name + ".json")
        if os.path.exists(ready):
            os.remove(ready)
        if self.fixed_ports:
            grpc_port, metrics_port = FIXED_PORTS[name]
        else:
            grpc_port, metrics_port = 0, 0
        command = [runfile(BINARIES[name]),
                   "--grpc_address=127.0.0.1:%d" % grpc_port,
                   "--metrics_address=127.0.0.1:%d" % metrics_port,
                   "--ready_file=" + ready] + args
        log = open(os.path.join(self.var, "logs", name + ".log"), "ab")
        process = subprocess.Popen(command, stdout=log, stderr=log,
                                   stdin=subprocess.DEVNULL, cwd=self.var,
                                   start_new_session=detach)
        log.close()
        self.processes[name] = process
        deadline = time.monotonic() + 30
        while True:
            if process.poll() is not None:
                raise RuntimeError(
                    "sotto-%s exited with %d before it was ready; see %s" %
                    (name, process.returncode,
                     os.path.join(self.var, "logs", name + ".log")))
            if os.path.exists(ready):
                try:
                    with open(ready) as f:
                        info = json.load(f)
                    break
                except ValueError:
                    pass  # being written
            if time.monotonic() > deadline:
                raise RuntimeError("sotto-%s not ready after 30 s" % name)
            time.sleep(0.05)
        self.ports[name] = (info["grpc_port"], info["metrics_port"])
        self.log("  %-9s gRPC 127.0.0.1:%d  metrics http://127.0.0.1:%d/metrics"
                 % (name, info["grpc_port"], info["metrics_port"]))

    def address(self, name):
        return "127.0.0.1:%d" % self.ports[name][0]

    def start(self, detach=False):
        policy_path = self._prepare()
        self._start("policy", ["--policy_file=" + policy_path], detach)
        policy = "--policy_address=" + self.address("policy")
        self._start("reporting", [policy, "--store=" +
                                  self._store_flag("reporting")], detach)
        self._start("recorder", [
            policy, "--store=" + self._store_flag("recorder"),
            "--storage_root=" + os.path.join(self.var, "recordings")], detach)
        self._start("broker", [
            policy, "--store=" + self._store_flag("broker"),
            "--recorder_address=" + self.address("recorder"),
            "--reporting_address=" + self.address("reporting")], detach)
        self._start("media", [
            "--broker_address=" + self.address("broker"),
            "--engine_id=media-local", "--media_bind_ip=127.0.0.1",
            "--media_ip=127.0.0.1",
            # A local stack: stopping it ends live calls after 3 s rather
            # than the production hour of draining.
            "--drain_deadline=3s"], detach)
        with open(os.path.join(self.var, "run", "stack.json"), "w") as f:
            json.dump({name: {"pid": p.pid, "grpc": self.ports[name][0],
                              "metrics": self.ports[name][1]}
                       for name, p in self.processes.items()}, f, indent=1)
        return self

    def stop(self):
        """SIGTERM in reverse order (each drains), SIGKILL after 10 s."""
        for name in reversed(SERVICES):
            process = self.processes.get(name)
            if process is None or process.poll() is not None:
                continue
            process.send_signal(signal.SIGTERM)
            try:
                process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
        self.processes.clear()


def stop_recorded(var_dir):
    """Stops a stack `./dev up` left running (var/run/stack.json)."""
    path = os.path.join(os.path.abspath(var_dir), "run", "stack.json")
    if not os.path.exists(path):
        return []
    with open(path) as f:
        recorded = json.load(f)
    # SIGTERM to all at once (each drains on its own), then wait for all.
    running = {}
    for name in reversed(SERVICES):
        pid = recorded.get(name, {}).get("pid")
        if not pid:
            continue
        try:
            os.kill(pid, signal.SIGTERM)
            running[name] = pid
        except ProcessLookupError:
            continue
    stopped = list(running)
    deadline = time.monotonic() + 10
    while running and time.monotonic() < deadline:
        for name, pid in list(running.items()):
            try:
                os.kill(pid, 0)
            except ProcessLookupError:
                del running[name]
        time.sleep(0.05)
    for name, pid in running.items():  # did not stop within 10 s
        try:
            os.kill(pid, signal.SIGKILL)
            stopped[stopped.index(name)] = name + " (killed after 10 s)"
        except ProcessLookupError:
            pass
    os.remove(path)
    return stopped
