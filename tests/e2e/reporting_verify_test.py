"""The audit-chain verify command of sotto-reporting, black-box: events
ingested over gRPC, the service stopped, then

  sotto-reporting --verify_audit_chain --tenant=acme --store=sqlite:FILE

exits 0 on the intact chain; after one stored event is changed in the
SQLite file (as an attacker with file access would), it exits non-zero and
names the first broken link (sequence and event id).

Argument: the sotto-reporting binary.
"""

import os
import signal
import sqlite3
import subprocess
import sys
import unittest

import service_harness as harness
from sotto.v1 import events_pb2
from sotto.v1 import reporting_pb2
from sotto.v1 import reporting_pb2_grpc

REPORTING = None  # Set from argv in __main__.


class VerifyCommandTest(unittest.TestCase):

    def setUp(self):
        self.store = os.path.join(harness.test_tmpdir("reporting"), "r.db")

    def verify(self, *extra):
        return subprocess.run(
            [os.path.abspath(REPORTING), "--verify_audit_chain",
             "--store=sqlite:" + self.store] + list(extra),
            capture_output=True, text=True, timeout=30,
            env=harness.child_environment())

    def ingest(self, count):
        service = harness.ServiceProcess(
            REPORTING, ["--store=sqlite:" + self.store], name="reporting")
        self.addCleanup(service.close)
        service.wait_ready()
        request = reporting_pb2.IngestEventsRequest()
        for i in range(count):
            event = request.events.add(
                event_id="event-%d" % i, tenant="acme",
                type=events_pb2.EVENT_TYPE_ACCESS_GRANTED, source="broker",
                actor="lead-1", action="calls.supervise",
                call="tenants/acme/calls/c-%d" % i)
            event.time.FromSeconds(1767600000 + i)
        with service.channel() as channel:
            response = reporting_pb2_grpc.ReportingStub(channel).IngestEvents(
                request, timeout=10)
        self.assertEqual(response.accepted, count)
        service.process.send_signal(signal.SIGTERM)
        self.assertEqual(service.wait_exit(30), 0)

    def test_an_intact_chain_verifies_and_a_changed_event_is_named(self):
        self.ingest(5)
        intact = self.verify("--tenant=acme")
        self.assertEqual(intact.returncode, 0, intact.stdout + intact.stderr)
        self.assertIn("intact: 5 records checked", intact.stdout)

        with sqlite3.connect(self.store) as db:
            (payload,) = db.execute(
                "SELECT payload FROM reporting_events "
                "WHERE tenant = 'acme' AND sequence = 3").fetchone()
            event = events_pb2.Event.FromString(payload)
            event.actor = "someone-else"
            db.execute("UPDATE reporting_events SET payload = ? "
                       "WHERE tenant = 'acme' AND sequence = 3",
                       (event.SerializeToString(),))
        broken = self.verify("--tenant=acme")
        self.assertNotEqual(broken.returncode, 0)
        self.assertIn("BROKEN at sequence 3 (event event-2)", broken.stdout)

    def test_a_record_removed_from_the_end_is_named(self):
        self.ingest(4)
        with sqlite3.connect(self.store) as db:
            db.execute("DELETE FROM reporting_events "
                       "WHERE tenant = 'acme' AND sequence = 4")
        broken = self.verify("--tenant=acme")
        self.assertNotEqual(broken.returncode, 0)
        self.assertIn("BROKEN at sequence 4", broken.stdout)

    def test_the_tenant_is_required(self):
        result = self.verify()
        self.assertNotEqual(result.returncode, 0)
        self.assertIn("--tenant", result.stderr)


if __name__ == "__main__":
    REPORTING = sys.argv.pop(1)
    unittest.main()
