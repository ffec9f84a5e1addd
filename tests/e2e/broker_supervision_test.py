"""Black-box test of the supervision flow through sotto-broker's public API,
against a real sotto-policy (the shipped example document, a fresh HS256
key) and a real sotto-media that registers itself with the broker
(--broker_address). Arguments: the broker, media and policy binaries and the
example policy document.

The client is Python grpcio with stubs generated from protos/, as an
integrator would write it; tokens are made here with the standard library.
The customer, agent and supervisor are plain-RTP Python sockets sending
constant samples, so what each one hears is exact:

  LISTEN   customer hears exactly the agent; agent exactly the customer;
           the supervisor hears both
  WHISPER  customer still hears exactly the agent; the agent hears the
           customer and the supervisor
  BARGE    every customer frame after SetSupervisionMode returned carries
           agent + supervisor
  a qa_analyst asking for BARGE gets PERMISSION_DENIED; no token is
  UNAUTHENTICATED; another tenant's token sees NOT_FOUND; EndCall leaves
  the engine with no rooms (GetEngineInfo on the engine's own port).
"""

import os
import sys
import time
import unittest

import grpc

import media_engine_test as media
import service_harness as harness
from sotto.v1 import broker_pb2
from sotto.v1 import broker_pb2_grpc
from sotto.v1 import common_pb2
from sotto.v1 import events_pb2
from sotto.v1 import media_pb2
from sotto.v1 import media_pb2_grpc

BROKER = MEDIA = POLICY = EXAMPLE = None  # Set from argv in __main__.
SECRET = b"broker-e2e-secret-0123456789-abcdefghijklmnop"
RPC_TIMEOUT = 10
CALL = "tenants/acme/calls/e2e-call-1"

CUSTOMER_VALUE, AGENT_VALUE, SUPERVISOR_VALUE = 1000, 2000, 300
C = media.g711(CUSTOMER_VALUE)
A = media.g711(AGENT_VALUE)
S = media.g711(SUPERVISOR_VALUE)


def make_token(subject, roles, teams=(), tenant="acme"):
    return harness.make_token(SECRET, subject, roles, teams, tenant)


def auth(token):
    return [("authorization", "Bearer " + token)]


def plain_offer(sock):
    return common_pb2.MediaOffer(
        remote_rtp=common_pb2.Endpoint(address=media.LOOPBACK,
                                       port=sock.getsockname()[1]),
        codec=common_pb2.CODEC_PCMU,
        remote_key=common_pb2.SrtpKey(suite=media.PLAIN))


