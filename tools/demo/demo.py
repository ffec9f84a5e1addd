"""`./dev demo`: a real supervised call through all five services.

Starts the stack on loopback (stack.py), makes a customer, an agent, a
supervisor and a second agent out of ffmpeg SRTP endpoints speaking
espeak-ng lines (parties.py), and walks the call through the public gRPC
API with tokens: LISTEN -> WHISPER -> BARGE -> TAKEOVER -> release ->
transfer to the second agent -> end, then reports the outcome. It measures
from the saved audio who heard whom in every phase (analysis.py), checks
that against the design's matrix, prints a summary and writes
var/demo/summary.json. Exit status 1 when anyone heard someone the mode
forbids or missed someone it should hear.
"""

import argparse
import json
import os
import shutil
import sys
import time

import grpc
from google.protobuf import timestamp_pb2

import analysis
import parties as endpoints
import stack as stack_lib
from sotto.v1 import broker_pb2
from sotto.v1 import broker_pb2_grpc
from sotto.v1 import common_pb2
from sotto.v1 import recorder_pb2
from sotto.v1 import recorder_pb2_grpc
from sotto.v1 import reporting_pb2
from sotto.v1 import reporting_pb2_grpc

CALL_ID = "demo-call-1"
CALL = "tenants/acme/calls/" + CALL_ID
RPC_TIMEOUT = 15
LEAD_IN_S = 2.0
START_MARGIN_S = 1.0  # cue tones and the switch itself
END_MARGIN_S = 0.3

PHASES = ("LISTEN", "WHISPER", "BARGE", "TAKEOVER", "RELEASED", "TRANSFERRED")
# docs/design.md's matrix, as what each party must hear (nothing else).
EXPECTED = {
    "LISTEN": {"customer": {"agent"}, "agent": {"customer"},
               "supervisor": {"customer", "agent"}},
    "WHISPER": {"customer": {"agent"}, "agent": {"customer", "supervisor"},
                "supervisor": {"customer", "agent"}},
    "BARGE": {"customer": {"agent", "supervisor"},
              "agent": {"customer", "supervisor"},
              "supervisor": {"customer", "agent"}},
    "TAKEOVER": {"customer": {"supervisor"},
                 "agent": {"customer", "supervisor"},
                 "supervisor": {"customer", "agent"}},
    "RELEASED": {"customer": {"agent"}, "agent": {"customer"},
                 "supervisor": set()},
    "TRANSFERRED": {"customer": {"agent2"}, "agent2": {"customer"},
                    "agent": set(), "supervisor": set()},
}


def auth(token):
    return [("authorization", "Bearer " + token)]


