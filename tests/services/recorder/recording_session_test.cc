// RecordingSession on a simulated clock: each party on its own channel
// sample for sample, whisper per policy and never on the customer's
// channel, pauses and missing packets as silence on the wall clock, tap
// breaks as marked gaps, large files (RF64 / segments), crash reopen.
#include "services/recorder/recording_session.h"

#include <cmath>
#include <filesystem>
#include <fstream>
#include <vector>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "media_engine/codec/g711.h"
#include "services/recorder/proto_time.h"
#include "tests/services/recorder/recorder_test_util.h"

namespace sotto::recorder {
namespace {

using testing::ConstantFrame;
using ::testing::Each;
using ::testing::Eq;
using testing::FfprobeSeconds;
using testing::Frame;
using testing::FreshDir;
using testing::ReadAudio;
using ::testing::SizeIs;
using testing::SoxSeconds;

const absl::Time kStart = absl::FromUnixSeconds(1'800'000'000);

// What a party "sent": a distinct waveform per party, through G.711 (what
// the engine decodes is always a G.711 code's value).
std::vector<int16_t> PartyFrame(int party, int64_t slot) {
  std::vector<int16_t> out(160);
  for (int i = 0; i < 160; ++i) {
    const double t = (slot * 160 + i) / 8000.0;
    const double v = 8000 * std::sin(2 * M_PI * (300 + 200 * party) * t);
    out[i] = media::codec::UlawToLinear(
        media::codec::LinearToUlaw(static_cast<int16_t>(v)));
  }
  return out;
}

class RecordingSessionTest : public ::testing::Test {
 protected:
  void SetUp() override {
    options_.storage_root = FreshDir("session");
    options_.holdback = absl::Milliseconds(200);
    options_.sync_interval = absl::Milliseconds(500);
    options_.supervisor_channels = 2;
    policy_.set_enabled(true);
    policy_.set_layout(v1::RecordingPolicy::MULTICHANNEL);
  }

  std::unique_ptr<RecordingSession> Create(
      std::vector<LegBinding> legs = {
          {"customer", v1::ROLE_CUSTOMER, "", -1, ""},
          {"agent-1", v1::ROLE_AGENT, "a-1", -1, ""}}) {
    v1::Recording recording;
    recording.set_name("tenants/acme/recordings/rec-1");
    recording.set_tenant("acme");
    recording.set_call("tenants/acme/calls/c-1");
    auto session =
        RecordingSession::Create(options_, recording, policy_, legs, kStart);
    EXPECT_TRUE(session.ok()) << session.status();
    return session.ok() ? *std::move(session) : nullptr;
  }

  // Feeds `slots` frames per leg in real-time order (each frame arrives
  // 30 ms after its slot begins) and ticks the writer as time passes.
  void Feed(RecordingSession& s, const std::vector<std::string>& legs,
            int64_t from_slot, int64_t slots, int64_t media_offset = 0) {
    for (int64_t k = from_slot; k < from_slot + slots; ++k) {
      const absl::Time now = kStart + k * kSlot + absl::Milliseconds(30);
      for (size_t p = 0; p < legs.size(); ++p) {
        s.OnTapMessage(Frame(legs[p], k + media_offset,
                             PartyFrame(static_cast<int>(p), k)),
                       now);
      }
      ASSERT_TRUE(s.Tick(now).ok());
    }
  }

  std::string Path(const v1::Recording& r, int file) const {
    return options_.storage_root + "/" + r.files(file).path();
  }

  SessionOptions options_;
  v1::RecordingPolicy policy_;
};

TEST_F(RecordingSessionTest, EachPartyIsOnItsOwnChannelSampleForSample) {
  auto s = Create();
  s->OnTapConnected(kStart);
  Feed(*s, {"customer", "agent-1"}, 0, 150);  // 3 s
  ASSERT_TRUE(s->Stop(kStart + 150 * kSlot).ok());
  const v1::Recording r = s->Snapshot();
  EXPECT_EQ(r.state(), v1::Recording::FINISHED);
  ASSERT_THAT(r.files(), SizeIs(1));
  EXPECT_EQ(r.files(0).channels(), 4u);  // customer, agent, 2 supervisors
  EXPECT_EQ(r.channels(0).participant(), "customer");
  EXPECT_EQ(r.channels(1).participant(), "agent");
  EXPECT_EQ(r.channels(1).user_id(), "a-1");
  EXPECT_EQ(r.files(0).sha256().size(), 64u);
  const testing::Audio audio = ReadAudio(Path(r, 0));
  ASSERT_EQ(audio.info.frames(), 150u * 160);
  for (int party = 0; party < 2; ++party) {
    const std::vector<int16_t> channel = audio.Channel(party);
    for (int64_t k = 0; k < 150; ++k) {
      const std::vector<int16_t> got(channel.begin() + k * 160,
                                     channel.begin() + (k + 1) * 160);
      ASSERT_EQ(got, PartyFrame(party, k))
          << "party " << party << " slot " << k;
    }
  }
  EXPECT_THAT(audio.Channel(2), Each(Eq(0)));
  EXPECT_THAT(audio.Channel(3), Each(Eq(0)));
  EXPECT_NEAR(SoxSeconds(Path(r, 0)), 3.0, 1e-6);
  EXPECT_NEAR(FfprobeSeconds(Path(r, 0)), 3.0, 1e-3);
  EXPECT_EQ(r.gaps_size(), 0);
}

class WhisperPolicyTest : public RecordingSessionTest,
                          public ::testing::WithParamInterface<bool> {};

TEST_P(WhisperPolicyTest, WhisperIsOnTheSupervisorChannelOnlyAndOnlyIfKept) {
  const bool keep = GetParam();
  policy_.set_keep_whisper_audio(keep);
  auto s = Create();
  s->OnTapConnected(kStart);
  Feed(*s, {"customer", "agent-1"}, 0, 50);
  v1::AnnotateRecordingRequest attach;
  attach.set_added_leg_id("sup-1");
  attach.set_added_leg_role(v1::ROLE_SUPERVISOR);
  attach.set_added_leg_user_id("lead-1");
  attach.set_supervision("tenants/acme/calls/c-1/supervisions/s-1");
  attach.set_supervisor("lead-1");
  attach.set_mode(v1::MODE_WHISPER);
  *attach.mutable_time() = ToProtoTime(kStart + 50 * kSlot);
  ASSERT_TRUE(s->Annotate(attach, kStart + 50 * kSlot).ok());
  Feed(*s, {"customer", "agent-1", "sup-1"}, 50, 100);  // whisper 2 s
  v1::AnnotateRecordingRequest barge;
  barge.set_supervision("tenants/acme/calls/c-1/supervisions/s-1");
  barge.set_supervisor("lead-1");
  barge.set_mode(v1::MODE_BARGE);
  *barge.mutable_time() = ToProtoTime(kStart + 150 * kSlot);
  ASSERT_TRUE(s->Annotate(barge, kStart + 150 * kSlot).ok());
  Feed(*s, {"customer", "agent-1", "sup-1"}, 150, 50);  // barge 1 s
  ASSERT_TRUE(s->Stop(kStart + 200 * kSlot).ok());
  const v1::Recording r = s->Snapshot();
  EXPECT_EQ(r.whisper_audio_kept(), keep);
  ASSERT_THAT(r.mode_spans(), SizeIs(2));
  EXPECT_EQ(r.mode_spans(0).mode(), v1::MODE_WHISPER);
  EXPECT_EQ(FromProtoTime(r.mode_spans(0).range().end_time()),
            kStart + 150 * kSlot);
  EXPECT_EQ(r.mode_spans(1).mode(), v1::MODE_BARGE);
  EXPECT_EQ(r.channels(2).user_id(), "lead-1");
  const testing::Audio audio = ReadAudio(Path(r, 0));
  const std::vector<int16_t> customer = audio.Channel(0);
  const std::vector<int16_t> supervisor = audio.Channel(2);
  for (int64_t k = 0; k < 200; ++k) {
    const std::vector<int16_t> c(customer.begin() + k * 160,
                                 customer.begin() + (k + 1) * 160);
    ASSERT_EQ(c, PartyFrame(0, k)) << "customer channel at slot " << k;
    const std::vector<int16_t> sup(supervisor.begin() + k * 160,
                                   supervisor.begin() + (k + 1) * 160);
    const bool whisper = k >= 50 && k < 150;
    const bool barge = k >= 150;
    if (barge || (whisper && keep)) {
      ASSERT_EQ(sup, PartyFrame(2, k)) << "supervisor at slot " << k;
    } else {
      ASSERT_THAT(sup, Each(Eq(0))) << "supervisor at slot " << k;
    }
  }
}

INSTANTIATE_TEST_SUITE_P(KeepWhisper, WhisperPolicyTest, ::testing::Bool());

TEST_F(RecordingSessionTest, StereoLayoutPutsSupervisorsInTheirOwnFile) {
  policy_.set_layout(v1::RecordingPolicy::STEREO_PLUS_SUPERVISOR_FILE);
  auto s = Create({{"customer", v1::ROLE_CUSTOMER, "", -1, ""},
                   {"agent-1", v1::ROLE_AGENT, "a-1", -1, ""},
                   {"sup-1", v1::ROLE_SUPERVISOR, "lead-1", -1,
                    "tenants/acme/calls/c-1/supervisions/s-1"}});
  v1::AnnotateRecordingRequest barge;
  barge.set_supervision("tenants/acme/calls/c-1/supervisions/s-1");
  barge.set_mode(v1::MODE_BARGE);
  *barge.mutable_time() = ToProtoTime(kStart);
  ASSERT_TRUE(s->Annotate(barge, kStart).ok());
  Feed(*s, {"customer", "agent-1", "sup-1"}, 0, 50);
  ASSERT_TRUE(s->Stop(kStart + 50 * kSlot).ok());
  const v1::Recording r = s->Snapshot();
  ASSERT_THAT(r.files(), SizeIs(2));
  EXPECT_EQ(r.files(0).channels(), 2u);
  EXPECT_EQ(r.files(1).channels(), 2u);
  const testing::Audio stereo = ReadAudio(Path(r, 0));
  const testing::Audio supervisors = ReadAudio(Path(r, 1));
  const std::vector<int16_t> customer = stereo.Channel(0);
  const std::vector<int16_t> agent = stereo.Channel(1);
  const std::vector<int16_t> supervisor = supervisors.Channel(0);
  EXPECT_EQ(std::vector<int16_t>(customer.begin(), customer.begin() + 160),
            PartyFrame(0, 0));
  EXPECT_EQ(std::vector<int16_t>(agent.begin(), agent.begin() + 160),
            PartyFrame(1, 0));
  EXPECT_EQ(std::vector<int16_t>(supervisor.begin(), supervisor.begin() + 160),
            PartyFrame(2, 0));
  EXPECT_THAT(supervisors.Channel(1), Each(Eq(0)));
  EXPECT_NEAR(SoxSeconds(Path(r, 1)), 1.0, 1e-6);
}

TEST_F(RecordingSessionTest, PausedSpanIsSilentMarkedAndNeverBuffered) {
  auto s = Create();
  s->OnTapConnected(kStart);
  Feed(*s, {"customer", "agent-1"}, 0, 50);
  const absl::Time pause_at = kStart + 50 * kSlot;
  ASSERT_TRUE(s->Pause("card number", pause_at).ok());
  EXPECT_EQ(s->Snapshot().state(), v1::Recording::PAUSED);
  EXPECT_EQ(s->Pause("again", pause_at).code(),
            absl::StatusCode::kFailedPrecondition);
  Feed(*s, {"customer", "agent-1"}, 50, 100);  // 2 s of "card number"
  const absl::Time resume_at = kStart + 150 * kSlot;
  ASSERT_TRUE(s->Resume(resume_at).ok());
  Feed(*s, {"customer", "agent-1"}, 150, 50);
  ASSERT_TRUE(s->Stop(kStart + 200 * kSlot).ok());
  const v1::Recording r = s->Snapshot();
  ASSERT_THAT(r.pauses(), SizeIs(1));
  EXPECT_EQ(FromProtoTime(r.pauses(0).start_time()), pause_at);
  EXPECT_EQ(FromProtoTime(r.pauses(0).end_time()), resume_at);
  const testing::Audio audio = ReadAudio(Path(r, 0));
  ASSERT_EQ(audio.info.frames(), 200u * 160);  // wall clock kept
  for (int party = 0; party < 2; ++party) {
    const std::vector<int16_t> channel = audio.Channel(party);
    for (int64_t k = 0; k < 200; ++k) {
      const std::vector<int16_t> got(channel.begin() + k * 160,
                                     channel.begin() + (k + 1) * 160);
      if (k >= 50 && k < 150) {
        ASSERT_THAT(got, Each(Eq(0))) << "paused slot " << k;
      } else {
        ASSERT_EQ(got, PartyFrame(party, k)) << "slot " << k;
      }
    }
  }
}

TEST_F(RecordingSessionTest, TenSecondsWithoutPacketsAreTenSecondsOfSilence) {
  auto s = Create();
  s->OnTapConnected(kStart);
  Feed(*s, {"customer", "agent-1"}, 0, 50);
  // 10 s: the engine's tap says the customer sent nothing (concealed
  // frames), and the agent's frames are not there at all.
  for (int64_t k = 50; k < 550; ++k) {
    const absl::Time now = kStart + k * kSlot + absl::Milliseconds(30);
    s->OnTapMessage(ConstantFrame("customer", k, 0, /*concealed=*/true), now);
    ASSERT_TRUE(s->Tick(now).ok());
  }
  Feed(*s, {"customer", "agent-1"}, 550, 50);
  ASSERT_TRUE(s->Stop(kStart + 600 * kSlot).ok());
  const v1::Recording r = s->Snapshot();
  const testing::Audio audio = ReadAudio(Path(r, 0));
  EXPECT_EQ(audio.info.frames(), 600u * 160);
  EXPECT_NEAR(SoxSeconds(Path(r, 0)), 12.0, 1e-6);
  EXPECT_NEAR(absl::ToDoubleSeconds(FromProtoDuration(r.duration())), 12.0,
              1e-9);
  for (int party = 0; party < 2; ++party) {
    const std::vector<int16_t> channel = audio.Channel(party);
    EXPECT_THAT(std::vector<int16_t>(channel.begin() + 50 * 160,
                                     channel.begin() + 550 * 160),
                Each(Eq(0)));
    EXPECT_EQ(std::vector<int16_t>(channel.begin() + 550 * 160,
                                   channel.begin() + 551 * 160),
              PartyFrame(party, 550));
  }
  ASSERT_THAT(r.gaps(), SizeIs(1));
  EXPECT_EQ(FromProtoTime(r.gaps(0).range().start_time()), kStart + 50 * kSlot);
  EXPECT_EQ(FromProtoTime(r.gaps(0).range().end_time()), kStart + 550 * kSlot);
  EXPECT_THAT(r.gaps(0).reason(), ::testing::HasSubstr("customer"));
}

TEST_F(RecordingSessionTest, TapBreakIsAMarkedGapAndRecordingResumes) {
  auto s = Create();
  s->OnTapConnected(kStart);
  Feed(*s, {"customer", "agent-1"}, 0, 100);
  s->OnTapBroken("tap stream broke: engine restarted", kStart + 100 * kSlot);
  // Nothing for 3 s; the restarted engine's media time starts again at 0.
  for (int64_t k = 100; k < 250; ++k) {
    ASSERT_TRUE(s->Tick(kStart + k * kSlot).ok());
  }
  s->OnTapConnected(kStart + 250 * kSlot);
  Feed(*s, {"customer", "agent-1"}, 250, 50, /*media_offset=*/-250);
  ASSERT_TRUE(s->Stop(kStart + 300 * kSlot).ok());
  const v1::Recording r = s->Snapshot();
  ASSERT_THAT(r.gaps(), SizeIs(1));
  EXPECT_EQ(FromProtoTime(r.gaps(0).range().start_time()),
            kStart + 100 * kSlot);
  EXPECT_EQ(FromProtoTime(r.gaps(0).range().end_time()), kStart + 250 * kSlot);
  EXPECT_THAT(r.gaps(0).reason(), ::testing::HasSubstr("engine restarted"));
  const testing::Audio audio = ReadAudio(Path(r, 0));
  ASSERT_EQ(audio.info.frames(), 300u * 160);
  const std::vector<int16_t> customer = audio.Channel(0);
  EXPECT_EQ(std::vector<int16_t>(customer.begin() + 250 * 160,
                                 customer.begin() + 251 * 160),
            PartyFrame(0, 250));
}

TEST_F(RecordingSessionTest, FramesOfLegsWithoutARoleAreNotKept) {
  auto s = Create();
  s->OnTapConnected(kStart);
  Feed(*s, {"customer", "agent-1", "stranger"}, 0, 50);
  ASSERT_TRUE(s->Stop(kStart + 50 * kSlot).ok());
  const testing::Audio audio = ReadAudio(Path(s->Snapshot(), 0));
  EXPECT_THAT(audio.Channel(2), Each(Eq(0)));
  EXPECT_THAT(audio.Channel(3), Each(Eq(0)));
}

TEST_F(RecordingSessionTest, DigitsAreKeptOnlyWhenPolicyAllows) {
  for (bool keep : {false, true}) {
    SetUp();
    policy_.set_keep_telephone_events(keep);
    auto s = Create();
    s->OnTapConnected(kStart);
    Feed(*s, {"customer", "agent-1"}, 0, 10);
    v1::TapMessage digit;
    digit.mutable_telephone_event()->set_source_leg_id("customer");
    *digit.mutable_telephone_event()->mutable_media_time() =
        ToProtoDuration(absl::Milliseconds(100));
    digit.mutable_telephone_event()->set_event(7);
    digit.mutable_telephone_event()->set_end(true);
    for (int repeat = 0; repeat < 3; ++repeat) {  // RFC 4733 end x3
      s->OnTapMessage(digit, kStart + 10 * kSlot);
    }
    ASSERT_TRUE(s->Stop(kStart + 20 * kSlot).ok());
    const v1::Recording r = s->Snapshot();
    if (keep) {
      ASSERT_THAT(r.telephone_events(), SizeIs(1));
      EXPECT_EQ(r.telephone_events(0).event(), 7u);
      EXPECT_EQ(r.telephone_events(0).participant(), "customer");
    } else {
      EXPECT_THAT(r.telephone_events(), SizeIs(0));
      EXPECT_EQ(r.SerializeAsString().find("\x18\x07"), std::string::npos);
    }
  }
}

TEST_F(RecordingSessionTest, SegmentsRollAtTheLimitAndEachIsValid) {
  options_.large_files = LargeFiles::kSegment;
  options_.file_limit_bytes = 4 * 160 * 2 * 50;  // 1 s of 4 channels
  auto s = Create();
  s->OnTapConnected(kStart);
  Feed(*s, {"customer", "agent-1"}, 0, 125);  // 2.5 s
  ASSERT_TRUE(s->Stop(kStart + 125 * kSlot).ok());
  const v1::Recording r = s->Snapshot();
  ASSERT_THAT(r.files(), SizeIs(3));
  double total = 0;
  for (int f = 0; f < 3; ++f) {
    EXPECT_EQ(r.files(f).segment(), static_cast<uint32_t>(f));
    EXPECT_EQ(r.files(f).sha256().size(), 64u);
    const double sox = SoxSeconds(Path(r, f));
    EXPECT_NEAR(FfprobeSeconds(Path(r, f)), sox, 1e-3);
    total += sox;
  }
  EXPECT_NEAR(total, 2.5, 1e-6);
  EXPECT_THAT(r.channels(), SizeIs(12));  // 4 per segment file
  // Segment 1 continues the audio where segment 0 stopped.
  const std::vector<int16_t> second = ReadAudio(Path(r, 1)).Channel(0);
  EXPECT_EQ(std::vector<int16_t>(second.begin(), second.begin() + 160),
            PartyFrame(0, 50));
}

TEST_F(RecordingSessionTest, Rf64PastTheLimitKeepsOneValidFile) {
  options_.file_limit_bytes = 4 * 160 * 2 * 50;
  auto s = Create();
  s->OnTapConnected(kStart);
  Feed(*s, {"customer", "agent-1"}, 0, 100);
  ASSERT_TRUE(s->Stop(kStart + 100 * kSlot).ok());
  const v1::Recording r = s->Snapshot();
  ASSERT_THAT(r.files(), SizeIs(1));
  EXPECT_EQ(r.files(0).format(), "rf64");
  EXPECT_NEAR(SoxSeconds(Path(r, 0)), 2.0, 1e-6);
  EXPECT_NEAR(FfprobeSeconds(Path(r, 0)), 2.0, 1e-3);
}

TEST_F(RecordingSessionTest, ReopenAfterACrashRepairsAndMarksTheDowntime) {
  v1::Recording before;
  std::vector<LegBinding> legs;
  {
    auto s = Create();
    s->OnTapConnected(kStart);
    Feed(*s, {"customer", "agent-1"}, 0, 100);
    before = s->Snapshot();
    legs = s->Legs();
  }  // killed: headers as of the last sync, data after it unsynced
  const std::string path = Path(before, 0);
  {
    std::ofstream torn(path, std::ios::binary | std::ios::app);
    torn.write("\x05", 1);
  }
  const absl::Time restart = kStart + 400 * kSlot;
  auto s = RecordingSession::Reopen(options_, before, policy_, legs,
                                    "recorder restarted", restart);
  ASSERT_TRUE(s.ok()) << s.status();
  // Valid again before anything new is written; at most the holdback lost.
  EXPECT_GE(SoxSeconds(path), 2.0 - 0.2 - 0.02);
  EXPECT_NEAR(FfprobeSeconds(path), SoxSeconds(path), 1e-3);
  (*s)->OnTapConnected(restart);
  for (int64_t k = 400; k < 450; ++k) {
    const absl::Time now = kStart + k * kSlot + absl::Milliseconds(30);
    (*s)->OnTapMessage(Frame("customer", k + 1000, PartyFrame(0, k)), now);
    ASSERT_TRUE((*s)->Tick(now).ok());
  }
  ASSERT_TRUE((*s)->Stop(kStart + 450 * kSlot).ok());
  const v1::Recording r = (*s)->Snapshot();
  EXPECT_EQ(r.state(), v1::Recording::FINISHED);
  ASSERT_THAT(r.gaps(), SizeIs(1));
  const absl::Time gap_start = FromProtoTime(r.gaps(0).range().start_time());
  EXPECT_LE(kStart + 100 * kSlot - gap_start, absl::Seconds(1));
  EXPECT_EQ(FromProtoTime(r.gaps(0).range().end_time()), restart);
  EXPECT_EQ(r.gaps(0).reason(), "recorder restarted");
  const testing::Audio audio = ReadAudio(path);
  EXPECT_EQ(audio.info.frames(), 450u * 160);
  const std::vector<int16_t> customer = audio.Channel(0);
  EXPECT_EQ(std::vector<int16_t>(customer.begin() + 400 * 160,
                                 customer.begin() + 401 * 160),
            PartyFrame(0, 400));
}

TEST_F(RecordingSessionTest, FinalizeAfterCrashLeavesValidFilesAndAGapNote) {
  v1::Recording before;
  {
    auto s = Create();
    s->OnTapConnected(kStart);
    Feed(*s, {"customer", "agent-1"}, 0, 100);
    before = s->Snapshot();
  }
  auto r = RecordingSession::FinalizeAfterCrash(
      options_, before, "recorder stopped; room gone", kStart + 500 * kSlot);
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(r->state(), v1::Recording::RECOVERED);
  EXPECT_EQ(r->files(0).sha256().size(), 64u);
  const double seconds = SoxSeconds(Path(*r, 0));
  EXPECT_GE(seconds, 2.0 - 0.2 - 0.02);
  EXPECT_NEAR(FfprobeSeconds(Path(*r, 0)), seconds, 1e-3);
  ASSERT_THAT(r->gaps(), SizeIs(1));
  EXPECT_EQ(r->gaps(0).reason(), "recorder stopped; room gone");
  EXPECT_NEAR(absl::ToDoubleSeconds(FromProtoDuration(r->duration())), seconds,
              1e-6);
}

}  // namespace
}  // namespace sotto::recorder
