"""Black-box tests of sotto-recorder with a real sotto-media (whose tap it
reads) and a real sotto-policy (the shipped example document, a fresh HS256
key). Arguments: the recorder, media and policy binaries, the example policy
document, then unittest test selectors.

Customer, agent and supervisor are plain-RTP Python sockets, each sending
its own pseudo-random mu-law stream, so every recorded sample can be checked
against what its party sent (decoded G.711: what the engine decodes).

  RecordedCallTest  the file is each party's audio sample for sample on its
                    own channel; whisper is absent (or, when the policy keeps
                    it, only on the supervisor's channel), never on the
                    customer's; a pause is silent, marked, and the paused
                    audio is nowhere in the file; packets stopping for 2 s
                    are 2 s of silence (the file keeps wall-clock length);
                    Download without recording access is PERMISSION_DENIED,
                    with it the bytes are the file and sox/ffprobe open it.
  KillTest          kill -9 while recording, restart: every file opens in
                    sox and ffprobe, at most 1 s of audio before the kill is
                    lost, the downtime is a marked gap and recording goes on.
"""

import array
import os
import random
import shutil
import subprocess
import sys
import threading
import time
import unittest
import wave

import grpc

import broker_supervision_test as tokens
import media_engine_test as media
import service_harness as harness
from sotto.v1 import common_pb2
from sotto.v1 import media_pb2
from sotto.v1 import media_pb2_grpc
from sotto.v1 import policy_pb2
from sotto.v1 import policy_pb2_grpc
from sotto.v1 import recorder_pb2
from sotto.v1 import recorder_pb2_grpc

RECORDER = MEDIA = POLICY = EXAMPLE = None  # Set from argv in __main__.
RPC_TIMEOUT = 10
ROOM = "tenants/acme/calls/rec-e2e-1"
SUPERVISION = ROOM + "/supervisions/s-1"
RATE = 8000
SPF = media.SAMPLES_PER_FRAME


class PartyStream:
    """One party for media.PacedSender: a pseudo-random mu-law stream.
    Remembers what it sent and when; can be muted (sends nothing, like a
    dead line)."""

    def __init__(self, sock, destination, seed):
        self.sock = sock
        self.destination = destination
        self.rng = random.Random(seed)
        self.ssrc = 0x1000 + seed
        self.sequence = seed * 100
        self.timestamp = seed * 1000
        self.sent = []  # (wall time, decoded samples) per packet
        self.muted = threading.Event()

    def send_one(self):
        # Codes away from the two near-zero ones, so silence is never
        # mistaken for audio.
        codes = bytes(self.rng.choice(range(0x00, 0x70)) for _ in range(SPF))
        if not self.muted.is_set():
            self.sock.sendto(
                media.rtp_packet(self.sequence, self.timestamp, self.ssrc,
                                 codes), self.destination)
            self.sent.append(
                (time.time(), [media.ulaw_decode(c) for c in codes]))
            self.sequence += 1
        self.timestamp += SPF


def frame_bytes(samples):
    return array.array("h", samples).tobytes()


def read_wav(path):
    """(channels as lists of samples, sample rate) of a 16-bit WAV."""
    with wave.open(path, "rb") as w:
        channels = w.getnchannels()
        rate = w.getframerate()
        data = array.array("h", w.readframes(w.getnframes()))
    return [list(data[c::channels]) for c in range(channels)], rate


def tool_seconds(command):
    out = subprocess.run(command, capture_output=True, text=True, timeout=30)
    if out.returncode != 0:
        raise AssertionError("%s failed: %s" % (command[0], out.stderr))
    return float(out.stdout.strip().splitlines()[0])


def sox_seconds(path):
    return tool_seconds(["sox", "--i", "-D", path])


def ffprobe_seconds(path):
    return tool_seconds(["ffprobe", "-v", "error", "-show_entries",
                         "stream=duration", "-of", "csv=p=0", path])


def seconds_of(timestamp):
    return timestamp.seconds + timestamp.nanos / 1e9