class Scenario:

    def __init__(self, stack, out_dir, phase_s, say):
        self.stack = stack
        self.out = out_dir
        self.phase_s = phase_s
        self.say = say
        self.channels = []
        broker = grpc.insecure_channel(stack.address("broker"))
        self.channels.append(broker)
        self.broker = broker_pb2_grpc.BrokerStub(broker)
        self.registry = broker_pb2_grpc.EngineRegistryStub(broker)
        recorder = grpc.insecure_channel(stack.address("recorder"))
        self.channels.append(recorder)
        self.recorder = recorder_pb2_grpc.RecorderStub(recorder)
        reporting = grpc.insecure_channel(stack.address("reporting"))
        self.channels.append(reporting)
        self.reporting = reporting_pb2_grpc.ReportingStub(reporting)
        self.integrator = stack.token("pbx-1", ["integrator"])
        self.lead = stack.token("lead-1", ["team_lead"], ["team-a"])
        self.qa = stack.token("qa-1", ["qa_analyst"])
        self.parties = {}
        self.phases = []  # [mode, start, end] on the t0 timeline
        self.leg_end = {}  # party -> when its leg left the call
        self.t0 = None

    def now(self):
        return time.monotonic() - self.t0

    def wait_for_engine(self):
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            engines = self.registry.ListEngines(
                broker_pb2.ListEnginesRequest(), timeout=RPC_TIMEOUT).engines
            if any(e.state == broker_pb2.Engine.HEALTHY for e in engines):
                return
            time.sleep(0.1)
        raise RuntimeError("no media engine registered with the broker")

    def sleep_until(self, t):
        while self.now() < t:
            for party in self.parties.values():
                if not party.running():
                    raise RuntimeError("ffmpeg for %s stopped; see %s" %
                                       (party.name, self.out))
            time.sleep(min(0.05, max(0.0, t - self.now())))

    def begin(self, mode):
        if self.phases:
            self.phases[-1][2] = self.now()
        self.phases.append([mode, self.now(), None])
        self.say("  %5.1f s  %s" % (self.now(), mode))

    def run(self):
        self.wait_for_engine()
        total = LEAD_IN_S + len(PHASES) * self.phase_s + 4
        for name in ("customer", "agent", "supervisor", "agent2"):
            lines = endpoints.make_lines(name, self.out, total)
            self.parties[name] = endpoints.Party(name, lines, self.out)
        p = self.parties
        self.t0 = time.monotonic()
        call = self.broker.RegisterCall(
            broker_pb2.RegisterCallRequest(
                parent="tenants/acme", call_id=CALL_ID, queue="billing",
                customer=broker_pb2.LegSpec(
                    display_name="Customer",
                    media=p["customer"].offer(common_pb2)),
                agent=broker_pb2.LegSpec(
                    user_id="agent-alex", team="team-a", display_name="Alex",
                    media=p["agent"].offer(common_pb2)),
                monitoring_disclosed=True,
                attributes={"disclosure": "played"},
                request_id="demo-register"),
            metadata=auth(self.integrator), timeout=RPC_TIMEOUT)
        answers = {x.name.rsplit("/", 1)[1]: x.media for x in call.participants}
        self.say("  %5.1f s  call %s on engine %s, recording %s" %
                 (self.now(), call.name, call.media_engine,
                  call.recording or "(none)"))
        for name, leg in (("customer", "customer"), ("agent", "agent-1")):
            p[name].listen(answers[leg])
        for name, leg in (("customer", "customer"), ("agent", "agent-1")):
            p[name].speak(answers[leg])
        self.sleep_until(LEAD_IN_S)

        supervision = self.broker.CreateSupervision(
            broker_pb2.CreateSupervisionRequest(
                parent=CALL, mode=common_pb2.MODE_LISTEN,
                media=p["supervisor"].offer(common_pb2),
                display_name="Morgan (team lead)", request_id="demo-supervise"),
            metadata=auth(self.lead), timeout=RPC_TIMEOUT)
        p["supervisor"].listen(supervision.media)
        p["supervisor"].speak(supervision.media)
        self.begin("LISTEN")
        for step, mode in enumerate(("WHISPER", "BARGE", "TAKEOVER"), 1):
            self.sleep_until(LEAD_IN_S + step * self.phase_s)
            self.broker.SetSupervisionMode(
                broker_pb2.SetSupervisionModeRequest(
                    name=supervision.name,
                    mode=common_pb2.Mode.Value("MODE_" + mode),
                    reason="customer asked for a manager"
                    if mode == "TAKEOVER" else "",
                    request_id="demo-mode-" + mode.lower()),
                metadata=auth(self.lead), timeout=RPC_TIMEOUT)
            self.begin(mode)
        self.sleep_until(LEAD_IN_S + 4 * self.phase_s)
        self.broker.DeleteSupervision(
            broker_pb2.DeleteSupervisionRequest(name=supervision.name,
                                                request_id="demo-release"),
            metadata=auth(self.lead), timeout=RPC_TIMEOUT)
        self.leg_end["supervisor"] = self.now()
        self.begin("RELEASED")
        self.sleep_until(LEAD_IN_S + 5 * self.phase_s)
        transferred = self.broker.TransferCall(
            broker_pb2.TransferCallRequest(
                name=CALL, reason="billing",
                new_agent=broker_pb2.LegSpec(
                    user_id="agent-sam", team="team-a", display_name="Sam",
                    media=p["agent2"].offer(common_pb2)),
                request_id="demo-transfer"),
            metadata=auth(self.integrator), timeout=RPC_TIMEOUT)
        new_leg = [x.media for x in transferred.call.participants
                   if x.user_id == "agent-sam"][0]
        self.leg_end["agent"] = self.now()
        p["agent2"].listen(new_leg)
        p["agent2"].speak(new_leg)
        self.begin("TRANSFERRED")
        self.sleep_until(LEAD_IN_S + 6 * self.phase_s)
        ended = self.broker.EndCall(
            broker_pb2.EndCallRequest(name=CALL, reason="resolved",
                                      request_id="demo-end"),
            metadata=auth(self.integrator), timeout=RPC_TIMEOUT)
        self.phases[-1][2] = self.now()
        self.leg_end["customer"] = self.leg_end["agent2"] = self.now()
        self.say("  %5.1f s  call ended" % self.now())
        for party in p.values():
            party.stop()
        return ended

    def report_outcome(self, ended):
        outcome = reporting_pb2.CallOutcome(
            queue="billing", team="team-a", agent_id="agent-sam",
            first_contact_resolution=True, transferred=True, escalated=True,
            csat=5, qa_score=92.0, compliance_errors=0,
            call_start_time=ended.create_time)
        outcome.handle_time.FromSeconds(int(6 * self.phase_s + LEAD_IN_S))
        outcome.agent_start_time.FromSeconds(int(time.time()) - 21 * 86400)
        return self.reporting.ReportOutcome(
            reporting_pb2.ReportOutcomeRequest(call=CALL, outcome=outcome,
                                               request_id="demo-outcome"),
            metadata=auth(self.integrator), timeout=RPC_TIMEOUT)

    def recording(self, name):
        if not name:
            return None
        deadline = time.monotonic() + 15
        while True:
            recording = self.recorder.GetRecording(
                recorder_pb2.GetRecordingRequest(name=name),
                metadata=auth(self.qa), timeout=RPC_TIMEOUT)
            if recording.state not in (recorder_pb2.Recording.ACTIVE,
                                       recorder_pb2.Recording.PAUSED) or \
                    time.monotonic() > deadline:
                return recording
            time.sleep(0.2)

    def report(self, since):
        start = timestamp_pb2.Timestamp()
        start.FromSeconds(int(since) - 60)
        end = timestamp_pb2.Timestamp()
        end.FromSeconds(int(time.time()) + 60)
        scope = reporting_pb2.ReportScope(
            parent="tenants/acme",
            time_range=common_pb2.TimeRange(start_time=start, end_time=end))
        deadline = time.monotonic() + 20
        while True:  # events reach reporting through the broker's outbox
            report = self.reporting.GetSupervisionActivityReport(
                reporting_pb2.SupervisionActivityReportRequest(
                    scope=scope, group_by=reporting_pb2.GROUP_BY_SUPERVISOR),
                metadata=auth(self.qa), timeout=RPC_TIMEOUT)
            rows = [r for r in report.rows if r.key == "lead-1"]
            if (rows and rows[0].sessions >= 1 and
                    rows[0].seconds_by_mode.get("MODE_TAKEOVER", 0) > 0):
                return rows[0]
            if time.monotonic() > deadline:
                return rows[0] if rows else None
            time.sleep(0.3)

    def close(self):
        for channel in self.channels:
            channel.close()


