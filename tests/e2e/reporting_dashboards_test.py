"""End to end: a real call through sotto-broker, sotto-policy and
sotto-media, its events delivered by the broker's outbox forwarder
(--reporting_address) to sotto-reporting, and a real Prometheus (Debian's
`prometheus`) scraping all four services every second. Then every PromQL
expression of every Grafana dashboard panel is evaluated through
Prometheus' HTTP API: each must succeed and return at least one series.

Along the way the reports are checked against what the call did (one
supervision, listen -> whisper -> barge, a QA analyst's barge refused) and
the audit chain verifies.

Who plays which part: the test is the integrator (RegisterCall, EndCall,
ReportOutcome), the team lead and the QA analyst (tokens signed here), the
phones (plain-RTP sockets), and the sender of per-leg media quality
summaries (IngestMediaQuality, with the figures the engine's GetStats gives).

Arguments: the broker, media, policy and reporting binaries, the example
policy document, then the dashboard files.
"""

import json
import os
import shutil
import socket
import subprocess
import sys
import time
import unittest
import urllib.parse
import urllib.request

import grpc

import broker_supervision_test as flow
import dashboard_exprs
import media_engine_test as media
import service_harness as harness
from sotto.v1 import broker_pb2
from sotto.v1 import broker_pb2_grpc
from sotto.v1 import common_pb2
from sotto.v1 import events_pb2
from sotto.v1 import media_pb2
from sotto.v1 import media_pb2_grpc
from sotto.v1 import reporting_pb2
from sotto.v1 import reporting_pb2_grpc

BROKER = MEDIA = POLICY = REPORTING = EXAMPLE = None  # Set in __main__.
DASHBOARDS = []
RPC_TIMEOUT = 10
CALL = "tenants/acme/calls/e2e-call-1"
# Template variable values: concrete, so the filters are exercised.
VALUES = {"tenant": "acme", "team": "team-a", "queue": "sales", "job": ".*",
          "datasource": "prometheus"}


def free_tcp_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Prometheus:
    """A throwaway Prometheus scraping `jobs` ({name: metrics port})."""

    def __init__(self, jobs):
        self.dir = harness.test_tmpdir("prometheus")
        self.config = os.path.join(self.dir, "prometheus.yml")
        lines = ["global:", "  scrape_interval: 1s",
                 "  evaluation_interval: 1s", "scrape_configs:"]
        for job, port in sorted(jobs.items()):
            lines += ["  - job_name: %s" % job,
                      "    static_configs:",
                      "      - targets: ['127.0.0.1:%d']" % port]
        with open(self.config, "w") as f:
            f.write("\n".join(lines) + "\n")
        check = subprocess.run(["promtool", "check", "config", self.config],
                               capture_output=True, text=True)
        assert check.returncode == 0, check.stdout + check.stderr
        self.port = free_tcp_port()
        self.log = open(os.path.join(self.dir, "prometheus.log"), "wb")
        self.process = subprocess.Popen(
            ["prometheus", "--config.file=" + self.config,
             "--storage.tsdb.path=" + os.path.join(self.dir, "data"),
             "--web.listen-address=127.0.0.1:%d" % self.port,
             "--log.level=warn"],
            stdout=self.log, stderr=self.log, stdin=subprocess.DEVNULL)
        self.jobs = set(jobs)

    def _get(self, path, timeout=5):
        with urllib.request.urlopen("http://127.0.0.1:%d%s" %
                                    (self.port, path), timeout=timeout) as r:
            return r.read()

    def wait_ready(self):
        def ready():
            if self.process.poll() is not None:
                raise AssertionError("prometheus exited:\n" + self.log_text())
            try:
                return self._get("/-/ready", timeout=1) is not None
            except OSError:
                return False
        harness.wait_until(ready, 30, interval=0.1, what="prometheus ready")

        def all_up():
            targets = json.loads(self._get("/api/v1/targets"))
            up = {t["labels"]["job"] for t in
                  targets["data"]["activeTargets"] if t["health"] == "up"}
            return up == self.jobs
        harness.wait_until(all_up, 30, interval=0.2,
                           what="every scrape target up")

    def query(self, expr):
        """The result vector; raises if Prometheus refuses the query."""
        body = self._get("/api/v1/query?" +
                         urllib.parse.urlencode({"query": expr}))
        answer = json.loads(body)
        if answer.get("status") != "success":
            raise AssertionError("%s: %s" % (expr, answer))
        return answer["data"]["result"]

    def wait_for(self, expr, what, timeout=20):
        return harness.wait_until(lambda: self.query(expr), timeout,
                                  interval=0.2, what=what)

    def log_text(self):
        self.log.flush()
        with open(self.log.name, encoding="utf-8", errors="replace") as f:
            return f.read()

    def close(self):
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        self.log.close()


