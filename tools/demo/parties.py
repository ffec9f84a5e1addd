"""The call's endpoints, none of them ours: ffmpeg processes that speak
and listen over SRTP (PCMU, AES_CM_128_HMAC_SHA1_80), with speech made by
espeak-ng. Each party speaks from one port and listens on another (two
ffmpeg processes), so its legs are offered with asymmetric_rtp.
"""

import base64
import os
import secrets
import signal
import socket
import subprocess
import time
import wave

import numpy as np

SUITE = "AES_CM_128_HMAC_SHA1_80"
RATE = 8000

# Each speaker's voice and lines: different voices, continuous speech.
VOICES = {
    "customer": ("en-us+f3", 150, [
        "Hello, I am calling about my last invoice.",
        "I was charged twice for the same month and I would like a refund.",
        "The amount is forty two dollars and it appeared on the third.",
        "I already called last week and nobody got back to me.",
        "Can you please check what happened with my account?",
        "I have been a customer for more than six years now.",
        "Honestly I am quite disappointed with the service lately.",
        "My account number should be on your screen.",
    ]),
    "agent": ("en-gb", 160, [
        "Thank you for calling, my name is Alex, how can I help you today?",
        "I am sorry to hear that, let me look at your account right away.",
        "I can see two payments on the third of this month.",
        "One of them looks like a duplicate from our billing system.",
        "I will open a ticket with the billing team for you.",
        "The refund usually takes three to five business days.",
        "Is there anything else I can do for you while I have you?",
        "Thank you for your patience while I check these details.",
    ]),
    "supervisor": ("en-gb-scotland", 150, [
        "Alex, offer the refund now and waive the late fee as well.",
        "Remember to confirm the email address before you close the ticket.",
        "This is Morgan, the team lead, I am joining the call to help.",
        "We will make sure this is fixed today, you have my word on it.",
        "I am taking this one over, Alex, thank you for your help.",
        "Let me summarise what we are going to do for you next.",
        "You will receive a confirmation by email within the hour.",
        "Please stay on the line while I transfer you to billing.",
    ]),
    "agent2": ("en-us", 165, [
        "Billing department, this is Sam speaking.",
        "I have the notes from my colleague, the refund is approved.",
        "You will see the credit on your card in a few days.",
        "I have also removed the late fee from your account.",
        "Is the email address on file still correct for you?",
        "Perfect, I am sending the confirmation right now.",
        "Thank you for staying with us, have a lovely day.",
        "If anything else comes up, just call us back.",
    ]),
}


def make_lines(speaker, directory, seconds):
    """8 kHz mono 16-bit WAV of `speaker`'s lines, repeated to `seconds`."""
    voice, speed, lines = VOICES[speaker]
    raw = os.path.join(directory, "%s-espeak.wav" % speaker)
    subprocess.run(["espeak-ng", "-v", voice, "-s", str(speed), "-g", "4",
                    "-w", raw, " ".join(lines)],
                   check=True, capture_output=True, timeout=60)
    once = os.path.join(directory, "%s-once.wav" % speaker)
    subprocess.run(["sox", raw, "-r", str(RATE), "-c", "1", "-b", "16", once,
                    "norm", "-3"], check=True, capture_output=True, timeout=60)
    with wave.open(once) as w:
        length = w.getnframes() / RATE
    repeats = max(0, int(seconds / length))
    path = os.path.join(directory, "%s.wav" % speaker)
    subprocess.run(["sox", once, path, "repeat", str(repeats), "trim", "0",
                    str(seconds)], check=True, capture_output=True, timeout=60)
    return path


def read_wav(path):
    with wave.open(path) as w:
        if (w.getnchannels(), w.getsampwidth(), w.getframerate()) != (1, 2,
                                                                     RATE):
            raise ValueError("%s is not 8 kHz 16-bit mono" % path)
        return np.frombuffer(w.readframes(w.getnframes()), dtype="<i2")