class RecorderFixture(unittest.TestCase):
    """sotto-policy, sotto-media with a three-leg plain-RTP room, and
    sotto-recorder on one storage folder and SQLite index."""

    def setUp(self):
        doc_dir = harness.test_tmpdir("policy-doc")
        policy_path = os.path.join(doc_dir, "policy.yaml")
        shutil.copyfile(harness.runfile(EXAMPLE), policy_path)
        with open(os.path.join(doc_dir, "jwt-hs256.key"), "wb") as f:
            f.write(tokens.SECRET + b"\n")
        self.policy = self.start(POLICY, ["--policy_file=" + policy_path],
                                 "policy")
        self.media = self.start(
            MEDIA, ["--media_bind_ip=127.0.0.1", "--media_ip=127.0.0.1",
                    "--workers=2"], "media")
        self.storage = harness.test_tmpdir("recorder-storage")
        self.recorder = self.start_recorder()
        media_channel = self.media.channel()
        self.addCleanup(media_channel.close)
        self.engine = media_pb2_grpc.MediaEngineStub(media_channel)
        policy_channel = self.policy.channel()
        self.addCleanup(policy_channel.close)
        self.policy_stub = policy_pb2_grpc.PolicyStub(policy_channel)
        self.qa = tokens.make_token("qa-1", ["qa_analyst"])
        self.lead = tokens.make_token("lead-1", ["team_lead"], ["team-a"])
        self.senders = {}
        for seed, leg in enumerate(("customer", "agent", "supervisor"), 1):
            sock = media.udp_socket()
            self.addCleanup(sock.close)
            answer = self.engine.AddLeg(media_pb2.AddLegRequest(
                room_id=ROOM, leg_id=leg,
                offer=common_pb2.MediaOffer(
                    remote_rtp=common_pb2.Endpoint(
                        address=media.LOOPBACK,
                        port=sock.getsockname()[1]),
                    codec=common_pb2.CODEC_PCMU,
                    remote_key=common_pb2.SrtpKey(suite=media.PLAIN)),
                request_id="add-" + leg), timeout=RPC_TIMEOUT)
            self.senders[leg] = PartyStream(
                sock, (media.LOOPBACK, answer.answer.local_rtp.port), seed)
        sender = media.PacedSender(list(self.senders.values())).start()
        self.addCleanup(sender.stop)

    def start(self, binary, args, name):
        process = harness.ServiceProcess(binary, args, name=name)
        self.addCleanup(process.close)
        return process.wait_ready()

    def start_recorder(self):
        process = self.start(
            RECORDER, ["--policy_address=" + self.policy.grpc_target,
                       "--store=sqlite:" + os.path.join(self.storage,
                                                        "index.db"),
                       "--storage_root=" + os.path.join(self.storage,
                                                        "files"),
                       "--sync_interval=500ms"], "recorder")
        channel = process.channel()
        self.addCleanup(channel.close)
        self.stub = recorder_pb2_grpc.RecorderStub(channel)
        return process

    def recording_policy(self, keep_whisper=False):
        policy = self.policy_stub.GetRecordingPolicy(
            policy_pb2.GetRecordingPolicyRequest(tenant="acme",
                                                 queue="sales"),
            timeout=RPC_TIMEOUT)
        self.assertTrue(policy.enabled)
        self.assertFalse(policy.keep_whisper_audio)
        policy.keep_whisper_audio = keep_whisper
        return policy

    def start_recording(self, policy):
        return self.stub.StartRecording(recorder_pb2.StartRecordingRequest(
            call=ROOM, queue="sales", team="team-a", agent_id="a-1",
            engine_address=self.media.grpc_target, room_id=ROOM,
            legs={"customer": common_pb2.ROLE_CUSTOMER,
                  "agent": common_pb2.ROLE_AGENT},
            policy=policy, monitoring_disclosed=True,
            request_id="start-1"), timeout=RPC_TIMEOUT)

    def whisper(self, name):
        now = time.time()
        self.stub.AnnotateRecording(recorder_pb2.AnnotateRecordingRequest(
            name=name, added_leg_id="supervisor",
            added_leg_role=common_pb2.ROLE_SUPERVISOR,
            added_leg_user_id="lead-1", supervision=SUPERVISION,
            supervisor="lead-1", mode=common_pb2.MODE_WHISPER,
            time={"seconds": int(now), "nanos": int((now % 1) * 1e9)},
            request_id="annotate-1"), timeout=RPC_TIMEOUT)
        return now

    def stop(self, name):
        return self.stub.StopRecording(recorder_pb2.StopRecordingRequest(
            name=name, request_id="stop-1"), timeout=RPC_TIMEOUT)

    def download(self, name, token, index=0):
        path = os.path.join(harness.test_tmpdir("download"), "file.wav")
        meta = None
        with open(path, "wb") as f:
            for message in self.stub.DownloadRecording(
                    recorder_pb2.DownloadRecordingRequest(name=name,
                                                          file=index),
                    metadata=tokens.auth(token), timeout=RPC_TIMEOUT):
                if message.HasField("file"):
                    meta = message.file
                f.write(message.chunk)
        return path, meta

    def assert_matches_sent(self, channel, leg, first_time, last_time,
                            start_time):
        """Every packet `leg` sent in [first_time, last_time] is in
        `channel`, sample for sample, at its wall-clock place."""
        data = frame_bytes(channel)
        packets = [(t, s) for t, s in self.senders[leg].sent
                   if first_time <= t <= last_time]
        self.assertGreater(len(packets), 15, leg)
        anchor = data.find(frame_bytes(packets[0][1]))
        self.assertGreaterEqual(anchor, 0,
                                "%s's first packet is not in the file" % leg)
        expected = [x for _, s in packets for x in s]
        got = channel[anchor // 2: anchor // 2 + len(expected)]
        mismatched = sum(1 for a, b in zip(got, expected) if a != b)
        self.assertEqual(mismatched, 0, "%s: %d of %d samples differ" %
                         (leg, mismatched, len(expected)))
        # At its wall-clock place (the engine's jitter buffer and the
        # holdback allow a little latency, never an earlier place).
        place = anchor // 2 / RATE - (packets[0][0] - start_time)
        self.assertGreater(place, -0.1, leg)
        self.assertLess(place, 0.5, leg)


class RecordedCallTest(RecorderFixture):

    def test_recorded_call_matches_what_each_party_sent(self):
        recording = self.start_recording(self.recording_policy())
        start = seconds_of(recording.start_time)
        self.assertEqual(recording.state, recorder_pb2.Recording.ACTIVE)
        time.sleep(1.0)
        whisper_at = self.whisper(recording.name)
        time.sleep(1.0)
        pause = self.stub.PauseRecording(recorder_pb2.PauseRecordingRequest(
            name=recording.name, reason="card number", request_id="pause-1"),
            timeout=RPC_TIMEOUT)
        self.assertEqual(pause.state, recorder_pb2.Recording.PAUSED)
        paused_at = time.time()
        time.sleep(1.0)
        resumed = self.stub.ResumeRecording(
            recorder_pb2.ResumeRecordingRequest(name=recording.name,
                                                request_id="resume-1"),
            timeout=RPC_TIMEOUT)
        resumed_at = time.time()
        self.assertEqual(resumed.state, recorder_pb2.Recording.ACTIVE)
        time.sleep(1.0)
        # The customer's line goes dead for 2 s.
        self.senders["customer"].muted.set()
        muted_at = time.time()
        time.sleep(2.0)
        self.senders["customer"].muted.clear()
        unmuted_at = time.time()
        time.sleep(1.2)
        stopped = self.stop(recording.name)
        stopped_at = time.time()
        self.assertEqual(stopped.state, recorder_pb2.Recording.FINISHED)
        self.assertEqual(len(stopped.pauses), 1)
        self.assertFalse(stopped.whisper_audio_kept)
        self.assertEqual([s.mode for s in stopped.mode_spans],
                         [common_pb2.MODE_WHISPER])
        self.assertEqual(len(stopped.telephone_events), 0)
        self.assertEqual(len(stopped.files), 1)
        self.assertEqual(stopped.files[0].channels, 4)
        self.assertEqual([c.participant for c in stopped.channels],
                         ["customer", "agent", "supervisor-1",
                          "supervisor-2"])

        # No recording access (a team lead): PERMISSION_DENIED.
        with self.assertRaises(grpc.RpcError) as denied:
            self.download(recording.name, self.lead)
        self.assertEqual(denied.exception.code(),
                         grpc.StatusCode.PERMISSION_DENIED,
                         denied.exception.details())
        path, meta = self.download(recording.name, self.qa)
        self.assertEqual(meta.sha256, stopped.files[0].sha256)
        duration = seconds_of(stopped.duration)
        self.assertAlmostEqual(sox_seconds(path), duration, places=3)
        self.assertAlmostEqual(ffprobe_seconds(path), duration, places=2)
        # Wall clock: the file is as long as the recording ran.
        self.assertAlmostEqual(duration, stopped_at - start, delta=0.15)

        channels, rate = read_wav(path)
        self.assertEqual(rate, RATE)
        customer, agent, supervisor, spare = channels
        # Sample for sample before the pause, and after it (until the mute).
        for leg, channel in (("customer", customer), ("agent", agent)):
            self.assert_matches_sent(channel, leg, start + 0.3,
                                     paused_at - 0.3, start)
            self.assert_matches_sent(channel, leg, resumed_at + 0.3,
                                     muted_at - 0.1, start)
        self.assert_matches_sent(agent, "agent", muted_at, stopped_at - 0.3,
                                 start)
        self.assert_matches_sent(customer, "customer", unmuted_at + 0.3,
                                 stopped_at - 0.3, start)
        # Whisper is not kept at all (policy), and nowhere else either.
        self.assertEqual(set(supervisor), {0})
        self.assertEqual(set(spare), {0})
        whole = frame_bytes(customer) + frame_bytes(agent)
        for t, samples in self.senders["supervisor"].sent[::10]:
            self.assertEqual(whole.find(frame_bytes(samples)), -1,
                             "supervisor audio found in the file")
        # The pause: silent on every channel, marked, audio stored nowhere.
        pause_range = stopped.pauses[0]
        p0 = seconds_of(pause_range.start_time) - start
        p1 = seconds_of(pause_range.end_time) - start
        self.assertAlmostEqual(p1 - p0, resumed_at - paused_at, delta=0.1)
        for channel in channels:
            self.assertEqual(
                set(channel[int((p0 + 0.05) * RATE):int((p1 - 0.05) * RATE)]),
                {0})
        paused_packets = [s for t, s in self.senders["customer"].sent
                          if paused_at + 0.1 < t < resumed_at - 0.1]
        self.assertGreater(len(paused_packets), 30)
        data = frame_bytes(customer)
        for samples in paused_packets:
            self.assertEqual(data.find(frame_bytes(samples)), -1,
                             "paused audio found in the file")
        # The dead line: silence of its length in the customer's channel.
        m0, m1 = muted_at - start, unmuted_at - start
        self.assertEqual(
            set(customer[int((m0 + 0.3) * RATE):int((m1 - 0.1) * RATE)]),
            {0})
        gaps = [g for g in stopped.gaps if g.reason == "customer: no packets"]
        self.assertEqual(len(gaps), 1, stopped.gaps)
        self.assertAlmostEqual(seconds_of(gaps[0].range.start_time), muted_at,
                               delta=0.3)
        self.assertAlmostEqual(seconds_of(gaps[0].range.end_time), unmuted_at,
                               delta=0.3)
        # The metrics saw it all.
        metrics = harness.scrape(self.recorder.metrics_port)
        for name in ("sotto_recorder_active_recordings 0",
                     "sotto_recorder_bytes_written_total",
                     "sotto_recorder_fsync_seconds_count",
                     "sotto_recorder_gaps_total",
                     "sotto_recorder_failures_total"):
            self.assertIn(name, metrics)
        code, output = harness.promtool_check(metrics)
        self.assertEqual(code, 0, output)
        print("recorded %.3f s; gaps: %s" % (
            duration, [(round(seconds_of(g.range.start_time) - start, 2),
                        round(seconds_of(g.range.end_time) - start, 2),
                        g.reason) for g in stopped.gaps]))

    def test_kept_whisper_is_on_the_supervisor_channel_only(self):
        recording = self.start_recording(self.recording_policy(
            keep_whisper=True))
        start = seconds_of(recording.start_time)
        time.sleep(0.5)
        whisper_at = self.whisper(recording.name)
        time.sleep(1.5)
        stopped = self.stop(recording.name)
        stopped_at = time.time()
        self.assertTrue(stopped.whisper_audio_kept)
        self.assertEqual(stopped.channels[2].user_id, "lead-1")
        path, _ = self.download(recording.name, self.qa)
        customer, agent, supervisor, _ = read_wav(path)[0]
        self.assert_matches_sent(supervisor, "supervisor", whisper_at + 0.1,
                                 stopped_at - 0.3, start)
        # Before the annotation the supervisor's leg had no role: nothing.
        self.assertEqual(set(supervisor[:int((whisper_at - start - 0.3) *
                                             RATE)]), {0})
        self.assert_matches_sent(customer, "customer", start + 0.3,
                                 stopped_at - 0.3, start)
        whole = frame_bytes(customer) + frame_bytes(agent)
        for t, samples in self.senders["supervisor"].sent[::5]:
            self.assertEqual(whole.find(frame_bytes(samples)), -1,
                             "whisper found outside the supervisor channel")


class KillTest(RecorderFixture):

    def test_kill_9_then_restart_leaves_valid_files_and_a_short_gap(self):
        recording = self.start_recording(self.recording_policy())
        start = seconds_of(recording.start_time)
        time.sleep(3.0)
        self.recorder.process.kill()  # SIGKILL
        self.recorder.process.wait()
        killed_at = time.time()
        time.sleep(1.0)
        self.recorder = self.start_recorder()
        restarted_at = time.time()
        path = os.path.join(self.storage, "files",
                            recording.files[0].path)
        # Valid right after the restart (repaired before serving).
        after_repair = sox_seconds(path)
        self.assertAlmostEqual(ffprobe_seconds(path), after_repair, delta=0.05)
        self.assertGreaterEqual(after_repair, killed_at - start - 1.0)
        time.sleep(1.5)
        stopped = self.stop(recording.name)
        stopped_at = time.time()
        self.assertEqual(stopped.state, recorder_pb2.Recording.FINISHED)
        gaps = [g for g in stopped.gaps if g.reason == "recorder restarted"]
        self.assertEqual(len(gaps), 1, stopped.gaps)
        gap_start = seconds_of(gaps[0].range.start_time)
        gap_end = seconds_of(gaps[0].range.end_time)
        self.assertLessEqual(killed_at - gap_start, 1.0,
                             "more than 1 s before the kill was lost")
        self.assertGreaterEqual(gap_end, killed_at)
        self.assertLessEqual(gap_end, restarted_at + 1.0)
        for f in stopped.files:
            full = os.path.join(self.storage, "files", f.path)
            self.assertAlmostEqual(sox_seconds(full),
                                   seconds_of(stopped.duration), places=3)
            self.assertAlmostEqual(ffprobe_seconds(full),
                                   seconds_of(stopped.duration), places=2)
        self.assertAlmostEqual(seconds_of(stopped.duration),
                               stopped_at - start, delta=0.15)
        channels, _ = read_wav(path)
        self.assert_matches_sent(channels[0], "customer", start + 0.3,
                                 killed_at - 1.0, start)
        self.assert_matches_sent(channels[1], "agent", gap_end + 0.3,
                                 stopped_at - 0.3, start)
        print("kill -9: lost %.3f s before the kill; gap %.3f s" % (
            killed_at - gap_start, gap_end - gap_start))


if __name__ == "__main__":
    RECORDER, MEDIA, POLICY, EXAMPLE = sys.argv[1:5]
    del sys.argv[1:5]
    unittest.main()