class ReportingDashboardsTest(unittest.TestCase):

    def setUp(self):
        doc_dir = harness.test_tmpdir("policy-doc")
        policy_path = os.path.join(doc_dir, "policy.yaml")
        shutil.copyfile(harness.runfile(EXAMPLE), policy_path)
        with open(os.path.join(doc_dir, "jwt-hs256.key"), "wb") as f:
            f.write(flow.SECRET + b"\n")
        self.policy = self.start(POLICY, ["--policy_file=" + policy_path],
                                 "policy")
        reporting_dir = harness.test_tmpdir("reporting-store")
        self.reporting_store = os.path.join(reporting_dir, "reporting.db")
        self.reporting = self.start(
            REPORTING, ["--policy_address=" + self.policy.grpc_target,
                        "--store=sqlite:" + self.reporting_store,
                        "--metrics_refresh=200ms"], "reporting")
        broker_dir = harness.test_tmpdir("broker-store")
        self.broker = self.start(
            BROKER, ["--policy_address=" + self.policy.grpc_target,
                     "--reporting_address=" + self.reporting.grpc_target,
                     "--store=sqlite:" + os.path.join(broker_dir, "b.db"),
                     "--engine_lease=10s"], "broker")
        self.media = self.start(
            MEDIA, ["--broker_address=" + self.broker.grpc_target,
                    "--engine_id=media-e2e", "--media_bind_ip=127.0.0.1",
                    "--media_ip=127.0.0.1", "--workers=2"], "media")
        self.prometheus = Prometheus({
            "broker": self.broker.metrics_port,
            "policy": self.policy.metrics_port,
            "media": self.media.metrics_port,
            "reporting": self.reporting.metrics_port})
        self.addCleanup(self.prometheus.close)
        self.prometheus.wait_ready()
        for name, process in (("broker", self.broker),
                              ("reporting", self.reporting),
                              ("media", self.media)):
            channel = process.channel()
            self.addCleanup(channel.close)
            setattr(self, name + "_channel", channel)
        self.stub = broker_pb2_grpc.BrokerStub(self.broker_channel)
        self.registry = broker_pb2_grpc.EngineRegistryStub(
            self.broker_channel)
        self.reports = reporting_pb2_grpc.ReportingStub(
            self.reporting_channel)
        self.engine = media_pb2_grpc.MediaEngineStub(self.media_channel)
        self.integrator = flow.make_token("pbx-1", ["integrator"])
        self.lead = flow.make_token("lead-1", ["team_lead"], ["team-a"])
        self.qa = flow.make_token("qa-1", ["qa_analyst"])
        self.sockets = {}
        for leg in ("customer", "agent", "supervisor"):
            sock = media.udp_socket()
            self.addCleanup(sock.close)
            self.sockets[leg] = sock

    def start(self, binary, args, name):
        process = harness.ServiceProcess(binary, args, name=name)
        self.addCleanup(process.close)
        return process.wait_ready()

    def wait_active(self, mode):
        """Prometheus has scraped one active supervision in `mode`."""
        self.prometheus.wait_for(
            'max(sotto_reporting_active_supervisions{tenant="acme",'
            'team="team-a",queue="sales",mode="%s"}) == 1' % mode,
            "an active %s supervision in Prometheus" % mode)

    def set_mode(self, name, mode, request_id, token):
        return self.stub.SetSupervisionMode(
            broker_pb2.SetSupervisionModeRequest(name=name, mode=mode,
                                                 request_id=request_id),
            metadata=flow.auth(token), timeout=RPC_TIMEOUT)

    def run_call(self):
        """Registers a call, supervises it listen -> whisper -> barge (a QA
        analyst's barge is refused), ends it; returns the legs' quality."""
        harness.wait_until(
            lambda: [e for e in self.registry.ListEngines(
                broker_pb2.ListEnginesRequest(), timeout=RPC_TIMEOUT).engines
                if e.state == broker_pb2.Engine.HEALTHY],
            10, interval=0.1, what="the engine registered")
        call = self.stub.RegisterCall(
            broker_pb2.RegisterCallRequest(
                parent="tenants/acme", call_id="e2e-call-1", queue="sales",
                customer=broker_pb2.LegSpec(
                    media=flow.plain_offer(self.sockets["customer"])),
                agent=broker_pb2.LegSpec(
                    user_id="a-1", team="team-a",
                    media=flow.plain_offer(self.sockets["agent"])),
                monitoring_disclosed=True, request_id="register-1"),
            metadata=flow.auth(self.integrator), timeout=RPC_TIMEOUT)
        ports = {p.name.split("/")[-1]: p.media.local_rtp.port
                 for p in call.participants}
        sender = media.PacedSender([
            media.RtpStream(self.sockets["customer"],
                            (media.LOOPBACK, ports["customer"]), 1000,
                            0x11111111),
            media.RtpStream(self.sockets["agent"],
                            (media.LOOPBACK, ports["agent-1"]), 2000,
                            0x22222222)]).start()
        self.addCleanup(sender.stop)

        supervision = self.stub.CreateSupervision(
            broker_pb2.CreateSupervisionRequest(
                parent=CALL, mode=common_pb2.MODE_LISTEN,
                media=flow.plain_offer(self.sockets["supervisor"]),
                request_id="supervise-1"),
            metadata=flow.auth(self.lead), timeout=RPC_TIMEOUT)
        self.wait_active("listen")
        self.set_mode(supervision.name, common_pb2.MODE_WHISPER, "mode-1",
                      self.lead)
        self.wait_active("whisper")
        with self.assertRaises(grpc.RpcError) as denied:
            self.stub.CreateSupervision(
                broker_pb2.CreateSupervisionRequest(
                    parent=CALL, mode=common_pb2.MODE_BARGE,
                    media=flow.plain_offer(self.sockets["supervisor"]),
                    request_id="qa-barge"),
                metadata=flow.auth(self.qa), timeout=RPC_TIMEOUT)
        self.assertEqual(denied.exception.code(),
                         grpc.StatusCode.PERMISSION_DENIED)
        self.set_mode(supervision.name, common_pb2.MODE_BARGE, "mode-2",
                      self.lead)
        self.wait_active("barge")

        # The legs' quality as the engine measured it, before they go.
        stats = self.engine.GetStats(media_pb2.GetStatsRequest(),
                                     timeout=RPC_TIMEOUT)
        legs = {leg: quality for room in stats.rooms
                for leg, quality in room.legs.items()}
        self.assertGreaterEqual(len(legs), 3, stats)
        self.stub.EndCall(
            broker_pb2.EndCallRequest(name=CALL, reason="hung up",
                                      request_id="end-1"),
            metadata=flow.auth(self.integrator), timeout=RPC_TIMEOUT)
        sender.stop()
        return legs

    def report_outcome_and_quality(self, legs):
        outcome = reporting_pb2.CallOutcome(
            queue="sales", team="team-a", agent_id="a-1",
            first_contact_resolution=True, csat=4, qa_score=88.5,
            compliance_errors=1)
        outcome.handle_time.seconds = 240
        request = reporting_pb2.ReportOutcomeRequest(
            call=CALL, outcome=outcome, request_id="outcome-1")
        for _ in range(2):  # a retry changes nothing
            stored = self.reports.ReportOutcome(
                request, metadata=flow.auth(self.integrator),
                timeout=RPC_TIMEOUT)
            self.assertEqual(stored.call, CALL)
        for leg, quality in sorted(legs.items()):
            self.reports.IngestMediaQuality(
                reporting_pb2.IngestMediaQualityRequest(
                    tenant="acme", call=CALL, leg=leg,
                    engine_id="media-e2e", quality=quality,
                    request_id="quality-" + leg),
                timeout=RPC_TIMEOUT)

    def audit_events(self):
        records, token = [], ""
        while True:
            page = self.reports.ListAuditRecords(
                reporting_pb2.ListAuditRecordsRequest(
                    parent="tenants/acme", page_size=500, page_token=token),
                metadata=flow.auth(self.qa), timeout=RPC_TIMEOUT)
            records.extend(page.records)
            token = page.next_page_token
            if not token:
                return records

    def check_reports(self):
        # The forwarder delivers asynchronously: wait for the call's end.
        harness.wait_until(
            lambda: any(r.event.type == events_pb2.EVENT_TYPE_CALL_ENDED
                        for r in self.audit_events()),
            20, interval=0.2, what="the broker's events in reporting")
        records = self.audit_events()
        types = [r.event.type for r in records]
        self.assertEqual(types.count(events_pb2.EVENT_TYPE_CALL_ENDED), 1)
        self.assertIn(events_pb2.EVENT_TYPE_ACCESS_DENIED, types)
        self.assertEqual([r.sequence for r in records],
                         list(range(1, len(records) + 1)))
        scope = reporting_pb2.ReportScope(parent="tenants/acme")
        scope.time_range.start_time.FromSeconds(int(time.time()) - 3600)
        report = self.reports.GetSupervisionActivityReport(
            reporting_pb2.SupervisionActivityReportRequest(
                scope=scope, group_by=reporting_pb2.GROUP_BY_SUPERVISOR),
            metadata=flow.auth(self.qa), timeout=RPC_TIMEOUT)
        self.assertEqual([r.key for r in report.rows], ["lead-1"])
        row = report.rows[0]
        self.assertEqual((row.calls, row.supervised_calls, row.sessions,
                          row.mode_switches), (1, 1, 1, 2))
        self.assertEqual(row.barge_rate, 1.0)
        for mode in ("MODE_LISTEN", "MODE_WHISPER", "MODE_BARGE"):
            self.assertEqual(row.sessions_by_mode[mode], 1)
            self.assertGreater(row.seconds_by_mode[mode], 0)
        coaching = self.reports.GetCoachingEffectivenessReport(
            reporting_pb2.CoachingEffectivenessReportRequest(
                scope=scope, group_by=reporting_pb2.GROUP_BY_TEAM),
            metadata=flow.auth(self.qa), timeout=RPC_TIMEOUT)
        self.assertEqual(coaching.rows[0].key, "team-a")
        self.assertEqual(coaching.rows[0].coached.calls, 1)
        self.assertEqual(coaching.rows[0].coached.mean_csat, 4)
        verified = self.reports.VerifyAuditChain(
            reporting_pb2.VerifyAuditChainRequest(tenant="acme"),
            metadata=flow.auth(self.qa), timeout=RPC_TIMEOUT)
        self.assertTrue(verified.intact, verified.detail)
        self.assertEqual(verified.records_checked, len(records))

    def test_every_dashboard_expression_returns_data(self):
        legs = self.run_call()
        self.report_outcome_and_quality(legs)
        self.check_reports()
        # Every expression of every panel, polled until Prometheus has
        # scraped enough (rates need two samples), then required non-empty.
        pending = []
        for path in DASHBOARDS:
            dashboard = dashboard_exprs.load(harness.runfile(path))
            for title, ref, expr in dashboard_exprs.targets(dashboard):
                pending.append(("%s / %s / %s" % (dashboard["title"], title,
                                                  ref),
                                dashboard_exprs.substitute(expr, VALUES)))
        self.assertGreater(len(pending), 40)
        deadline = time.monotonic() + 30
        while pending and time.monotonic() < deadline:
            pending = [(name, q) for name, q in pending
                       if not self.prometheus.query(q)]
            if pending:
                time.sleep(0.5)  # the next scrape is 1 s away at most
        self.assertEqual(pending, [],
                         "expressions without a series after 30 s")


if __name__ == "__main__":
    BROKER, MEDIA, POLICY, REPORTING, EXAMPLE = sys.argv[1:6]
    DASHBOARDS = [a for a in sys.argv[6:] if a.endswith(".json")]
    del sys.argv[1:6 + len(DASHBOARDS)]
    unittest.main()