def write_wav(path, samples):
    with wave.open(path, "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(RATE)
        w.writeframes(np.asarray(samples, dtype="<i2").tobytes())


def free_port_pair():
    """An even port whose successor is free too (RTP, RTCP)."""
    for _ in range(200):
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as probe:
            probe.bind(("127.0.0.1", 0))
            port = probe.getsockname()[1] & ~1
        try:
            with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as a, \
                    socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as b:
                a.bind(("127.0.0.1", port))
                b.bind(("127.0.0.1", port + 1))
            return port
        except OSError:
            continue
    raise RuntimeError("no free UDP port pair on loopback")


class Party:
    """One endpoint: an ffmpeg that listens (SDP, decrypting with the
    engine's key) and one that speaks its lines (encrypting with its own)."""

    def __init__(self, name, lines_wav, directory):
        self.name = name
        self.lines_wav = lines_wav
        self.dir = directory
        self.listen_port = free_port_pair()
        self.speak_port = free_port_pair()
        self.key = base64.b64encode(secrets.token_bytes(30)).decode("ascii")
        self.heard_raw = os.path.join(directory, "%s-heard-raw.wav" % name)
        self.receiver = None
        self.sender = None
        self.listen_started = None  # time.monotonic() when started
        self.speak_started = None

    def offer(self, common_pb2):
        return common_pb2.MediaOffer(
            remote_rtp=common_pb2.Endpoint(address="127.0.0.1",
                                           port=self.listen_port),
            codec=common_pb2.CODEC_PCMU,
            remote_key=common_pb2.SrtpKey(
                suite=common_pb2.CRYPTO_SUITE_AES_CM_128_HMAC_SHA1_80,
                inline_key=self.key),
            asymmetric_rtp=True)

    def _ffmpeg(self, args, role):
        log = open(os.path.join(self.dir, "%s-%s.log" % (self.name, role)),
                   "wb")
        process = subprocess.Popen(
            ["ffmpeg", "-nostdin", "-hide_banner", "-loglevel", "warning"] +
            args, stdout=log, stderr=log, stdin=subprocess.DEVNULL,
            cwd=self.dir)
        log.close()
        return process

    def listen(self, answer):
        """Starts hearing the engine (its answer's key and port)."""
        sdp = os.path.join(self.dir, "%s.sdp" % self.name)
        with open(sdp, "w") as f:
            f.write("v=0\no=- 0 0 IN IP4 127.0.0.1\ns=%s\nc=IN IP4 127.0.0.1\n"
                    "t=0 0\nm=audio %d RTP/SAVP 0\na=rtpmap:0 PCMU/8000\n"
                    "a=crypto:1 %s inline:%s\n" %
                    (self.name, self.listen_port, SUITE,
                     answer.local_key.inline_key))
        self.listen_started = time.monotonic()
        self.receiver = self._ffmpeg(
            ["-protocol_whitelist", "file,udp,rtp,srtp,crypto",
             "-i", os.path.basename(sdp), "-flush_packets", "1",
             "-c:a", "pcm_s16le", "-ar", str(RATE), "-ac", "1", "-y",
             os.path.basename(self.heard_raw)], "listen")

    def speak(self, answer):
        """Starts speaking its lines to the engine, paced 20 ms a packet."""
        self.speak_started = time.monotonic()
        # lavfi + asetnsamples makes -re pace every 20 ms packet (plain -re
        # sends 256 ms bursts: tests/README.md).
        self.sender = self._ffmpeg(
            ["-re", "-f", "lavfi", "-i",
             "amovie=%s,asetnsamples=n=160:p=0" %
             os.path.basename(self.lines_wav),
             "-ac", "1", "-ar", str(RATE), "-c:a", "pcm_mulaw", "-f", "rtp",
             "-srtp_out_suite", SUITE, "-srtp_out_params", self.key,
             "srtp://%s:%d?localrtpport=%d" %
             (answer.local_rtp.address, answer.local_rtp.port,
              self.speak_port)], "speak")

    def running(self):
        for process in (self.receiver, self.sender):
            if process is not None and process.poll() not in (None, 0):
                return False
        return True

    def stop(self):
        """Stops speaking; the listener finalises its WAV on SIGINT."""
        if self.sender is not None and self.sender.poll() is None:
            self.sender.kill()
            self.sender.wait()
        if self.receiver is not None and self.receiver.poll() is None:
            self.receiver.send_signal(signal.SIGINT)
            try:
                self.receiver.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.receiver.kill()
                self.receiver.wait()
