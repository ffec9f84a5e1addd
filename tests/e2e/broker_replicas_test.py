"""Two sotto-broker replicas on one real PostgreSQL, one real sotto-media,
a real sotto-policy; the client is Python grpcio as an integrator writes it.

  The media engine registers with replica 1 only; replica 2 learns of it
  through the shared store and places a call on it.
  A watcher on replica 1 sees a SetSupervisionMode made on replica 2, and
  the audio follows the mode (plain-RTP sockets sending constant samples).
  Replica 1 answers GetCall with what replica 2 wrote.

Needs SOTTO_TEST_PG_DSN (`./dev test` starts a throwaway server); the test
makes its own database on that server and drops it afterwards.
Arguments: the broker, media and policy binaries and the example policy.
"""

import os
import shutil
import subprocess
import sys
import time
import unittest

import grpc

import broker_supervision_test as flow
import media_engine_test as media
import service_harness as harness
from sotto.v1 import broker_pb2
from sotto.v1 import broker_pb2_grpc
from sotto.v1 import common_pb2
from sotto.v1 import events_pb2

RPC_TIMEOUT = 10
CALL = "tenants/acme/calls/replica-call-1"


def psql(dsn, sql):
    subprocess.run(["psql", dsn, "-v", "ON_ERROR_STOP=1", "-q", "-c", sql],
                   check=True, capture_output=True, env=harness.child_environment())