def align_heard(scenario, heard_dir):
    """Each party's heard WAV, padded so that sample 0 is t0.

    Where a file starts is measured: ffmpeg loses what arrives while it
    starts up (up to a second on a loaded machine), but from then on the
    engine sends a packet every 20 ms until the party's leg goes (release,
    transfer, the end), so the file's last sample is the leg's end and its
    first is that minus the file's length. (The speakers' own start-up is
    within the lag the analysis searches, analysis.MAX_LAG_S.)"""
    os.makedirs(heard_dir, exist_ok=True)
    out = {}
    for name, party in scenario.parties.items():
        heard = endpoints.read_wav(party.heard_raw) \
            if os.path.exists(party.heard_raw) else endpoints.np.zeros(0)
        started = scenario.leg_end[name] - len(heard) / endpoints.RATE
        lead = max(0, int(round(started * endpoints.RATE)))
        aligned = endpoints.np.concatenate(
            (endpoints.np.zeros(lead, dtype="<i2"), heard.astype("<i2")))
        path = os.path.join(heard_dir, name + ".wav")
        endpoints.write_wav(path, aligned)
        out[name] = (path, aligned)
    return out


def analyse(scenario, heard):
    sources = {}
    for name, party in scenario.parties.items():
        speaks_at = (party.speak_started - scenario.t0
                     if party.speak_started else None)
        sources[name] = (endpoints.read_wav(party.lines_wav), speaks_at)
    results, failures = [], []
    for mode, start, end in scenario.phases:
        window = (start + START_MARGIN_S, end - END_MARGIN_S)
        phase = {"mode": mode, "start_s": round(start, 3),
                 "end_s": round(end, 3), "heard": {}, "scores": {}}
        for party, expected in EXPECTED[mode].items():
            listener = scenario.parties[party]
            if listener.listen_started is None:
                continue
            _, samples = heard[party]
            scores, detected = analysis.heard_speakers(
                samples, 0.0, sources, window, exclude=(party,))
            phase["heard"][party] = detected
            phase["scores"][party] = scores
            for speaker in sorted(set(detected) - expected):
                failures.append("%s: %s heard %s, which %s forbids" %
                                (mode, party, speaker, mode))
            for speaker in sorted(expected - set(detected)):
                failures.append("%s: %s did not hear %s (score %.2f)" %
                                (mode, party, speaker,
                                 scores.get(speaker, 0.0)))
        results.append(phase)
    return results, failures