class BrokerSupervisionTest(unittest.TestCase):

    def setUp(self):
        self.policy = self.start(
            POLICY, harness.example_policy_args(EXAMPLE, SECRET), "policy")
        store_dir = harness.test_tmpdir("broker-store")
        self.broker_args = [
            "--policy_address=" + self.policy.grpc_target,
            "--store=sqlite:" + os.path.join(store_dir, "broker.db"),
            "--engine_lease=10s"]
        self.broker = self.start(BROKER, self.broker_args, "broker")
        self.media = self.start(
            MEDIA, ["--broker_address=" + self.broker.grpc_target,
                    "--engine_id=media-e2e", "--media_bind_ip=127.0.0.1",
                    "--media_ip=127.0.0.1", "--workers=2"], "media")
        channel = self.broker.channel()
        self.addCleanup(channel.close)
        self.stub = broker_pb2_grpc.BrokerStub(channel)
        self.registry = broker_pb2_grpc.EngineRegistryStub(channel)
        media_channel = self.media.channel()
        self.addCleanup(media_channel.close)
        self.engine = media_pb2_grpc.MediaEngineStub(media_channel)
        self.integrator = make_token("pbx-1", ["integrator"])
        self.lead = make_token("lead-1", ["team_lead"], ["team-a"])
        self.qa = make_token("qa-1", ["qa_analyst"])
        self.sockets = {}
        for leg in ("customer", "agent", "supervisor", "agent2"):
            sock = media.udp_socket()
            self.addCleanup(sock.close)
            self.sockets[leg] = sock

    def start(self, binary, args, name):
        process = harness.ServiceProcess(binary, args, name=name)
        self.addCleanup(process.close)
        return process.wait_ready()

    def wait_for_engine(self):
        def healthy():
            try:
                engines = self.registry.ListEngines(
                    broker_pb2.ListEnginesRequest(),
                    timeout=RPC_TIMEOUT).engines
            except grpc.RpcError as error:
                # A restarted broker: the channel reconnects.
                if error.code() != grpc.StatusCode.UNAVAILABLE:
                    raise
                return None
            return [e for e in engines if e.engine_id == "media-e2e" and
                    e.state == broker_pb2.Engine.HEALTHY]
        engine = harness.wait_until(healthy, 10, interval=0.1,
                                    what="the engine registered")[0]
        self.assertEqual(engine.control_address, self.media.grpc_target)

    def assert_code(self, code, call, *args, **kwargs):
        with self.assertRaises(grpc.RpcError) as raised:
            call(*args, timeout=RPC_TIMEOUT, **kwargs)
        self.assertEqual(raised.exception.code(), code,
                         raised.exception.details())
        return raised.exception.details() or ""

    def expect_cue(self, leg, expected, most_frames):
        """The party hears a cue (a tone on top of `expected`: samples on
        both sides of it) for at most `most_frames` frames, then `expected`
        again. Returns how many frames carried the tone."""
        sock = self.sockets[leg]
        toned = 0
        plain_run = 0
        deadline = time.monotonic() + 5
        while plain_run < 10:
            self.assertLess(time.monotonic(), deadline,
                            "%s: the cue never ended" % leg)
            _, _, samples = media.receive(sock, 1)[0]
            if max(samples) > expected and min(samples) < expected:
                toned += 1
                plain_run = 0
            else:
                plain_run += 1 if toned else 0
        self.assertLessEqual(toned, most_frames, leg)
        return toned

    def assert_hears(self, leg, expected, frames=50, wait=3.0):
        """The first packet of exactly `expected` comes within `wait`; the
        next `frames` consecutive packets are exactly that too, but for at
        most a tenth concealed (faded) by the jitter buffer."""
        sock = self.sockets[leg]
        media.drain_socket(sock)
        deadline = time.monotonic() + wait
        while True:
            if time.monotonic() > deadline:
                self.fail("%s never heard %d" % (leg, expected))
            _, _, samples = media.receive(sock, 1)[0]
            if samples == [expected] * media.SAMPLES_PER_FRAME:
                break
        faded = 0
        for _, _, samples in media.receive(sock, frames):
            if set(samples) == {expected}:
                continue
            # A packet the Python sender sent late is concealed by the
            # engine's jitter buffer: a faded copy of what the party
            # hears, never louder and never of another sign (which is what
            # hearing someone else would sound like).
            self.assertTrue(
                all(0 <= v * expected and abs(v) < abs(expected)
                    for v in samples),
                "%s heard %s, expected only %d" %
                (leg, sorted(set(samples)), expected))
            faded += 1
        self.assertLessEqual(faded, frames // 10,
                             "%s: %d of %d frames concealed" %
                             (leg, faded, frames))

    def set_mode(self, name, mode, request_id, token=None,
                 timeout=RPC_TIMEOUT):
        return self.stub.SetSupervisionMode(
            broker_pb2.SetSupervisionModeRequest(name=name, mode=mode,
                                                 request_id=request_id),
            metadata=auth(token or self.lead), timeout=timeout)

    def test_supervision_flow_through_the_audio(self):
        self.wait_for_engine()
        registration = broker_pb2.RegisterCallRequest(
            parent="tenants/acme", call_id="e2e-call-1", queue="sales",
            customer=broker_pb2.LegSpec(
                media=plain_offer(self.sockets["customer"])),
            agent=broker_pb2.LegSpec(
                user_id="a-1", team="team-a",
                media=plain_offer(self.sockets["agent"])),
            monitoring_disclosed=True, request_id="register-1")
        self.assert_code(grpc.StatusCode.UNAUTHENTICATED,
                         self.stub.RegisterCall, registration)
        # A key the engine cannot use is named as the caller sent it, and
        # leaves no call behind.
        bad_key = broker_pb2.RegisterCallRequest()
        bad_key.CopyFrom(registration)
        bad_key.request_id = "register-bad-key"
        bad_key.agent.media.remote_key.CopyFrom(common_pb2.SrtpKey(
            suite=common_pb2.CRYPTO_SUITE_AES_CM_128_HMAC_SHA1_80,
            inline_key="not base64!"))
        with self.assertRaises(grpc.RpcError) as refused:
            self.stub.RegisterCall(bad_key, metadata=auth(self.integrator),
                                   timeout=RPC_TIMEOUT)
        self.assertEqual(refused.exception.code(),
                         grpc.StatusCode.INVALID_ARGUMENT)
        self.assertIn("agent.media.remote_key.inline_key",
                      refused.exception.details())
        self.assertNotIn("offer.", refused.exception.details())
        call = self.stub.RegisterCall(registration,
                                      metadata=auth(self.integrator),
                                      timeout=RPC_TIMEOUT)
        self.assertEqual(call.name, CALL)
        self.assertEqual(call.media_engine, "media-e2e")
        self.assertEqual(call.state, broker_pb2.Call.ACTIVE)
        ports = {p.name.split("/")[-1]: p.media.local_rtp.port
                 for p in call.participants}
        self.assertEqual(sorted(ports), ["agent-1", "customer"])
        # A retry answers the same call and places nothing new.
        retry = self.stub.RegisterCall(registration,
                                       metadata=auth(self.integrator),
                                       timeout=RPC_TIMEOUT)
        self.assertEqual(retry, call)

        def to(port):
            return (media.LOOPBACK, port)

        call_sender = media.PacedSender([
            media.RtpStream(self.sockets["customer"], to(ports["customer"]),
                            CUSTOMER_VALUE, 0x11111111),
            media.RtpStream(self.sockets["agent"], to(ports["agent-1"]),
                            AGENT_VALUE, 0x22222222),
        ]).start()
        self.addCleanup(call_sender.stop)
        self.assert_hears("customer", A)
        self.assert_hears("agent", C)

        # The lead attaches in LISTEN with its own leg.
        supervision = self.stub.CreateSupervision(
            broker_pb2.CreateSupervisionRequest(
                parent=CALL, mode=common_pb2.MODE_LISTEN,
                media=plain_offer(self.sockets["supervisor"]),
                request_id="supervise-1"),
            metadata=auth(self.lead), timeout=RPC_TIMEOUT)
        self.assertEqual(supervision.supervisor, "lead-1")
        self.assertEqual(supervision.state, broker_pb2.Supervision.ACTIVE)
        self.assertEqual(supervision.media.local_key.suite, media.PLAIN)
        supervisor_sender = media.PacedSender([
            media.RtpStream(self.sockets["supervisor"],
                            to(supervision.media.local_rtp.port),
                            SUPERVISOR_VALUE, 0x33333333),
        ]).start()
        self.addCleanup(supervisor_sender.stop)
        self.assert_hears("supervisor", media.g711(C + A))
        self.assert_hears("customer", A)
        self.assert_hears("agent", C)

        # GetCall shows who hears whom.
        seen = self.stub.GetCall(broker_pb2.GetCallRequest(name=CALL),
                                 metadata=auth(self.lead),
                                 timeout=RPC_TIMEOUT)
        routes = {(e.source, e.sink) for e in seen.routing.entries}
        self.assertEqual(routes, {("customer", "agent-1"),
                                  ("agent-1", "customer"),
                                  ("customer", "supervisor-1"),
                                  ("agent-1", "supervisor-1")})
        # The lead sees its own key, never the integrator's legs' keys.
        keys = {p.name.split("/")[-1]: p.media.HasField("local_key")
                for p in seen.participants}
        self.assertEqual(keys, {"customer": False, "agent-1": False,
                                "supervisor-1": True})
        # Nor their SDP, whose a=crypto line would carry the key.
        sdp_keys = {p.name.split("/")[-1]: bool(p.media.sdp)
                    for p in seen.participants}
        self.assertEqual(sdp_keys, {"customer": False, "agent-1": False,
                                    "supervisor-1": True})

        # WHISPER: the customer still hears exactly the agent.
        media.drain_socket(self.sockets["agent"])
        media.drain_socket(self.sockets["customer"])
        whisper = self.set_mode(supervision.name, common_pb2.MODE_WHISPER,
                                "mode-1")
        self.assertEqual(whisper.mode, common_pb2.MODE_WHISPER)
        # The agent alone hears the whisper cue (two 120 ms beeps, policy
        # whisper_cue_tone), on top of the call.
        self.assertGreaterEqual(
            self.expect_cue("agent", media.g711(C + S), most_frames=16), 6)
        for _, _, samples in media.receive(self.sockets["customer"], 25):
            self.assertFalse(max(samples) > A and min(samples) < A,
                             "the customer heard the whisper cue")
        self.assert_hears("customer", A)
        self.assert_hears("agent", media.g711(C + S))
        self.assert_hears("supervisor", media.g711(C + A))

        # A QA analyst may only listen: BARGE is refused.
        details = self.assert_code(
            grpc.StatusCode.PERMISSION_DENIED, self.stub.CreateSupervision,
            broker_pb2.CreateSupervisionRequest(
                parent=CALL, mode=common_pb2.MODE_BARGE,
                media=plain_offer(self.sockets["supervisor"]),
                request_id="qa-barge"),
            metadata=auth(self.qa))
        self.assertIn("BARGE", details)
        self.assert_code(grpc.StatusCode.PERMISSION_DENIED, self.set_mode,
                         supervision.name, common_pb2.MODE_BARGE, "qa-mode",
                         token=self.qa)
        # Another tenant cannot see the call at all.
        outsider = make_token("g-1", ["supervisor"], ["team-a"],
                              tenant="globex")
        self.assert_code(grpc.StatusCode.NOT_FOUND, self.stub.GetCall,
                         broker_pb2.GetCallRequest(name=CALL),
                         metadata=auth(outsider))

        # BARGE: from the moment SetSupervisionMode returns, every customer
        # frame carries the supervisor.
        barge = self.set_mode(supervision.name, common_pb2.MODE_BARGE,
                              "mode-2")
        self.assertEqual(barge.mode, common_pb2.MODE_BARGE)
        media.drain_socket(self.sockets["customer"])
        # The customer hears the monitoring notice (policy
        # customer_announcement: three 200 ms beeps), and from the first
        # frame on, the supervisor.
        expected = media.g711(A + S)
        concealed = toned = 0
        for _, _, samples in media.receive(self.sockets["customer"], 50):
            self.assertNotEqual(set(samples), {A},
                                "a customer frame after SetSupervisionMode "
                                "(BARGE) returned lacks the supervisor")
            if max(samples) > expected and min(samples) < expected:
                toned += 1
            elif set(samples) != {expected}:
                concealed += 1  # a late packet, faded by the jitter buffer
        self.assertGreaterEqual(toned, 20, "the notice was not played")
        self.assertLessEqual(toned, 45)
        self.assertLessEqual(concealed, 2)

        ended = self.stub.EndCall(
            broker_pb2.EndCallRequest(name=CALL, reason="customer hung up",
                                      request_id="end-1"),
            metadata=auth(self.integrator), timeout=RPC_TIMEOUT)
        self.assertEqual(ended.state, broker_pb2.Call.ENDED)
        self.assertEqual(ended.supervisions[0].state,
                         broker_pb2.Supervision.DETACHED)
        info = self.engine.GetEngineInfo(media_pb2.GetEngineInfoRequest(),
                                         timeout=RPC_TIMEOUT)
        self.assertEqual((info.active_rooms, info.active_legs), (0, 0))
        call_sender.stop()
        supervisor_sender.stop()
        self.assertIsNone(call_sender.error)
        self.assertIsNone(supervisor_sender.error)
        # No token ever reaches a log.
        for process in (self.broker, self.policy, self.media):
            log = process.log_text()
            for token in (self.integrator, self.lead, self.qa):
                self.assertNotIn(token.split(".")[2], log)

    def register_call(self, request_id="register-1"):
        return self.stub.RegisterCall(
            broker_pb2.RegisterCallRequest(
                parent="tenants/acme", call_id="e2e-call-1", queue="sales",
                customer=broker_pb2.LegSpec(
                    media=plain_offer(self.sockets["customer"])),
                agent=broker_pb2.LegSpec(
                    user_id="a-1", team="team-a",
                    media=plain_offer(self.sockets["agent"])),
                monitoring_disclosed=True, request_id=request_id),
            metadata=auth(self.integrator), timeout=RPC_TIMEOUT)

    def test_broker_kill_restart_keeps_audio_then_transfer_and_watch(self):
        """kill -9 of the broker mid-call: the audio goes on; a new broker
        on the same store and port takes over (the engine re-registers,
        the call is reconciled), supervision and transfer work, and a
        watcher sees the changes."""
        self.wait_for_engine()
        call = self.register_call()
        ports = {p.name.split("/")[-1]: p.media.local_rtp.port
                 for p in call.participants}

        def to(port):
            return (media.LOOPBACK, port)

        senders = media.PacedSender([
            media.RtpStream(self.sockets["customer"], to(ports["customer"]),
                            CUSTOMER_VALUE, 0x11111111),
            media.RtpStream(self.sockets["agent"], to(ports["agent-1"]),
                            AGENT_VALUE, 0x22222222),
        ]).start()
        self.addCleanup(senders.stop)
        supervision = self.stub.CreateSupervision(
            broker_pb2.CreateSupervisionRequest(
                parent=CALL, mode=common_pb2.MODE_WHISPER,
                media=plain_offer(self.sockets["supervisor"]),
                request_id="supervise-1"),
            metadata=auth(self.lead), timeout=RPC_TIMEOUT)
        supervisor_sender = media.PacedSender([
            media.RtpStream(self.sockets["supervisor"],
                            to(supervision.media.local_rtp.port),
                            SUPERVISOR_VALUE, 0x33333333),
        ]).start()
        self.addCleanup(supervisor_sender.stop)
        self.expect_cue("agent", media.g711(C + S), most_frames=16)
        self.assert_hears("agent", media.g711(C + S))

        port = self.broker.grpc_port
        self.broker.process.kill()  # SIGKILL: no drain, no goodbye
        self.broker.process.wait()
        # Nobody is in charge, and every party still hears what it did.
        self.assert_hears("customer", A)
        self.assert_hears("agent", media.g711(C + S))
        self.assert_hears("supervisor", media.g711(C + A))

        self.broker = self.start(
            BROKER, self.broker_args + ["--grpc_address=127.0.0.1:%d" % port],
            "broker-restarted")
        self.wait_for_engine()  # its heartbeat was refused: it re-registered
        seen = self.stub.GetCall(broker_pb2.GetCallRequest(name=CALL),
                                 metadata=auth(self.lead),
                                 timeout=RPC_TIMEOUT)
        self.assertEqual(seen.state, broker_pb2.Call.ACTIVE)
        self.assertEqual(seen.supervisions[0].mode, common_pb2.MODE_WHISPER)

        # A watcher on the new broker sees what follows.
        watch = self.stub.WatchCall(broker_pb2.WatchCallRequest(name=CALL),
                                    metadata=auth(self.lead), timeout=60)
        self.addCleanup(watch.cancel)
        snapshot = next(watch)
        self.assertEqual(snapshot.event.type, 0)
        self.assertEqual(snapshot.call.name, CALL)

        media.drain_socket(self.sockets["customer"])
        barge = self.set_mode(supervision.name, common_pb2.MODE_BARGE,
                              "mode-after-restart")
        self.assertEqual(barge.mode, common_pb2.MODE_BARGE)
        # The new broker plays the monitoring notice too.
        self.assertGreaterEqual(
            self.expect_cue("customer", media.g711(A + S), most_frames=45),
            20)
        self.assert_hears("customer", media.g711(A + S))

        # Transfer to a second agent of the same team: the lead stays, in
        # BARGE; the customer hears the new agent, not the old one.
        new_agent_value = 2500
        transferred = self.stub.TransferCall(
            broker_pb2.TransferCallRequest(
                name=CALL, reason="escalation", request_id="transfer-1",
                new_agent=broker_pb2.LegSpec(
                    user_id="a-2", team="team-a",
                    media=plain_offer(self.sockets["agent2"]))),
            metadata=auth(self.integrator), timeout=RPC_TIMEOUT)
        outcomes = transferred.supervision_outcomes
        self.assertEqual(len(outcomes), 1)
        self.assertEqual(
            outcomes[0].outcome,
            broker_pb2.TransferCallResponse.SupervisionOutcome.KEPT)
        new_port = [p.media.local_rtp.port
                    for p in transferred.call.participants
                    if p.name.endswith("/agent-2")][0]
        agent2_sender = media.PacedSender([
            media.RtpStream(self.sockets["agent2"], to(new_port),
                            new_agent_value, 0x44444444),
        ]).start()
        self.addCleanup(agent2_sender.stop)
        self.assert_hears("customer",
                          media.g711(media.g711(new_agent_value) + S))
        self.assert_hears("agent2", media.g711(C + S))

        types = []
        for event in watch:
            types.append(event.event.type)
            if event.event.type == events_pb2.EVENT_TYPE_CALL_TRANSFERRED:
                self.assertEqual(event.event.previous_agent_id, "a-1")
                self.assertEqual(event.event.agent_id, "a-2")
                break
        self.assertIn(events_pb2.EVENT_TYPE_SUPERVISION_MODE_CHANGED, types)
        for event in [snapshot]:
            for participant in event.call.participants:
                self.assertFalse(participant.media.HasField("local_key"))
        for sender in (senders, supervisor_sender, agent2_sender):
            sender.stop()
            self.assertIsNone(sender.error)


if __name__ == "__main__":
    BROKER, MEDIA, POLICY, EXAMPLE = sys.argv[1:5]
    del sys.argv[1:5]
    unittest.main()