class BrokerReplicasTest(unittest.TestCase):

    def setUp(self):
        dsn = os.environ.get("SOTTO_TEST_PG_DSN", "")
        if not dsn:
            self.fail("SOTTO_TEST_PG_DSN is not set: run ./dev test, or "
                      "tools/pg_test_server.sh with --test_env")
        database = "broker_replicas_%d" % os.getpid()
        psql(dsn, "DROP DATABASE IF EXISTS %s" % database)
        psql(dsn, "CREATE DATABASE %s" % database)
        self.addCleanup(psql, dsn, "DROP DATABASE IF EXISTS %s WITH (FORCE)"
                        % database)
        store = dsn.rsplit("/", 1)[0] + "/" + database

        doc_dir = harness.test_tmpdir("policy-doc")
        policy_path = os.path.join(doc_dir, "policy.yaml")
        shutil.copyfile(harness.runfile(flow.EXAMPLE), policy_path)
        with open(os.path.join(doc_dir, "jwt-hs256.key"), "wb") as f:
            f.write(flow.SECRET + b"\n")
        policy = self.start(flow.POLICY, ["--policy_file=" + policy_path],
                            "policy")
        args = ["--policy_address=" + policy.grpc_target, "--store=" + store,
                "--engine_lease=10s"]
        self.replica1 = self.start(flow.BROKER, args, "broker-1")
        self.replica2 = self.start(flow.BROKER, args, "broker-2")
        self.start(flow.MEDIA,
                   ["--broker_address=" + self.replica1.grpc_target,
                    "--engine_id=media-replicas", "--media_bind_ip=127.0.0.1",
                    "--media_ip=127.0.0.1", "--workers=1"], "media")
        self.stubs = []
        for replica in (self.replica1, self.replica2):
            channel = replica.channel()
            self.addCleanup(channel.close)
            self.stubs.append((broker_pb2_grpc.BrokerStub(channel),
                               broker_pb2_grpc.EngineRegistryStub(channel)))
        self.integrator = flow.make_token("pbx-1", ["integrator"])
        self.lead = flow.make_token("lead-1", ["team_lead"], ["team-a"])
        self.sockets = {}
        for leg in ("customer", "agent", "supervisor"):
            sock = media.udp_socket()
            self.addCleanup(sock.close)
            self.sockets[leg] = sock

    def start(self, binary, args, name):
        process = harness.ServiceProcess(binary, args, name=name)
        self.addCleanup(process.close)
        return process.wait_ready()

    def engine_known(self, registry):
        def healthy():
            engines = registry.ListEngines(broker_pb2.ListEnginesRequest(),
                                           timeout=RPC_TIMEOUT).engines
            return [e for e in engines if e.engine_id == "media-replicas" and
                    e.state == broker_pb2.Engine.HEALTHY]
        harness.wait_until(healthy, 15, interval=0.1,
                           what="the engine is known to the replica")

    def hears(self, leg, expected, wait=3.0):
        sock = self.sockets[leg]
        media.drain_socket(sock)
        deadline = time.monotonic() + wait
        while time.monotonic() < deadline:
            _, _, samples = media.receive(sock, 1)[0]
            if samples == [expected] * media.SAMPLES_PER_FRAME:
                return
        self.fail("%s never heard %d" % (leg, expected))

    def test_watcher_on_one_replica_sees_a_mode_set_on_the_other(self):
        (broker1, registry1), (broker2, registry2) = self.stubs
        self.engine_known(registry1)
        self.engine_known(registry2)  # through the shared store only
        call = broker2.RegisterCall(
            broker_pb2.RegisterCallRequest(
                parent="tenants/acme", call_id="replica-call-1", queue="sales",
                customer=broker_pb2.LegSpec(
                    media=flow.plain_offer(self.sockets["customer"])),
                agent=broker_pb2.LegSpec(
                    user_id="a-1", team="team-a",
                    media=flow.plain_offer(self.sockets["agent"])),
                monitoring_disclosed=True, request_id="register-1"),
            metadata=flow.auth(self.integrator), timeout=RPC_TIMEOUT)
        self.assertEqual(call.media_engine, "media-replicas")
        ports = {p.name.split("/")[-1]: p.media.local_rtp.port
                 for p in call.participants}
        senders = media.PacedSender([
            media.RtpStream(self.sockets["customer"],
                            (media.LOOPBACK, ports["customer"]),
                            flow.CUSTOMER_VALUE, 0x11111111),
            media.RtpStream(self.sockets["agent"],
                            (media.LOOPBACK, ports["agent-1"]),
                            flow.AGENT_VALUE, 0x22222222),
        ]).start()
        self.addCleanup(senders.stop)

        watch = broker1.WatchCall(broker_pb2.WatchCallRequest(name=CALL),
                                  metadata=flow.auth(self.lead), timeout=60)
        self.addCleanup(watch.cancel)
        self.assertEqual(next(watch).call.name, CALL)  # the snapshot

        supervision = broker2.CreateSupervision(
            broker_pb2.CreateSupervisionRequest(
                parent=CALL, mode=common_pb2.MODE_LISTEN,
                media=flow.plain_offer(self.sockets["supervisor"]),
                request_id="supervise-1"),
            metadata=flow.auth(self.lead), timeout=RPC_TIMEOUT)
        supervisor_sender = media.PacedSender([
            media.RtpStream(self.sockets["supervisor"],
                            (media.LOOPBACK, supervision.media.local_rtp.port),
                            flow.SUPERVISOR_VALUE, 0x33333333),
        ]).start()
        self.addCleanup(supervisor_sender.stop)
        started = time.monotonic()
        broker2.SetSupervisionMode(
            broker_pb2.SetSupervisionModeRequest(
                name=supervision.name, mode=common_pb2.MODE_WHISPER,
                request_id="mode-1"),
            metadata=flow.auth(self.lead), timeout=RPC_TIMEOUT)
        self.hears("agent", media.g711(flow.C + flow.S))
        self.hears("customer", flow.A)

        seen = []
        for event in watch:
            seen.append(event.event.type)
            if (event.event.type ==
                    events_pb2.EVENT_TYPE_SUPERVISION_MODE_CHANGED):
                self.assertEqual(event.event.mode, common_pb2.MODE_WHISPER)
                self.assertEqual(event.call.supervisions[0].mode,
                                 common_pb2.MODE_WHISPER)
                break
        self.assertIn(events_pb2.EVENT_TYPE_SUPERVISION_STARTED, seen)
        # Polled every 250 ms across replicas: well under the deadline.
        self.assertLess(time.monotonic() - started, 5.0)
        on_replica1 = broker1.GetCall(broker_pb2.GetCallRequest(name=CALL),
                                      metadata=flow.auth(self.lead),
                                      timeout=RPC_TIMEOUT)
        self.assertEqual(on_replica1.supervisions[0].mode,
                         common_pb2.MODE_WHISPER)
        for sender in (senders, supervisor_sender):
            sender.stop()
            self.assertIsNone(sender.error)


if __name__ == "__main__":
    flow.BROKER, flow.MEDIA, flow.POLICY, flow.EXAMPLE = sys.argv[1:5]
    del sys.argv[1:5]
    unittest.main()