def phase_seconds(text):
    """Each phase must be long enough for the who-heard-whom analysis."""
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError("not a number: %r" % text)
    if not 3 <= value <= 60:
        raise argparse.ArgumentTypeError(
            "must be 3 to 60 seconds (the analysis needs a few seconds of "
            "speech per phase); got %s" % text)
    return value


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--var_dir", default="var")
    parser.add_argument("--phase_seconds", type=phase_seconds, default=6.0,
                        help="seconds per supervision phase (3 to 60)")
    parser.add_argument("--store", default="sqlite",
                        help='"sqlite" or a PostgreSQL DSN')
    args = parser.parse_args(argv)
    var = os.path.abspath(args.var_dir)
    out = os.path.join(var, "demo")
    shutil.rmtree(out, ignore_errors=True)
    os.makedirs(out)
    say = lambda line: print(line, flush=True)  # noqa: E731
    # A fresh state for each demo run; ./dev up keeps its own under var/.
    state = os.path.join(out, "state")
    say("Sotto demo: starting the five services (state in %s)" % state)
    stack = stack_lib.Stack(state, store=args.store, log=say).start()
    wall_start = time.time()
    scenario = Scenario(stack, out, args.phase_seconds, say)
    try:
        say("The call (customer, agent Alex, team lead Morgan, agent Sam):")
        ended = scenario.run()
        outcome = scenario.report_outcome(ended)
        recording = scenario.recording(ended.recording)
        report_row = scenario.report(wall_start)
        heard = align_heard(scenario, os.path.join(out, "heard"))
        phases, failures = analyse(scenario, heard)
    finally:
        scenario.close()
        stack.stop()

    summary = {
        "call": CALL,
        "phases": [{k: v for k, v in ph.items()} for ph in phases],
        "heard_wav": {n: h[0] for n, h in heard.items()},
        "lines_wav": {n: p.lines_wav for n, p in scenario.parties.items()},
        "recording": None,
        "report": None,
        "outcome": {"call": outcome.call, "csat": outcome.csat,
                    "first_contact_resolution":
                        outcome.first_contact_resolution},
        "metrics": {n: "http://127.0.0.1:%d/metrics" % stack.ports[n][1]
                    for n in stack.ports},
        "failures": failures,
    }
    if recording is not None:
        summary["recording"] = {
            "name": recording.name,
            "paths": [os.path.join(state, "recordings", f.path)
                      if not os.path.isabs(f.path) else f.path
                      for f in recording.files],
            "channels": [c.participant for c in recording.channels],
        }
    if report_row is not None:
        summary["report"] = {
            "supervisor": report_row.key,
            "sessions": report_row.sessions,
            "mode_switches": report_row.mode_switches,
            "seconds_by_mode": dict(report_row.seconds_by_mode),
            "barge_rate": report_row.barge_rate,
            "takeover_rate": report_row.takeover_rate,
        }
    with open(os.path.join(out, "summary.json"), "w") as f:
        json.dump(summary, f, indent=2, sort_keys=True)

    say("\nWho heard whom (measured from the saved audio):")
    for phase in phases:
        say("  %-11s %5.1f-%5.1f s  %s" % (
            phase["mode"], phase["start_s"], phase["end_s"],
            "; ".join("%s hears %s" % (party, ", ".join(who) or "nobody")
                      for party, who in phase["heard"].items())))
    if summary["recording"]:
        say("Recording %s: %s (channels: %s)" % (
            summary["recording"]["name"],
            ", ".join(summary["recording"]["paths"]),
            ", ".join(summary["recording"]["channels"])))
    else:
        failures.append("no recording was made")
    if summary["report"]:
        r = summary["report"]
        say("Report for %s: %d session(s), %d mode switch(es), seconds by "
            "mode %s" % (r["supervisor"], r["sessions"], r["mode_switches"],
                         {k: round(v, 1) for k, v in
                          sorted(r["seconds_by_mode"].items())}))
    else:
        failures.append("reporting has no supervision activity for lead-1")
    say("Outcome reported: CSAT %d, first-contact resolution %s" %
        (outcome.csat, outcome.first_contact_resolution))
    say("Heard audio: %s; summary: %s" % (os.path.join(out, "heard"),
                                          os.path.join(out, "summary.json")))
    say("Metrics were at: " + ", ".join(
        "%s %s" % (n, u) for n, u in sorted(summary["metrics"].items())))
    if failures:
        say("\nDEMO FAILED:")
        for failure in failures:
            say("  - " + failure)
        return 1
    say("\nEvery party heard exactly whom its mode allows.")
    return 0


if __name__ == "__main__":
    try:
        sys.exit(main())
    except KeyboardInterrupt:
        # main's finally has stopped the services and the parties.
        print("demo: interrupted; services stopped", file=sys.stderr)
        sys.exit(130)
