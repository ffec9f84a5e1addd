"""Black-box tests of sotto-media (given as the first argument) through its
gRPC control API, real UDP and independent peers.

  SrtpPeerTest     ffmpeg (its own SRTP, not libsrtp) sends speech into the
                   customer leg and receives the agent leg's mix; the audio
                   heard must correlate with the speech sent (> 0.9).
  PrivacyTest      plain-RTP legs driven by Python sockets with constant
                   samples: WHISPER never leaks the supervisor to the
                   customer, BARGE applies from the first frame after
                   SetRouting returns, a foreign sender is dropped and
                   counted; /metrics of the running engine pass promtool;
                   a 3 000-packet foreign spray is counted by reason in
                   /metrics and logged at most once per 10 s.
  ControlApiTest   status codes and messages of the control API; bad keys
                   never appear in answers or logs.
  DrainTest        SIGTERM keeps live calls mixing until they end (or until
                   the drain deadline), refuses new rooms, then exits 0; the
                   Drain RPC's deadline ends the rooms on time and leaves the
                   process serving.

The remaining arguments select test classes or methods (unittest syntax),
so that each Bazel target runs one class and stays well under a minute.
"""

import array
import base64
import os
import re
import signal
import socket
import struct
import subprocess
import sys
import threading
import time
import unittest
import wave

import grpc
from google.protobuf import duration_pb2

import service_harness as harness
from sotto.v1 import common_pb2
from sotto.v1 import media_pb2
from sotto.v1 import media_pb2_grpc

BINARY = None  # Set from argv in __main__.

LOOPBACK = "127.0.0.1"
RPC_TIMEOUT = 5
SAMPLES_PER_FRAME = 160  # 20 ms at 8 kHz
FRAME_SECONDS = 0.02

SUITE_80 = common_pb2.CRYPTO_SUITE_AES_CM_128_HMAC_SHA1_80
SUITE_32 = common_pb2.CRYPTO_SUITE_AES_CM_128_HMAC_SHA1_32
PLAIN = common_pb2.CRYPTO_SUITE_PLAIN_RTP
SUITE_NAMES = {
    SUITE_80: "AES_CM_128_HMAC_SHA1_80",
    SUITE_32: "AES_CM_128_HMAC_SHA1_32",
}

# --------------------------------------------------------------------------
# G.711 mu-law, written from the G.711 segment algorithm (16-bit input
# rounded to 14 bits, as sox and the engine do).

_ULAW_SEGMENT_END = (0x3F, 0x7F, 0xFF, 0x1FF, 0x3FF, 0x7FF, 0xFFF, 0x1FFF)


def ulaw_encode(sample):
    s = (sample + 2) >> 2  # 16 -> 14 bits, rounded
    s = min(s, 8191)
    mask = 0xFF
    if s < 0:
        s = -s
        mask = 0x7F
    s = min(s, 8159) + 33
    segment = 0
    while segment < 8 and s > _ULAW_SEGMENT_END[segment]:
        segment += 1
    if segment >= 8:
        return 0x7F ^ mask
    return ((segment << 4) | ((s >> (segment + 1)) & 0x0F)) ^ mask


def ulaw_decode(code):
    inverted = ~code & 0xFF
    t = (((inverted & 0x0F) << 3) + 0x84) << ((inverted & 0x70) >> 4)
    return (0x84 - t) if inverted & 0x80 else (t - 0x84)


def g711(sample):
    """What a sample becomes after one mu-law encode/decode."""
    return ulaw_decode(ulaw_encode(sample))


# --------------------------------------------------------------------------
# RTP on plain sockets.


def rtp_packet(sequence, timestamp, ssrc, payload, payload_type=0):
    return struct.pack("!BBHII", 0x80, payload_type & 0x7F,
                       sequence & 0xFFFF, timestamp & 0xFFFFFFFF,
                       ssrc) + payload


def is_rtcp(data):
    """RTCP on a muxed port (RFC 5761: packet types 192-223)."""
    return len(data) >= 2 and 192 <= data[1] <= 223


def parse_rtp(data):
    """(sequence, payload_type, decoded samples) of a plain RTP packet."""
    if len(data) < 12 or data[0] >> 6 != 2 or is_rtcp(data):
        raise AssertionError("not RTP: %r" % data[:16])
    offset = 12 + 4 * (data[0] & 0x0F)
    if data[0] & 0x10:
        (words,) = struct.unpack_from("!H", data, offset + 2)
        offset += 4 + 4 * words
    end = len(data)
    if data[0] & 0x20:
        end -= data[-1]
    sequence = struct.unpack_from("!H", data, 2)[0]
    return sequence, data[1] & 0x7F, [ulaw_decode(b) for b in data[offset:end]]


def udp_socket(port=0):
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    sock.bind((LOOPBACK, port))
    return sock


def free_port_pair():
    """An even UDP port whose successor is free too (RTP + RTCP for ffmpeg).

    Probed by binding; ffmpeg binds them moments later.
    """
    for _ in range(200):
        with udp_socket() as first:
            port = first.getsockname()[1]
            if port % 2 or port >= 65535:
                continue
            try:
                with udp_socket(port + 1):
                    pass
            except OSError:
                continue
        return port
    raise AssertionError("no free UDP port pair")


class RtpStream:
    """One plain-RTP sender: constant sample value, its own SSRC/sequence."""

    def __init__(self, sock, destination, value, ssrc):
        self.sock = sock
        self.destination = destination
        self.payload = bytes([ulaw_encode(value)]) * SAMPLES_PER_FRAME
        self.ssrc = ssrc
        self.sequence = ssrc & 0x7FFF
        self.timestamp = ssrc * 7

    def send_one(self):
        self.sock.sendto(
            rtp_packet(self.sequence, self.timestamp, self.ssrc,
                       self.payload), self.destination)
        self.sequence += 1
        self.timestamp += SAMPLES_PER_FRAME


class PacedSender:
    """Sends one packet per stream every 20 ms on an absolute schedule."""

    def __init__(self, streams):
        self.streams = streams
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self.error = None

    def start(self):
        self._thread.start()
        return self

    def _run(self):
        start = time.monotonic()
        frame = 0
        try:
            while not self._stop.is_set():
                for stream in self.streams:
                    stream.send_one()
                frame += 1
                delay = start + frame * FRAME_SECONDS - time.monotonic()
                if delay > 0:
                    self._stop.wait(delay)
        except OSError as error:  # e.g. the socket closed under us
            self.error = error

    def stop(self):
        self._stop.set()
        self._thread.join(timeout=5)


