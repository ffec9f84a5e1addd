"""A media engine drains without dropping its calls, as a rolling upgrade
(charts/sotto: preStop SIGTERM, long grace period) needs: a real
sotto-policy, sotto-broker (a short --engine_lease) and sotto-media
registered with it. After SIGTERM the broker lists the engine as DRAINING
at once and for many leases (never DEAD, which would fail its calls), the
live call stays ACTIVE with its audio flowing, no new call is placed on the
engine, and when the call ends the engine exits 0.

Arguments: the broker, media and policy binaries and the example policy.
"""

import signal
import sys
import time
import unittest

import grpc

import broker_supervision_test as flow
import media_engine_test as media
import service_harness as harness
from sotto.v1 import broker_pb2

LEASE_S = 2


class MediaDrainTest(flow.BrokerSupervisionTest):
    # The fixture's own tests run in broker_supervision_test, not here.
    test_supervision_flow_through_the_audio = None
    test_broker_kill_restart_keeps_audio_then_transfer_and_watch = None

    def setUp(self):
        super().setUp()
        # The fixture's broker and engine, restarted with a short lease and
        # a drain long enough to outlast it many times.
        self.media.close()
        self.broker.close()
        self.broker_args = [a for a in self.broker_args
                            if not a.startswith("--engine_lease=")]
        self.broker = self.start(
            flow.BROKER, self.broker_args + ["--engine_lease=%ds" % LEASE_S],
            "broker-short-lease")
        self.media = self.start(
            flow.MEDIA, ["--broker_address=" + self.broker.grpc_target,
                         "--engine_id=media-e2e", "--media_bind_ip=127.0.0.1",
                         "--media_ip=127.0.0.1", "--workers=2",
                         "--drain_deadline=120s"], "media-draining")
        channel = self.broker.channel()
        self.addCleanup(channel.close)
        self.stub = flow.broker_pb2_grpc.BrokerStub(channel)
        self.registry = flow.broker_pb2_grpc.EngineRegistryStub(channel)

    def engine_state(self):
        engines = self.registry.ListEngines(broker_pb2.ListEnginesRequest(),
                                            timeout=flow.RPC_TIMEOUT).engines
        states = [e.state for e in engines if e.engine_id == "media-e2e"]
        return states[0] if states else None

    def register(self, call_id, customer, agent):
        return self.stub.RegisterCall(
            broker_pb2.RegisterCallRequest(
                parent="tenants/acme", call_id=call_id, queue="sales",
                customer=broker_pb2.LegSpec(media=flow.plain_offer(customer)),
                agent=broker_pb2.LegSpec(user_id="a-1", team="team-a",
                                         media=flow.plain_offer(agent)),
                monitoring_disclosed=True, request_id="register-" + call_id),
            metadata=flow.auth(self.integrator), timeout=flow.RPC_TIMEOUT)

    def test_draining_engine_keeps_its_calls_for_many_leases(self):
        self.wait_for_engine()
        call = self.register("e2e-call-1", self.sockets["customer"],
                             self.sockets["agent"])
        self.assertEqual(call.media_engine, "media-e2e")
        ports = {p.name.split("/")[-1]: p.media.local_rtp.port
                 for p in call.participants}
        sender = media.PacedSender([
            media.RtpStream(self.sockets["customer"],
                            (media.LOOPBACK, ports["customer"]),
                            flow.CUSTOMER_VALUE, 0x11111111),
            media.RtpStream(self.sockets["agent"],
                            (media.LOOPBACK, ports["agent-1"]),
                            flow.AGENT_VALUE, 0x22222222),
        ]).start()
        self.addCleanup(sender.stop)
        self.assert_hears("customer", flow.A)

        self.media.process.send_signal(signal.SIGTERM)
        # The broker learns at once (not after a heartbeat interval).
        harness.wait_until(
            lambda: self.engine_state() == broker_pb2.Engine.DRAINING,
            LEASE_S, interval=0.05, what="the broker listing the engine as draining")

        # Many leases later the engine is still draining, not dead, and the
        # call is still live with its audio.
        deadline = time.monotonic() + 4 * LEASE_S
        while time.monotonic() < deadline:
            self.assertEqual(self.engine_state(), broker_pb2.Engine.DRAINING)
            time.sleep(0.25)
        got = self.stub.GetCall(broker_pb2.GetCallRequest(name=flow.CALL),
                                metadata=flow.auth(self.integrator),
                                timeout=flow.RPC_TIMEOUT)
        self.assertEqual(got.state, broker_pb2.Call.ACTIVE)
        self.assert_hears("customer", flow.A)
        self.assert_hears("agent", flow.C)

        # No new call goes to the draining engine (it is the only one).
        with self.assertRaises(grpc.RpcError) as refused:
            self.register("e2e-call-2", self.sockets["supervisor"],
                          self.sockets["agent2"])
        self.assertNotEqual(refused.exception.code(), grpc.StatusCode.OK)

        # The call ends; the engine has nothing left and exits cleanly.
        self.stub.EndCall(broker_pb2.EndCallRequest(name=flow.CALL,
                                                    request_id="end-1"),
                          metadata=flow.auth(self.integrator),
                          timeout=flow.RPC_TIMEOUT)
        self.assertEqual(self.media.wait_exit(30), 0, self.media.log_text())


if __name__ == "__main__":
    (flow.BROKER, flow.MEDIA, flow.POLICY, flow.EXAMPLE) = sys.argv[1:5]
    unittest.main(argv=sys.argv[:1])