def drain_socket(sock):
    """Discards every datagram already queued on `sock`; returns them."""
    sock.setblocking(False)
    drained = []
    try:
        while True:
            drained.append(sock.recv(2048))
    except BlockingIOError:
        pass
    finally:
        sock.setblocking(True)
    return drained


def receive(sock, count, timeout=2.0):
    """The next `count` RTP packets on `sock`, parsed (RTCP skipped); each
    within `timeout`."""
    packets = []
    sock.settimeout(timeout)
    try:
        while len(packets) < count:
            data = sock.recv(2048)
            if not is_rtcp(data):
                packets.append(parse_rtp(data))
    except socket.timeout:
        raise AssertionError("only %d of %d packets arrived on port %d" %
                             (len(packets), count, sock.getsockname()[1]))
    finally:
        sock.settimeout(None)
    return packets


# --------------------------------------------------------------------------
# The engine and its API.


class Engine:
    """A running sotto-media on loopback with a MediaEngine stub."""

    def __init__(self, test, *extra_args):
        self.process = harness.ServiceProcess(
            BINARY, ["--media_bind_ip=127.0.0.1", "--media_ip=127.0.0.1",
                     "--workers=2"] + list(extra_args),
            name=test.id().split(".")[-1])
        test.addCleanup(self.process.close)
        self.process.wait_ready()
        self.channel = self.process.channel()
        test.addCleanup(self.channel.close)
        self.stub = media_pb2_grpc.MediaEngineStub(self.channel)
        self._request = 0

    def request_id(self):
        self._request += 1
        return "req-%d" % self._request

    def add_leg(self, room, leg, remote_port, suite=PLAIN, key="",
                codec=common_pb2.CODEC_PCMU, **fields):
        # Fields of the offer (payload types, ptime) may be given too.
        offer_fields = {name: fields.pop(name) for name in list(fields)
                        if name in common_pb2.MediaOffer.DESCRIPTOR.fields_by_name}
        offer = common_pb2.MediaOffer(
            remote_rtp=common_pb2.Endpoint(address=LOOPBACK,
                                           port=remote_port),
            codec=codec,
            remote_key=common_pb2.SrtpKey(suite=suite, inline_key=key),
            **offer_fields)
        request_id = fields.pop("request_id", None)
        return self.stub.AddLeg(media_pb2.AddLegRequest(
            room_id=room, leg_id=leg, offer=offer,
            request_id=self.request_id() if request_id is None else request_id,
            **fields), timeout=RPC_TIMEOUT)

    def set_routing(self, room, gains):
        """gains: {(source, sink): gain}."""
        return self.stub.SetRouting(media_pb2.SetRoutingRequest(
            room_id=room,
            entries=[media_pb2.RoutingEntry(source_leg_id=source,
                                            sink_leg_id=sink, gain=gain)
                     for (source, sink), gain in sorted(gains.items())],
            request_id=self.request_id()), timeout=RPC_TIMEOUT)

    def leg_stats(self, room):
        answer = self.stub.GetStats(media_pb2.GetStatsRequest(room_id=room),
                                    timeout=RPC_TIMEOUT)
        matching = [r for r in answer.rooms if r.room_id == room]
        assert len(matching) == 1, answer
        return matching[0].legs

    def delete_room(self, room):
        return self.stub.DeleteRoom(media_pb2.DeleteRoomRequest(
            room_id=room, request_id=self.request_id()), timeout=RPC_TIMEOUT)


def local_port(leg):
    return leg.answer.local_rtp.port


def random_key():
    return base64.b64encode(os.urandom(30)).decode("ascii")


# Routing matrices per docs/design.md for customer, agent, one supervisor.
BASE_CALL = {("customer", "agent"): 1.0, ("agent", "customer"): 1.0}
WHISPER = {
    **BASE_CALL,
    ("customer", "supervisor"): 1.0,
    ("agent", "supervisor"): 1.0,
    ("supervisor", "agent"): 1.0,
}
BARGE = {**WHISPER, ("supervisor", "customer"): 1.0}


# --------------------------------------------------------------------------
# Audio helpers for the SRTP test (stdlib only).


def read_wav(path):
    with wave.open(path, "rb") as w:
        if (w.getnchannels(), w.getsampwidth(), w.getframerate()) != (1, 2,
                                                                     8000):
            raise AssertionError("%s is not 8 kHz 16-bit mono: %s" %
                                 (path, w.getparams()))
        samples = array.array("h", w.readframes(w.getnframes()))
    if sys.byteorder != "little":
        samples.byteswap()
    return samples


def onset(samples, fraction=0.05):
    """Index of the first sample above `fraction` of the peak."""
    peak = max(abs(s) for s in samples)
    if peak == 0:
        return None
    threshold = peak * fraction
    return next(i for i, s in enumerate(samples) if abs(s) > threshold)


def _correlation(reference, heard, start):
    window = heard[start:start + len(reference)]
    dot = sum(map(float.__mul__, reference, window))
    energy = (sum(map(float.__mul__, reference, reference)) *
              sum(map(float.__mul__, window, window)))
    return dot / energy**0.5 if energy > 0 else 0.0


def best_correlation(reference, heard, anchor, max_lag):
    """Normalised cross-correlation of `reference` with `heard` starting
    at anchor + lag, best over |lag| <= max_lag samples: coarse on a 2 kHz
    decimation, then sample-exact around the coarse best.
    Returns (correlation, start index in heard)."""
    reference = [float(s) for s in reference]
    heard = [float(s) for s in heard]

    def decimate(x):
        return [(x[i] + x[i + 1] + x[i + 2] + x[i + 3]) / 4.0
                for i in range(0, len(x) - 3, 4)]

    coarse_reference = decimate(reference)
    coarse_heard = decimate(heard)
    best = (-2.0, anchor)
    for lag in range(-max_lag // 4, max_lag // 4 + 1):
        start = anchor // 4 + lag
        if start < 0 or start + len(coarse_reference) > len(coarse_heard):
            continue
        value = _correlation(coarse_reference, coarse_heard, start)
        if value > best[0]:
            best = (value, start * 4)
    fine = (-2.0, best[1])
    for start in range(best[1] - 8, best[1] + 9):
        if start < 0 or start + len(reference) > len(heard):
            continue
        value = _correlation(reference, heard, start)
        if value > fine[0]:
            fine = (value, start)
    return fine


SPEECH_TEXT = ("Thank you for calling Sotto support. My name is Alex. "
               "Please tell me your account number.")


def make_speech(directory):
    raw = os.path.join(directory, "espeak.wav")
    speech = os.path.join(directory, "speech.wav")
    subprocess.run(["espeak-ng", "-v", "en-us", "-w", raw, SPEECH_TEXT],
                   check=True, timeout=30, capture_output=True)
    subprocess.run(["sox", raw, "-r", "8000", "-c", "1", "-b", "16", speech],
                   check=True, timeout=30, capture_output=True)
    return speech


class SrtpPeerTest(unittest.TestCase):
    """ffmpeg's own SRTP on both sides of the engine."""

    @classmethod
    def setUpClass(cls):
        cls.dir = harness.test_tmpdir("speech")
        cls.speech_path = make_speech(cls.dir)
        # Relative to cls.dir (ffmpeg's working directory): no escaping in
        # the filter graph.
        cls.speech_name = os.path.basename(cls.speech_path)
        cls.speech = read_wav(cls.speech_path)
        assert 4.0 < len(cls.speech) / 8000 < 8.0, len(cls.speech)

    def start_ffmpeg(self, args, name):
        log = open(os.path.join(self.dir, name + ".log"), "wb")
        self.addCleanup(log.close)
        process = subprocess.Popen(
            ["ffmpeg", "-nostdin", "-hide_banner", "-loglevel", "warning"] +
            args, stdout=log, stderr=log, stdin=subprocess.DEVNULL,
            cwd=self.dir)

        def stop():
            if process.poll() is None:
                process.kill()
                process.wait()

        self.addCleanup(stop)
        return process

    def ffmpeg_log(self, name):
        with open(os.path.join(self.dir, name + ".log"), errors="replace") as f:
            return f.read()

    def run_call(self, suite):
        name = SUITE_NAMES[suite]
        engine = Engine(self)
        room = "srtp-" + name
        sender_port = free_port_pair()
        receiver_port = free_port_pair()
        customer_key = random_key()
        customer = engine.add_leg(room, "customer", sender_port, suite,
                                  customer_key)
        agent = engine.add_leg(room, "agent", receiver_port, suite,
                               random_key())
        for leg in (customer, agent):
            self.assertEqual(leg.answer.local_key.suite, suite)
            key = leg.answer.local_key.inline_key
            self.assertEqual(len(base64.b64decode(key, validate=True)), 30)
            self.assertIn("m=audio %d RTP/SAVP 0" % local_port(leg),
                          leg.answer.sdp)
            self.assertIn("a=crypto:1 %s inline:%s" % (name, key),
                          leg.answer.sdp)
        self.assertNotEqual(customer.answer.local_key.inline_key,
                            agent.answer.local_key.inline_key)
        engine.set_routing(room, BASE_CALL)

        # ffmpeg #2 hears the agent leg: the engine's key for that leg.
        heard_path = os.path.join(self.dir, "heard-%s.wav" % name)
        sdp_path = os.path.join(self.dir, "agent-%s.sdp" % name)
        with open(sdp_path, "w") as f:
            f.write("v=0\no=- 0 0 IN IP4 127.0.0.1\ns=agent\n"
                    "c=IN IP4 127.0.0.1\nt=0 0\n"
                    "m=audio %d RTP/SAVP 0\na=rtpmap:0 PCMU/8000\n"
                    "a=crypto:1 %s inline:%s\n" %
                    (receiver_port, name, agent.answer.local_key.inline_key))
        receiver = self.start_ffmpeg(
            ["-protocol_whitelist", "file,udp,rtp,srtp,crypto", "-i", sdp_path,
             "-flush_packets", "1", "-c:a", "pcm_s16le", "-y", heard_path],
            "receiver-" + name)

        def receiving():
            if receiver.poll() is not None:
                raise AssertionError("ffmpeg receiver exited %d:\n%s" %
                                     (receiver.returncode,
                                      self.ffmpeg_log("receiver-" + name)))
            # The engine sends the agent's (silent) mix from the start, so
            # a growing file means ffmpeg decrypts and decodes it.
            return (os.path.exists(heard_path) and
                    os.path.getsize(heard_path) > 4000)

        harness.wait_until(receiving, 15, what="ffmpeg receiving the agent leg")

        # ffmpeg #1 speaks into the customer leg with the test's key. The
        # speech comes through lavfi in 160-sample frames so that -re paces
        # every 20 ms packet: with `-re -i speech.wav` ffmpeg reads 4 KiB
        # (256 ms) per demuxed packet and sends 13 packets in a burst every
        # 256 ms, more jitter than the engine's jitter buffer takes (200 ms).
        sender = self.start_ffmpeg(
            ["-re", "-f", "lavfi", "-i",
             "amovie=%s,asetnsamples=n=160:p=0" % self.speech_name,
             "-ac", "1", "-ar", "8000", "-c:a", "pcm_mulaw", "-f", "rtp",
             "-srtp_out_suite", name, "-srtp_out_params", customer_key,
             "srtp://127.0.0.1:%d?localrtpport=%d" %
             (local_port(customer), sender_port)], "sender-" + name)
        try:
            self.assertEqual(sender.wait(timeout=30), 0,
                             self.ffmpeg_log("sender-" + name))
        except subprocess.TimeoutExpired:
            self.fail("ffmpeg sender still running after 30 s")

        # Everything sent has been mixed once 0.5 s more audio arrived.
        size_at_end = os.path.getsize(heard_path)
        harness.wait_until(
            lambda: receiving() and
            os.path.getsize(heard_path) >= size_at_end + 8000,
            10, what="the tail of the call at the receiver")
        receiver.send_signal(signal.SIGINT)  # ffmpeg finalises the WAV
        try:
            receiver.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.fail("ffmpeg receiver ignored SIGINT")

        stats = engine.leg_stats(room)
        frames = len(self.speech) // SAMPLES_PER_FRAME
        self.assertGreaterEqual(stats["customer"].packets_received,
                                frames - 2, stats)
        self.assertGreaterEqual(stats["agent"].packets_sent, frames, stats)
        for leg in ("customer", "agent"):
            drops = dict(stats[leg].packets_dropped)
            for reason in ("srtp_auth", "srtp_replay", "srtp_other"):
                self.assertNotIn(reason, drops, (leg, stats[leg]))
        self.assertEqual(stats["customer"].packets_lost, 0, stats)

        heard = read_wav(heard_path)
        reference_start = onset(self.speech)
        heard_start = onset(heard)
        self.assertIsNotNone(heard_start, "the agent heard only silence")
        reference = self.speech[reference_start:]
        correlation, start = best_correlation(reference, heard, heard_start,
                                              max_lag=2000)  # +-250 ms
        print("%s: correlation %.4f, %d packets in, %d out" %
              (name, correlation, stats["customer"].packets_received,
               stats["agent"].packets_sent), file=sys.stderr)
        self.assertGreater(
            correlation, 0.9,
            "heard %.2f s, speech found at %.3f s" % (len(heard) / 8000,
                                                      start / 8000))

    def test_aes_cm_128_hmac_sha1_80(self):
        self.run_call(SUITE_80)

    def test_aes_cm_128_hmac_sha1_32(self):
        self.run_call(SUITE_32)


# --------------------------------------------------------------------------


CUSTOMER_VALUE, AGENT_VALUE, SUPERVISOR_VALUE = 1000, 2000, 300
C, A, S = g711(CUSTOMER_VALUE), g711(AGENT_VALUE), g711(SUPERVISOR_VALUE)


class PrivacyTest(unittest.TestCase):
    """Plain-RTP legs, constant samples: who hears whom, exactly."""

    def setUp(self):
        self.engine = Engine(self)
        self.room = "privacy"
        self.sockets = {}
        self.legs = {}
        for leg in ("customer", "agent", "supervisor"):
            sock = udp_socket()
            self.addCleanup(sock.close)
            self.sockets[leg] = sock
            self.legs[leg] = self.engine.add_leg(self.room, leg,
                                                 sock.getsockname()[1])
            self.assertEqual(self.legs[leg].answer.local_key.suite, PLAIN)
            self.assertIn("RTP/AVP 0", self.legs[leg].answer.sdp)

    def destination(self, leg):
        return (LOOPBACK, local_port(self.legs[leg]))

    def assert_steady(self, leg, expected, frames=50, wait=3.0):
        """Waits for the first packet whose every sample is `expected`; the
        next `frames` packets must be exactly that too, consecutive."""
        sock = self.sockets[leg]
        deadline = time.monotonic() + wait
        while True:
            if time.monotonic() > deadline:
                self.fail("%s never heard %d" % (leg, expected))
            sequence, payload_type, samples = receive(sock, 1)[0]
            if samples == [expected] * SAMPLES_PER_FRAME:
                break
        for next_sequence, payload_type, samples in receive(sock, frames):
            self.assertEqual(payload_type, 0)
            self.assertEqual(next_sequence, (sequence + 1) & 0xFFFF)
            sequence = next_sequence
            self.assertEqual(set(samples), {expected},
                             "%s heard %s, expected only %d" %
                             (leg, sorted(set(samples)), expected))

    def start_senders(self):
        """Each party sends its constant level, paced, until the test ends."""
        sender = PacedSender([
            RtpStream(self.sockets["customer"], self.destination("customer"),
                      CUSTOMER_VALUE, 0x11111111),
            RtpStream(self.sockets["agent"], self.destination("agent"),
                      AGENT_VALUE, 0x22222222),
            RtpStream(self.sockets["supervisor"],
                      self.destination("supervisor"), SUPERVISOR_VALUE,
                      0x33333333),
        ]).start()
        self.addCleanup(sender.stop)
        return sender

    def test_whisper_then_barge_and_foreign_source(self):
        self.assertNotEqual(g711(A + S), A)
        self.assertNotEqual(g711(C + S), C)
        self.assertEqual(g711(A), A)
        self.engine.set_routing(self.room, WHISPER)
        sender = self.start_senders()

        # WHISPER: the customer hears the agent and nothing else, from its
        # first packet on (only silence before the agent's audio arrives).
        first = receive(self.sockets["customer"], 25)
        for _, _, samples in first:
            self.assertLessEqual(set(samples), {0, A},
                                 "the customer heard more than the agent")
        self.assert_steady("customer", A)
        self.assert_steady("agent", g711(C + S))
        self.assert_steady("supervisor", g711(C + A))

        # (5) /metrics of the running engine.
        self.check_metrics()

        # A plain-RTP packet from anywhere but the customer's address is
        # dropped and counted, and nobody hears it.
        with udp_socket() as intruder:
            stream = RtpStream(intruder, self.destination("customer"), 7000,
                               0x44444444)
            drain_socket(self.sockets["agent"])
            for _ in range(5):
                stream.send_one()
            harness.wait_until(
                lambda: self.engine.leg_stats(self.room)["customer"].
                packets_dropped["foreign_source"] >= 5,
                3, what="foreign_source drops")
        self.assertEqual(
            self.engine.leg_stats(
                self.room)["customer"].packets_dropped["foreign_source"], 5)
        for _, _, samples in receive(self.sockets["agent"], 25):
            self.assertEqual(set(samples), {g711(C + S)})

        # BARGE: every customer packet sent after SetRouting returned
        # carries the supervisor too.
        self.engine.set_routing(self.room, BARGE)
        drain_socket(self.sockets["customer"])
        for _, _, samples in receive(self.sockets["customer"], 25):
            self.assertEqual(set(samples), {g711(A + S)},
                             "a customer frame after SetRouting(BARGE) "
                             "lacks the supervisor")
        sender.stop()
        self.assertIsNone(sender.error)

    def test_played_audio_reaches_its_sink_alone_on_top_of_the_mix(self):
        self.engine.set_routing(self.room, WHISPER)
        sender = self.start_senders()
        self.assert_steady("customer", A)
        # One second of a constant level, played to the customer only (as
        # the broker plays an announcement on barge).
        clip = struct.pack("<h", 1500) * 8000
        played = self.engine.stub.PlayAudio(media_pb2.PlayAudioRequest(
            room_id=self.room, sink_leg_ids=["customer"], pcm_s16le_8k=clip,
            request_id="play-1"), timeout=RPC_TIMEOUT)
        drain_socket(self.sockets["agent"])  # from here on, during the clip
        self.assertEqual(played.duration.seconds, 1)
        self.assertNotEqual(g711(A + 1500), A)
        self.assert_steady("customer", g711(A + 1500), frames=30)
        # The agent never hears it (its frames from the clip's first second).
        for _, _, samples in receive(self.sockets["agent"], 25):
            self.assertEqual(set(samples), {g711(C + S)})
        # It ends, and the customer hears the agent alone again.
        self.assert_steady("customer", A, frames=25, wait=3.0)
        sender.stop()
        self.assertIsNone(sender.error)

    def test_hostile_spray_is_counted_by_reason_and_logged_at_a_rate(self):
        started = time.monotonic()
        port = self.engine.process.metrics_port
        spray = 3000

        def leg_drops():
            drops = self.engine.leg_stats(self.room)["customer"].packets_dropped
            return drops["foreign_source"] + drops["rate_limited"]

        with udp_socket() as intruder:
            stream = RtpStream(intruder, self.destination("customer"), 7000,
                               0x44444444)
            # In bursts of 100 that the socket buffer holds, each taken in
            # before the next: a kernel-level drop would make the sum vary.
            for sent in range(100, spray + 1, 100):
                for _ in range(100):
                    stream.send_one()
                harness.wait_until(lambda: leg_drops() >= sent, 5,
                                   interval=0.01,
                                   what="%d foreign packets taken in" % sent)
        self.assertEqual(leg_drops(), spray)

        def dropped():
            text = harness.scrape(port)
            by_reason = {
                reason: harness.sample_value(
                    text, "sotto_media_packets_dropped_total",
                    reason=reason) or 0
                for reason in ("foreign_source", "rate_limited")}
            return by_reason if sum(by_reason.values()) == spray else None

        # Engine-wide counters by reason agree with the leg's. On a plain-RTP
        # leg a foreign packet is rejected by its address alone, so every
        # one is foreign_source (the rate limit guards SRTP legs, where each
        # would cost an authentication: engine_test covers it).
        by_reason = harness.wait_until(dropped, 5, interval=0.2,
                                       what="the spray in /metrics")
        self.assertEqual(by_reason, {"foreign_source": spray,
                                     "rate_limited": 0})
        leg = self.engine.leg_stats(self.room)["customer"].packets_dropped
        self.assertEqual(
            (leg["foreign_source"], leg["rate_limited"]),
            (by_reason["foreign_source"], by_reason["rate_limited"]))

        # Never a line per packet: one summary per 10 s at most, naming the
        # reasons (the first comes within 10 s of the drops).
        summary = "packets dropped since the last report"
        harness.wait_until(
            lambda: summary in self.engine.process.log_text(), 12,
            interval=0.2, what="a drop summary in the log")
        lines = [line for line in self.engine.process.log_text().splitlines()
                 if summary in line]
        self.assertIn("foreign_source", lines[0])
        self.assertLessEqual(
            len(lines), 1 + int((time.monotonic() - started) / 10) + 1,
            "drop summaries came faster than one per 10 s:\n" +
            "\n".join(lines))

    def check_metrics(self):
        port = self.engine.process.metrics_port

        def published():
            text = harness.scrape(port)
            received = harness.sample_value(
                text, "sotto_media_packets_received_total")
            latency = harness.sample_value(
                text, "sotto_media_added_latency_seconds_count")
            return text if received and latency else None

        # The engine publishes its counters once a second.
        text = harness.wait_until(published, 5, interval=0.2,
                                  what="media metrics published")
        code, output = harness.promtool_check(text)
        self.assertEqual(code, 0, "promtool check metrics:\n" + output)
        buckets = [labels for name, labels, _ in harness.samples(text)
                   if name == "sotto_media_added_latency_seconds_bucket"]
        self.assertGreater(len(buckets), 1, text)
        self.assertIn("+Inf", [labels.get("le") for labels in buckets])
        self.assertGreater(
            harness.sample_value(text, "sotto_media_packets_sent_total"), 0)


# --------------------------------------------------------------------------


class ControlApiTest(unittest.TestCase):
    """Status codes of the control API, and no key in messages or logs."""

    def setUp(self):
        self.engine = Engine(self, "--log_level=debug")
        self.stub = self.engine.stub

    def assert_code(self, code, call, *args, **kwargs):
        with self.assertRaises(grpc.RpcError) as raised:
            call(*args, **kwargs)
        self.assertEqual(raised.exception.code(), code,
                         raised.exception.details())
        return raised.exception.details() or ""

    def routing_request(self, room, gains, request_id, expected=0):
        return media_pb2.SetRoutingRequest(
            room_id=room, expected_generation=expected,
            entries=[media_pb2.RoutingEntry(source_leg_id=source,
                                            sink_leg_id=sink, gain=gain)
                     for (source, sink), gain in gains],
            request_id=request_id)

    def test_retries_change_nothing_more(self):
        engine = self.engine
        with udp_socket() as a, udp_socket() as b:
            engine.add_leg("r", "a", a.getsockname()[1])
            engine.add_leg("r", "b", b.getsockname()[1])
        # A compare-and-set SetRouting retried (its answer was lost): the
        # same answer, and the generation moved once.
        cas = self.routing_request("r", [(("a", "b"), 1.0)], "route-1",
                                   expected=0)
        first = self.stub.SetRouting(cas, timeout=RPC_TIMEOUT)
        again = self.stub.SetRouting(cas, timeout=RPC_TIMEOUT)
        self.assertEqual(again, first)
        room = self.stub.ListRooms(media_pb2.ListRoomsRequest(),
                                   timeout=RPC_TIMEOUT).rooms[0]
        self.assertEqual(room.routing_generation, first.generation)
        follow = self.routing_request("r", [(("b", "a"), 1.0)], "route-2",
                                      expected=first.generation)
        self.assertEqual(self.stub.SetRouting(follow, timeout=RPC_TIMEOUT)
                         .generation, first.generation + 1)
        # An error is not remembered: the same id may be retried once fixed
        # conditions allow (here: still the wrong generation, still ABORTED).
        stale = self.routing_request("r", [], "route-3", expected=1)
        for _ in range(2):
            self.assert_code(grpc.StatusCode.ABORTED, self.stub.SetRouting,
                             stale, timeout=RPC_TIMEOUT)
        # DeleteRoom retried: OK both times, not NOT_FOUND the second.
        delete = media_pb2.DeleteRoomRequest(room_id="r",
                                             request_id="delete-r")
        self.stub.DeleteRoom(delete, timeout=RPC_TIMEOUT)
        self.stub.DeleteRoom(delete, timeout=RPC_TIMEOUT)
        # ...but a new request to delete it is told it is gone.
        self.assert_code(grpc.StatusCode.NOT_FOUND, engine.delete_room, "r")

    def test_offers_and_matrices_that_cannot_work_are_refused_by_name(self):
        engine = self.engine
        with udp_socket() as a, udp_socket() as b:
            port_a, port_b = a.getsockname()[1], b.getsockname()[1]
        details = self.assert_code(
            grpc.StatusCode.INVALID_ARGUMENT, engine.add_leg, "r", "a",
            port_a, payload_type=101, telephone_event_payload_type=101)
        self.assertIn("voice and telephone events need different", details)
        details = self.assert_code(grpc.StatusCode.INVALID_ARGUMENT,
                                   engine.add_leg, "r", "a", port_a, PLAIN,
                                   random_key())
        self.assertIn("CRYPTO_SUITE_PLAIN_RTP", details)
        engine.add_leg("r", "a", port_a, SUITE_80, random_key())
        engine.add_leg("r", "b", port_b)
        for gains, fragment in [
                ([(("a", "a"), 1.0)], "routing a -> a: a leg never hears"),
                ([(("a", "b"), 5.0)], "routing a -> b: gain 5 is outside 0-4"),
                ([(("a", "b"), 1.0), (("a", "b"), 0.5)],
                 "routing a -> b is listed twice")]:
            details = self.assert_code(
                grpc.StatusCode.INVALID_ARGUMENT, self.stub.SetRouting,
                self.routing_request("r", gains, engine.request_id()),
                timeout=RPC_TIMEOUT)
            self.assertIn(fragment, details)
            self.assertNotIn("member", details)
        details = self.assert_code(
            grpc.StatusCode.INVALID_ARGUMENT, self.stub.UpdateLeg,
            media_pb2.UpdateLegRequest(
                room_id="r", leg_id="a",
                offer=common_pb2.MediaOffer(
                    remote_key=common_pb2.SrtpKey(suite=PLAIN)),
                request_id=engine.request_id()), timeout=RPC_TIMEOUT)
        self.assertIn("cannot change between SRTP and plain RTP", details)
        # A leg that has heard nothing has no MOS yet (not a perfect one).
        self.assertEqual(engine.leg_stats("r")["b"].mos, 0.0)

        # Offers no phone could use.
        for fields, fragment in [
                (dict(payload_type=72), "RFC 5761"),
                (dict(telephone_event_payload_type=80), "RFC 5761"),
                (dict(payload_type=8), "other G.711 law's static type"),
                (dict(rtcp_mode=7), "is not an RtcpMode")]:
            details = self.assert_code(grpc.StatusCode.INVALID_ARGUMENT,
                                       engine.add_leg, "r", "x", port_a,
                                       **fields)
            self.assertIn(fragment, details)
        for address, fragment in [("0.0.0.0", "not one endpoint"),
                                  ("224.0.0.1", "not one endpoint"),
                                  ("255.255.255.255", "not one endpoint"),
                                  ("::1", "is IPv6 but this engine")]:
            details = self.assert_code(
                grpc.StatusCode.INVALID_ARGUMENT, self.stub.AddLeg,
                media_pb2.AddLegRequest(
                    room_id="r", leg_id="x", request_id=engine.request_id(),
                    offer=common_pb2.MediaOffer(
                        remote_rtp=common_pb2.Endpoint(address=address,
                                                       port=port_a),
                        codec=common_pb2.CODEC_PCMU,
                        remote_key=common_pb2.SrtpKey(suite=PLAIN))),
                timeout=RPC_TIMEOUT)
            self.assertIn(fragment, details)
        # Updates that cannot apply in place are refused, not ignored.
        engine.add_leg("r", "c", port_a, telephone_event_payload_type=101)
        for offer, fragment in [
                (common_pb2.MediaOffer(payload_type=101),
                 "voice and telephone events need different"),
                (common_pb2.MediaOffer(
                    rtcp_mode=common_pb2.RTCP_MODE_SEPARATE_PORT),
                 "cannot change in UpdateLeg"),
                (common_pb2.MediaOffer(asymmetric_rtp=True),
                 "cannot change in UpdateLeg"),
                (common_pb2.MediaOffer(remote_key=common_pb2.SrtpKey(
                    inline_key=random_key())), "suite is required"),
                (common_pb2.MediaOffer(remote_key=common_pb2.SrtpKey(
                    suite=SUITE_80, inline_key=random_key())),
                 "cannot change between SRTP and plain RTP")]:
            details = self.assert_code(
                grpc.StatusCode.INVALID_ARGUMENT, self.stub.UpdateLeg,
                media_pb2.UpdateLegRequest(
                    room_id="r", leg_id="c", offer=offer,
                    request_id=engine.request_id()), timeout=RPC_TIMEOUT)
            self.assertIn(fragment, details)
        details = self.assert_code(
            grpc.StatusCode.INVALID_ARGUMENT, self.stub.PlayAudio,
            media_pb2.PlayAudioRequest(
                room_id="r", sink_leg_ids=["b"],
                tone=media_pb2.PlayAudioRequest.Tone(
                    frequency_hz=1000,
                    duration=duration_pb2.Duration(seconds=1),
                    level_dbfs=float("nan")),
                request_id=engine.request_id()), timeout=RPC_TIMEOUT)
        self.assertIn("level_dbfs", details)

    def test_removing_a_routed_leg_moves_the_generation_and_the_tap_names_it(
            self):
        engine = self.engine
        with udp_socket() as a, udp_socket() as b:
            engine.add_leg("r", "a", a.getsockname()[1])
            engine.add_leg("r", "b", b.getsockname()[1])
        routed = engine.set_routing("r", {("a", "b"): 1.0})
        tap = self.stub.StreamTap(media_pb2.StreamTapRequest(room_id="r"),
                                  timeout=10)
        self.addCleanup(tap.cancel)
        engine.stub.RemoveLeg(media_pb2.RemoveLegRequest(
            room_id="r", leg_id="b", request_id="remove-b"),
            timeout=RPC_TIMEOUT)
        room = self.stub.ListRooms(media_pb2.ListRoomsRequest(),
                                   timeout=RPC_TIMEOUT).rooms[0]
        self.assertEqual(len(room.routing), 0)
        self.assertEqual(room.routing_generation, routed.generation + 1,
                         "the matrix in force changed")
        self.assert_code(grpc.StatusCode.ABORTED, self.stub.SetRouting,
                         self.routing_request("r", [], "stale-cas",
                                              expected=routed.generation),
                         timeout=RPC_TIMEOUT)
        # The tap said which leg left (it reads the item after the engine
        # has forgotten the leg).
        for message in tap:
            if message.HasField("leg_change") and \
                    not message.leg_change.added:
                self.assertEqual(message.leg_change.leg_id, "b")
                break

    def test_bad_flags_stop_the_engine_with_a_message(self):
        for flag, fragment in [
                ("--workers=-3", "--workers must be 0 (one per core) to 256"),
                ("--capacity_rooms=0", "--capacity_rooms must be at least 1"),
                ("--coalesce_us=-1", "--coalesce_us must be 0 (off) to 10000"),
                ("--srtp_crypto=nss", "--srtp_crypto must be openssl or"),
                ("--port_min=80", "--port_min/--port_max must be a range")]:
            done = subprocess.run(
                [BINARY, "--grpc_address=127.0.0.1:0",
                 "--metrics_address=127.0.0.1:0", flag],
                capture_output=True, text=True, timeout=30)
            self.assertEqual(done.returncode, 1, flag)
            self.assertIn(fragment, done.stderr + done.stdout, flag)

    def test_error_semantics(self):
        engine = self.engine
        with udp_socket() as peer:
            port = peer.getsockname()[1]

        # Missing codec.
        details = self.assert_code(
            grpc.StatusCode.INVALID_ARGUMENT, engine.add_leg, "r", "a", port,
            SUITE_80, random_key(), codec=common_pb2.CODEC_UNSPECIFIED)
        self.assertIn("offer.codec", details)

        # Bad keys: wrong length, not base64, wrong length under _32. The
        # key text never comes back, in whole or in part.
        secrets = [
            base64.b64encode(os.urandom(29)).decode(),
            base64.b64encode(os.urandom(40)).decode(),
            "S3cr3t!!" + base64.b64encode(os.urandom(24)).decode(),
        ]
        for secret in secrets:
            for suite in (SUITE_80, SUITE_32):
                details = self.assert_code(grpc.StatusCode.INVALID_ARGUMENT,
                                           engine.add_leg, "r", "a", port,
                                           suite, secret)
                self.assertIn("inline_key", details)
                for i in range(0, len(secret) - 8, 4):
                    self.assertNotIn(secret[i:i + 8], details)
        self.assertEqual(
            len(engine.stub.ListRooms(media_pb2.ListRoomsRequest(),
                                      timeout=RPC_TIMEOUT).rooms), 0,
            "a rejected AddLeg left a room behind")

        # A leg, its idempotent retry, and a duplicate.
        key_a = random_key()
        first = engine.add_leg("r", "a", port, SUITE_80, key_a,
                               request_id="add-a")
        retry = engine.add_leg("r", "a", port, SUITE_80, key_a,
                               request_id="add-a")
        self.assertEqual(retry, first, "a retry must get the first answer")
        # The same request_id with another body is refused, whatever it is.
        for other in (lambda: engine.add_leg("r", "a", port, SUITE_80,
                                             random_key(), request_id="add-a"),
                      lambda: engine.add_leg("r", "z", port,
                                             request_id="add-a")):
            details = self.assert_code(grpc.StatusCode.INVALID_ARGUMENT,
                                       other)
            self.assertIn("request_id 'add-a' was already used", details)
        self.assertNotIn("z", [leg.leg_id for leg in engine.stub.ListRooms(
            media_pb2.ListRoomsRequest(), timeout=RPC_TIMEOUT).rooms[0].legs])
        details = self.assert_code(grpc.StatusCode.INVALID_ARGUMENT,
                                   engine.add_leg, "r", "y", port,
                                   request_id="")
        self.assertIn("request_id is required", details)
        self.assert_code(grpc.StatusCode.ALREADY_EXISTS, engine.add_leg, "r",
                         "a", port, SUITE_80, random_key())
        engine.add_leg("r", "b", port + 1 if port < 65535 else port - 1)

        # Unknown room.
        for call in (
                lambda: engine.delete_room("nope"),
                lambda: engine.set_routing("nope", {}),
                lambda: engine.stub.GetStats(
                    media_pb2.GetStatsRequest(room_id="nope"),
                    timeout=RPC_TIMEOUT),
                lambda: engine.stub.RemoveLeg(media_pb2.RemoveLegRequest(
                    room_id="nope", leg_id="a", request_id="x"),
                    timeout=RPC_TIMEOUT),
        ):
            details = self.assert_code(grpc.StatusCode.NOT_FOUND, call)
            self.assertIn("nope", details)

        # Routing naming an unknown leg, a self-loop, a gain out of range.
        details = self.assert_code(grpc.StatusCode.INVALID_ARGUMENT,
                                   engine.set_routing, "r",
                                   {("a", "ghost"): 1.0})
        self.assertIn("ghost", details)
        self.assert_code(grpc.StatusCode.INVALID_ARGUMENT, engine.set_routing,
                         "r", {("a", "a"): 1.0})
        self.assert_code(grpc.StatusCode.INVALID_ARGUMENT, engine.set_routing,
                         "r", {("a", "b"): 5.0})

        info = engine.stub.GetEngineInfo(media_pb2.GetEngineInfoRequest(),
                                         timeout=RPC_TIMEOUT)
        self.assertIn(SUITE_80, info.crypto_suites)
        self.assertIn(SUITE_32, info.crypto_suites)
        self.assertIn(common_pb2.CODEC_PCMU, info.codecs)
        self.assertIn(common_pb2.CODEC_PCMA, info.codecs)
        self.assertFalse(info.draining)
        self.assertEqual((info.active_rooms, info.active_legs), (1, 2))

        # Drain: no new rooms; the live one stays.
        drained = engine.stub.Drain(media_pb2.DrainRequest(),
                                    timeout=RPC_TIMEOUT)
        self.assertEqual(drained.rooms_remaining, 1)
        self.assertTrue(
            engine.stub.GetEngineInfo(media_pb2.GetEngineInfoRequest(),
                                      timeout=RPC_TIMEOUT).draining)
        details = self.assert_code(grpc.StatusCode.FAILED_PRECONDITION,
                                   engine.add_leg, "new-room", "a", port)
        self.assertIn("drain", details)

        # Nothing of the keys in the log either (debug level).
        log = engine.process.log_text()
        self.assertTrue(log.strip(), "the engine logged nothing at all")
        for secret in secrets:
            for i in range(0, len(secret) - 8, 4):
                self.assertNotIn(secret[i:i + 8], log)


# --------------------------------------------------------------------------


class DrainTest(unittest.TestCase):
    """SIGTERM lets live calls go on mixing."""

    def start_call(self, *engine_args):
        engine = Engine(self, *engine_args)
        room = "drain"
        self.customer = udp_socket()
        self.agent = udp_socket()
        self.addCleanup(self.customer.close)
        self.addCleanup(self.agent.close)
        customer = engine.add_leg(room, "customer",
                                  self.customer.getsockname()[1])
        agent = engine.add_leg(room, "agent", self.agent.getsockname()[1])
        engine.set_routing(room, BASE_CALL)
        sender = PacedSender([
            RtpStream(self.customer, (LOOPBACK, local_port(customer)),
                      CUSTOMER_VALUE, 0x51515151),
            RtpStream(self.agent, (LOOPBACK, local_port(agent)), AGENT_VALUE,
                      0x52525252),
        ]).start()
        self.addCleanup(sender.stop)
        harness.wait_until(
            lambda: receive(self.agent, 1)[0][2] == [C] * SAMPLES_PER_FRAME,
            3, interval=0, what="the agent hearing the customer")
        return engine, room

    def hear_customer_until(self, until):
        """Reads the agent's socket until `until` (monotonic) or until the
        audio stops; returns the arrival time of the last packet carrying
        the customer. Fails on a gap of more than 200 ms."""
        last = time.monotonic()
        self.agent.settimeout(0.2)
        try:
            while time.monotonic() < until:
                try:
                    data = self.agent.recv(2048)
                except socket.timeout:
                    return last
                if not is_rtcp(data) and set(parse_rtp(data)[2]) == {C}:
                    last = time.monotonic()
        finally:
            self.agent.settimeout(None)
        return last

    def test_sigterm_keeps_live_room_until_it_is_deleted(self):
        engine, room = self.start_call()
        probe = engine.process.channel()
        self.addCleanup(probe.close)
        engine.process.process.send_signal(signal.SIGTERM)
        sigterm_at = time.monotonic()
        harness.wait_until(
            lambda: harness.check_health(probe, timeout=1) ==
            harness.NOT_SERVING, 2, what="health NOT_SERVING")
        # It says how many rooms it waits for.
        harness.wait_until(
            lambda: re.search(r'waiting for live rooms to end.*rooms[=":]+1\b',
                              engine.process.log_text()), 2,
            what="the drain's room count in the log")

        last = self.hear_customer_until(sigterm_at + 2.5)
        self.assertGreaterEqual(last - sigterm_at, 2.0,
                                "audio stopped during the drain")
        self.assertIsNone(engine.process.process.poll())

        # New rooms are refused; the control API still serves the old one.
        with self.assertRaises(grpc.RpcError) as raised:
            engine.add_leg("another", "x", self.customer.getsockname()[1])
        self.assertEqual(raised.exception.code(),
                         grpc.StatusCode.FAILED_PRECONDITION)
        self.assertTrue(
            engine.stub.GetEngineInfo(media_pb2.GetEngineInfoRequest(),
                                      timeout=RPC_TIMEOUT).draining)
        self.assertGreater(engine.leg_stats(room)["agent"].packets_sent, 100)

        engine.delete_room(room)
        self.assertEqual(engine.process.wait_exit(timeout=5), 0,
                         engine.process.log_text())
        self.assertLess(time.monotonic() - sigterm_at, 10)

    def test_drain_deadline_ends_the_room_and_exits_zero(self):
        engine, _ = self.start_call("--drain_deadline=4s")
        engine.process.process.send_signal(signal.SIGTERM)
        sigterm_at = time.monotonic()
        # The drain hook ends rooms 1 s before the deadline (leaving time
        # for in-flight RPCs), polling every 200 ms.
        last = self.hear_customer_until(sigterm_at + 8)
        self.assertGreaterEqual(last - sigterm_at, 2.5,
                                "audio stopped early in the drain")
        self.assertLessEqual(last - sigterm_at, 4.0,
                             "audio outlived the drain deadline")
        self.assertEqual(engine.process.wait_exit(timeout=3), 0,
                         engine.process.log_text())
        self.assertLess(time.monotonic() - sigterm_at, 5.5)

    def engine_info(self, engine):
        return engine.stub.GetEngineInfo(media_pb2.GetEngineInfoRequest(),
                                         timeout=RPC_TIMEOUT)

    def test_drain_rpc_deadline_ends_the_rooms_and_the_engine_stays(self):
        engine, room = self.start_call()
        drained = engine.stub.Drain(
            media_pb2.DrainRequest(
                deadline=duration_pb2.Duration(seconds=2)),
            timeout=RPC_TIMEOUT)
        drain_at = time.monotonic()
        self.assertEqual(drained.rooms_remaining, 1)
        # The call goes on until the deadline, and not after it.
        last = self.hear_customer_until(drain_at + 6)
        self.assertGreaterEqual(last - drain_at, 1.5,
                                "audio stopped before the Drain deadline")
        self.assertLessEqual(last - drain_at, 2.6,
                             "audio outlived the Drain deadline")
        harness.wait_until(
            lambda: not engine.stub.ListRooms(media_pb2.ListRoomsRequest(),
                                              timeout=RPC_TIMEOUT).rooms,
            3, what="the room ended at the Drain deadline")
        info = self.engine_info(engine)
        self.assertTrue(info.draining)
        self.assertEqual((info.active_rooms, info.active_legs), (0, 0))
        # Unlike SIGTERM, the RPC leaves the process serving (still refusing
        # new rooms) for whoever stops it.
        self.assertIsNone(engine.process.process.poll())
        with self.assertRaises(grpc.RpcError) as raised:
            engine.add_leg("another", "x", self.customer.getsockname()[1])
        self.assertEqual(raised.exception.code(),
                         grpc.StatusCode.FAILED_PRECONDITION)
        self.assertIn("drain deadline reached", engine.process.log_text())

    def test_drain_rpc_with_a_zero_deadline_ends_rooms_before_it_answers(self):
        engine, room = self.start_call()
        with self.assertRaises(grpc.RpcError) as raised:
            engine.stub.Drain(
                media_pb2.DrainRequest(
                    deadline=duration_pb2.Duration(seconds=-1)),
                timeout=RPC_TIMEOUT)
        self.assertEqual(raised.exception.code(),
                         grpc.StatusCode.INVALID_ARGUMENT)
        self.assertIn("deadline", raised.exception.details())
        self.assertFalse(self.engine_info(engine).draining,
                         "a refused Drain must change nothing")

        drained = engine.stub.Drain(
            media_pb2.DrainRequest(deadline=duration_pb2.Duration()),
            timeout=RPC_TIMEOUT)
        self.assertEqual(drained.rooms_remaining, 0)
        self.assertEqual(self.engine_info(engine).active_rooms, 0)
        self.assertFalse(
            engine.stub.ListRooms(media_pb2.ListRoomsRequest(),
                                  timeout=RPC_TIMEOUT).rooms)


if __name__ == "__main__":
    BINARY = sys.argv.pop(1)
    unittest.main()
