// The room mixer routes exactly by the matrix, keeps the customer's audio
// untouched by listening and whispering supervisors, switches on the next
// frame and mixes as soon as inputs are in.
#include "media_engine/mixer/room_mixer.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <array>
#include <cmath>
#include <cstdlib>
#include <functional>
#include <map>
#include <optional>
#include <random>
#include <vector>

namespace sotto::media {
namespace {

constexpr Micros kStart = 1'000'000'000;
enum Member { kCustomer = 0, kAgent = 1, kSupervisor = 2, kSupervisor2 = 3 };
enum class Mode { kListen, kWhisper, kBarge, kTakeover };

// docs/design.md's routing table, written out independently of the broker's
// module so the test checks the engine against the design itself.
RoutingMatrix DesignMatrix(const std::vector<std::pair<int, Mode>>& supervisors,
                           bool agent_present = true) {
  RoutingMatrix m;
  bool takeover = false;
  for (const auto& [member, mode] : supervisors) {
    takeover |= mode == Mode::kTakeover;
  }
  auto set = [&](int source, int sink, float gain) {
    EXPECT_TRUE(m.Set(source, sink, gain).ok());
  };
  if (agent_present) {
    set(kCustomer, kAgent, 1);
    set(kAgent, kCustomer, takeover ? 0 : 1);
  }
  for (const auto& [s, mode] : supervisors) {
    set(kCustomer, s, 1);
    if (agent_present) set(kAgent, s, 1);
    const bool to_agent = mode != Mode::kListen;
    const bool to_customer = mode == Mode::kBarge || mode == Mode::kTakeover;
    if (agent_present) set(s, kAgent, to_agent ? 1 : 0);
    set(s, kCustomer, to_customer ? 1 : 0);
    for (const auto& [other, unused] : supervisors) {
      if (other != s) set(s, other, to_agent ? 1 : 0);
    }
  }
  return m;
}

// One member's outgoing audio: a tone of its own, 20 ms packets, with
// seeded random network delay (the same in every scenario).
struct Sender {
  int member;
  double hz;
  double amplitude;
  Micros phase;       // offset of its packet clock
  Micros max_jitter;  // uniform 0..max delay
  bool square = false;
  int64_t stop_after_packets = -1;  // stops sending (hold, hang-up)
};

struct Packet {
  Micros arrival;
  int member;
  uint32_t timestamp;
  std::vector<int16_t> samples;
};

std::vector<Packet> MakePackets(const std::vector<Sender>& senders,
                                Micros duration) {
  std::vector<Packet> packets;
  for (const Sender& s : senders) {
    std::mt19937 rng(1000 + s.member);
    std::uniform_int_distribution<Micros> jitter(0, s.max_jitter);
    const int64_t count = duration / kFrameMicros;
    for (int64_t i = 0; i < count; ++i) {
      if (s.stop_after_packets >= 0 && i >= s.stop_after_packets) break;
      Packet p;
      p.member = s.member;
      p.timestamp =
          static_cast<uint32_t>(12345 * (s.member + 1) + i * kSamplesPerFrame);
      p.arrival = kStart + s.phase + (i + 1) * kFrameMicros + jitter(rng);
      p.samples.resize(kSamplesPerFrame);
      for (int n = 0; n < kSamplesPerFrame; ++n) {
        const double t =
            static_cast<double>(i * kSamplesPerFrame + n) / kSampleRateHz;
        const double v = std::sin(2 * M_PI * s.hz * t);
        p.samples[n] = static_cast<int16_t>(
            s.square ? (v >= 0 ? s.amplitude : -s.amplitude) : s.amplitude * v);
      }
      packets.push_back(std::move(p));
    }
  }
  std::stable_sort(
      packets.begin(), packets.end(),
      [](const Packet& a, const Packet& b) { return a.arrival < b.arrival; });
  return packets;
}

struct Emission {
  int64_t slot;
  AudioFrame frame;
  Micros time;
  // For a mixed frame: the exact, unbounded sum of gain x input over the
  // inputs readable when it was mixed (what a limiter-free mixer would
  // have had to fit into int16).
  std::array<int, kSamplesPerFrame> true_sum{};
};

// Records everything the mixer emits and checks every mixed frame against
// the matrix in force when it was mixed.
class Harness : public RoomMixerObserver {
 public:
  Harness() : mixer_(kStart, this) {}

  void Add(int member) { ASSERT_TRUE(mixer_.AddMember(member, now_).ok()); }
  void SetRouting(const RoutingMatrix& m) {
    mixer_.SetRouting(m);
    routing_ = m;
    switch_time_ = now_;
    first_after_switch_.clear();
  }

  // Runs the room until `end`, delivering packets at their arrival times
  // and processing at the mixer's wake-ups, like a worker does. `at`
  // callbacks run at their time (mode switches).
  void Run(const std::vector<Packet>& packets, Micros end,
           std::map<Micros, std::function<void()>> at = {}) {
    size_t next_packet = 0;
    int guard = 0;
    while (now_ < end && ++guard < 10'000'000) {
      Micros next = std::min(end, mixer_.NextWakeup());
      if (next_packet < packets.size()) {
        next = std::min(next, packets[next_packet].arrival);
      }
      if (!at.empty()) next = std::min(next, at.begin()->first);
      next = std::max(next, now_);
      now_ = next;
      if (!at.empty() && at.begin()->first <= now_) {
        at.begin()->second();
        at.erase(at.begin());
        continue;
      }
      if (next_packet < packets.size() &&
          packets[next_packet].arrival <= now_) {
        const Packet& p = packets[next_packet++];
        mixer_.OnAudio(p.member, p.timestamp, p.samples, true, now_);
        continue;
      }
      mixer_.Process(now_);
      if (mixer_.NextWakeup() <= now_) now_ += 100;  // never spin
    }
  }

  void OnMixedFrame(int sink, int64_t slot, const AudioFrame& frame,
                    Micros max_input_wait) override {
    max_wait_[sink] = std::max(max_wait_[sink], max_input_wait);
    // The expected mix: gain x the tap's frame of every source, exactly.
    AudioFrame expected{};
    std::array<int, kSamplesPerFrame> true_sum{};
    bool limited = false;
    for (int source = 0; source < kMaxRoomMembers; ++source) {
      const float gain = routing_.Gain(source, sink);
      if (source == sink || gain <= 0 || !mixer_.HasMember(source)) continue;
      const SourceBuffer* buffer = mixer_.source(source);
      if (!buffer->Readable(slot)) continue;
      for (int i = 0; i < kSamplesPerFrame; ++i) {
        true_sum[i] += static_cast<int>(gain * buffer->Frame(slot)[i]);
        const int sum =
            expected[i] + static_cast<int>(gain * buffer->Frame(slot)[i]);
        limited |= std::abs(sum) > 32767;
        expected[i] = static_cast<int16_t>(std::clamp(sum, -32767, 32767));
      }
    }
    if (check_exact_ && !limited) {
      EXPECT_EQ(frame, expected) << "sink " << sink << " slot " << slot;
    }
    if (!first_after_switch_.count(sink)) {
      first_after_switch_[sink] = slot;
    }
    out_[sink].push_back({slot, frame, now_, true_sum});
  }

  void OnSourceFrame(int source, int64_t slot, const AudioFrame& frame,
                     bool concealed) override {
    tap_[source].push_back({slot, frame, now_});
    (void)concealed;
  }

  RoomMixer mixer_;
  RoutingMatrix routing_;
  Micros now_ = kStart;
  Micros switch_time_ = 0;
  bool check_exact_ = true;
  std::map<int, int64_t> first_after_switch_;
  std::map<int, Micros> max_wait_;
  std::map<int, std::vector<Emission>> out_;
  std::map<int, std::vector<Emission>> tap_;
};

const Sender kCustomerVoice{kCustomer, 300, 6000, 0, 3000};
const Sender kAgentVoice{kAgent, 500, 6000, 7000, 3000};
const Sender kSupervisorVoice{kSupervisor, 700, 6000, 13000, 3000};
const Sender kSupervisor2Voice{kSupervisor2, 900, 6000, 4000, 3000};
constexpr Micros kCall = 4'000'000;

std::vector<Emission> CustomerHears(std::optional<Mode> mode, int sink) {
  Harness h;
  h.Add(kCustomer);
  h.Add(kAgent);
  std::vector<Sender> senders = {kCustomerVoice, kAgentVoice};
  if (mode) {
    h.Add(kSupervisor);
    senders.push_back(kSupervisorVoice);
    h.SetRouting(DesignMatrix({{kSupervisor, *mode}}));
  } else {
    h.SetRouting(DesignMatrix({}));
  }
  h.Run(MakePackets(senders, kCall), kStart + kCall);
  return h.out_[sink];
}

void ExpectSameAudio(const std::vector<Emission>& a,
                     const std::vector<Emission>& b) {
  ASSERT_EQ(a.size(), b.size());
  ASSERT_GT(a.size(), 150u);
  for (size_t i = 0; i < a.size(); ++i) {
    ASSERT_EQ(a[i].slot, b[i].slot) << i;
    ASSERT_EQ(a[i].frame, b[i].frame) << "frame " << i;
  }
}

TEST(RoomMixerTest, ListenAndWhisperNeverChangeWhatTheCustomerHears) {
  const auto alone = CustomerHears(std::nullopt, kCustomer);
  ExpectSameAudio(alone, CustomerHears(Mode::kListen, kCustomer));
  ExpectSameAudio(alone, CustomerHears(Mode::kWhisper, kCustomer));
}

TEST(RoomMixerTest, ListenNeverChangesWhatTheAgentHears) {
  ExpectSameAudio(CustomerHears(std::nullopt, kAgent),
                  CustomerHears(Mode::kListen, kAgent));
}

TEST(RoomMixerTest, EveryModeRoutesExactlyByTheDesignMatrix) {
  for (Mode mode :
       {Mode::kListen, Mode::kWhisper, Mode::kBarge, Mode::kTakeover}) {
    Harness h;  // checks every frame of every sink against the matrix
    for (int m : {kCustomer, kAgent, kSupervisor}) h.Add(m);
    h.SetRouting(DesignMatrix({{kSupervisor, mode}}));
    h.Run(MakePackets({kCustomerVoice, kAgentVoice, kSupervisorVoice}, kCall),
          kStart + kCall);
    for (int sink : {kCustomer, kAgent, kSupervisor}) {
      EXPECT_GT(h.out_[sink].size(), 190u) << "sink " << sink;
    }
  }
}

TEST(RoomMixerTest, TwoSupervisorsInDifferentModesEachHearTheRightPeople) {
  Harness h;
  for (int m : {kCustomer, kAgent, kSupervisor, kSupervisor2}) h.Add(m);
  const RoutingMatrix matrix = DesignMatrix(
      {{kSupervisor, Mode::kWhisper}, {kSupervisor2, Mode::kListen}});
  // Spot-check the design the matrix encodes, then every frame against it.
  EXPECT_TRUE(matrix.Hears(kSupervisor2, kSupervisor));   // hears the whisper
  EXPECT_FALSE(matrix.Hears(kSupervisor, kSupervisor2));  // listener is silent
  EXPECT_FALSE(matrix.Hears(kCustomer, kSupervisor));
  h.SetRouting(matrix);
  h.Run(MakePackets(
            {kCustomerVoice, kAgentVoice, kSupervisorVoice, kSupervisor2Voice},
            kCall),
        kStart + kCall);
  EXPECT_GT(h.out_[kSupervisor2].size(), 190u);
}

TEST(RoomMixerTest, ModeSwitchTakesEffectOnTheNextFrame) {
  Harness h;
  for (int m : {kCustomer, kAgent, kSupervisor}) h.Add(m);
  h.SetRouting(DesignMatrix({{kSupervisor, Mode::kListen}}));
  const Micros switch_at = kStart + 1'234'567;
  std::map<Micros, std::function<void()>> at;
  at[switch_at] = [&] {
    h.SetRouting(DesignMatrix({{kSupervisor, Mode::kBarge}}));
  };
  h.Run(MakePackets({kCustomerVoice, kAgentVoice, kSupervisorVoice}, kCall),
        kStart + kCall, at);
  // Every frame was checked against the matrix in force when it was mixed;
  // the customer's first frame after the switch carries the supervisor.
  const int64_t first = h.first_after_switch_.at(kCustomer);
  const SourceBuffer* supervisor = h.mixer_.source(kSupervisor);
  (void)supervisor;
  auto it = std::find_if(h.out_[kCustomer].begin(), h.out_[kCustomer].end(),
                         [&](const Emission& e) { return e.slot == first; });
  ASSERT_NE(it, h.out_[kCustomer].end());
  EXPECT_GE(it->time, switch_at);
  // ...and it was mixed within one frame of the switch.
  EXPECT_LE(it->time, switch_at + kFrameMicros + 5000);
}

// Runs `members` (all barging supervisors beyond the agent) sending in-phase
// square waves of `amplitude`, and checks every sample every sink got
// against the true (unbounded) sum of what it hears. Returns how many
// samples would have changed sign had the sum wrapped in int16 in
// `would_flip`, so the caller can assert the scenario is one in which a wrap
// is visible.
void ExpectNoWrap(const std::vector<int>& members, double amplitude,
                  int* would_flip) {
  Harness h;
  h.check_exact_ = false;  // the limiter is expected to act
  for (int m : members) h.Add(m);
  std::vector<std::pair<int, Mode>> supervisors;
  for (int m : members) {
    if (m != kCustomer && m != kAgent) supervisors.push_back({m, Mode::kBarge});
  }
  h.SetRouting(DesignMatrix(supervisors));
  std::vector<Sender> loud;
  for (Sender s :
       {kCustomerVoice, kAgentVoice, kSupervisorVoice, kSupervisor2Voice}) {
    if (std::find(members.begin(), members.end(), s.member) == members.end())
      continue;
    s.amplitude = amplitude;
    s.square = true;
    s.hz = 250;  // all in phase: the worst case for the sum
    s.phase = 0;
    loud.push_back(s);
  }
  h.Run(MakePackets(loud, kCall), kStart + kCall);

  *would_flip = 0;
  int overloaded = 0;
  for (int sink : members) {
    const auto& frames = h.out_[sink];
    EXPECT_GT(frames.size(), 150u) << "sink " << sink;
    for (const Emission& e : frames) {
      for (int i = 0; i < kSamplesPerFrame; ++i) {
        const int truth = e.true_sum[i];
        const int out = e.frame[i];
        // The sign of the true sum, whatever the limiter did: a wrapped sum
        // of two full-scale samples (65534 -> -2) fails here.
        ASSERT_EQ(out > 0, truth > 0)
            << "sink " << sink << " slot " << e.slot << " sample " << i << ": "
            << out << " for a true sum of " << truth;
        ASSERT_EQ(out < 0, truth < 0)
            << "sink " << sink << " slot " << e.slot << " sample " << i << ": "
            << out << " for a true sum of " << truth;
        const bool wraps = truth > 32767 || truth < -32768;
        if (wraps && (static_cast<int16_t>(truth) > 0) != (truth > 0)) {
          ++*would_flip;
        }
        if (i < FrameCombiner::kAttackSamples) continue;
        // Once the limiter has settled on the frame's gain, the loud sum is
        // turned down to full scale (not clipped to nothing, not left over).
        ASSERT_LE(std::abs(out), 32767) << "sink " << sink;
        if (wraps) {
          ++overloaded;
          EXPECT_GE(std::abs(out), 32000)
              << "sink " << sink << " slot " << e.slot << " sample " << i
              << ": the limiter should hold an overloaded sum near full "
                 "scale, got "
              << out << " for " << truth;
        }
      }
    }
  }
  EXPECT_GT(overloaded, 10000);
}

TEST(RoomMixerTest, FullScalePartiesAndABargingSupervisorNeverWrap) {
  // Customer, agent and a barging supervisor, all at full scale: every
  // sink hears two in-phase sources summing to +-65534, which int16 would
  // wrap to -+2. Most overloaded samples must be ones a wrap would flip,
  // or the sign check above could not see it.
  int flips = 0;
  ExpectNoWrap({kCustomer, kAgent, kSupervisor}, 32767, &flips);
  EXPECT_GT(flips, 10000);
}

TEST(RoomMixerTest, ThreeLoudSourcesIntoOneSinkNeverWrap) {
  // Four members (two barging supervisors): every sink hears three. Three
  // full-scale sources sum to 98301, which wraps to 32765 with the same
  // sign, so use 21845 each: 65535 wraps to -1.
  int flips = 0;
  ExpectNoWrap({kCustomer, kAgent, kSupervisor, kSupervisor2}, 21845, &flips);
  EXPECT_GT(flips, 10000);
}

TEST(RoomMixerTest, FramesAreMixedTheMomentTheirInputsArrive) {
  Harness h;
  for (int m : {kCustomer, kAgent, kSupervisor}) h.Add(m);
  h.SetRouting(DesignMatrix({{kSupervisor, Mode::kWhisper}}));
  h.Run(MakePackets({kCustomerVoice, kAgentVoice, kSupervisorVoice}, kCall),
        kStart + kCall);
  // The customer hears only the agent: each of its frames goes out at the
  // very moment the agent's packet for it arrives, though the supervisor
  // (whom the customer does not hear) sends at another phase.
  std::map<int64_t, Micros> agent_arrival;
  for (const Emission& e : h.tap_[kAgent]) agent_arrival[e.slot] = e.time;
  int checked = 0;
  for (const Emission& e : h.out_[kCustomer]) {
    auto found = agent_arrival.find(e.slot);
    if (found == agent_arrival.end()) continue;
    EXPECT_EQ(e.time, found->second) << "slot " << e.slot;
    ++checked;
  }
  EXPECT_GT(checked, 190);
  EXPECT_EQ(h.max_wait_[kCustomer], 0);
  // The agent hears customer and supervisor: it waits for the later of the
  // two, never for a timer.
  std::map<int64_t, Micros> customer_arrival, supervisor_arrival;
  for (const Emission& e : h.tap_[kCustomer]) customer_arrival[e.slot] = e.time;
  for (const Emission& e : h.tap_[kSupervisor]) {
    supervisor_arrival[e.slot] = e.time;
  }
  checked = 0;
  const auto& agent_out = h.out_[kAgent];
  // From the fifth frame on: until every source has sent once, a source
  // that has not started is not waited for.
  for (size_t i = 5; i < agent_out.size(); ++i) {
    const Emission& e = agent_out[i];
    if (!customer_arrival.count(e.slot) || !supervisor_arrival.count(e.slot)) {
      continue;
    }
    EXPECT_EQ(e.time,
              std::max(customer_arrival[e.slot], supervisor_arrival[e.slot]));
    ++checked;
  }
  EXPECT_GT(checked, 190);
}

TEST(RoomMixerTest, FramesWaitingForALostPacketAreCountedAsMixedAtTheDeadline) {
  auto run = [](int lose_every) {
    Harness h;
    for (int m : {kCustomer, kAgent, kSupervisor}) h.Add(m);
    h.SetRouting(DesignMatrix({{kSupervisor, Mode::kListen}}));
    std::vector<Packet> packets =
        MakePackets({kCustomerVoice, kAgentVoice, kSupervisorVoice}, kCall);
    int lost = 0;
    if (lose_every > 0) {
      // Every n-th agent packet after the first second never arrives.
      int index = 0;
      packets.erase(std::remove_if(packets.begin(), packets.end(),
                                   [&](const Packet& p) {
                                     if (p.member != kAgent) return false;
                                     const bool drop =
                                         ++index > 50 &&
                                         index % lose_every == 0 && index < 190;
                                     lost += drop;
                                     return drop;
                                   }),
                    packets.end());
    }
    h.Run(packets, kStart + kCall);
    return std::make_pair(lost, h.mixer_.frames_mixed_at_deadline());
  };
  // A clean call: every frame is mixed the moment its inputs are in.
  EXPECT_EQ(run(0).second, 0u);
  // Each lost agent packet is one concealed frame, which the two sinks
  // that hear the agent (customer and supervisor) each mix at its deadline.
  const auto [lost, at_deadline] = run(10);
  ASSERT_GT(lost, 10);
  EXPECT_EQ(at_deadline, 2u * static_cast<uint64_t>(lost));
}

// Runs customer, agent and a listening supervisor; the agent stops talking
// after two seconds, signalling comfort noise (or not) 1 ms after its last
// packet. Returns how many of the supervisor's frames after the agent's
// last audio were mixed later than the customer's input for them arrived.
int SupervisorFramesDelayedAfterAgentFallsSilent(bool comfort_noise) {
  Harness h;
  for (int m : {kCustomer, kAgent, kSupervisor}) h.Add(m);
  h.SetRouting(DesignMatrix({{kSupervisor, Mode::kListen}}));
  Sender agent = kAgentVoice;
  agent.stop_after_packets = 100;
  const std::vector<Packet> packets =
      MakePackets({kCustomerVoice, agent, kSupervisorVoice}, kCall);
  Micros last_agent = 0;
  for (const Packet& p : packets) {
    if (p.member == kAgent) last_agent = std::max(last_agent, p.arrival);
  }
  std::map<Micros, std::function<void()>> at;
  if (comfort_noise) {
    at[last_agent + 1000] = [&] { h.mixer_.OnSourceSilent(kAgent, h.now_); };
  }
  h.Run(packets, kStart + kCall, at);
  std::map<int64_t, Micros> customer_arrival;
  for (const Emission& e : h.tap_[kCustomer]) customer_arrival[e.slot] = e.time;
  int64_t last_agent_slot = 0;
  for (const Emission& e : h.tap_[kAgent]) {
    if (!h.mixer_.source(kAgent)->Concealed(e.slot) && e.time <= last_agent) {
      last_agent_slot = std::max(last_agent_slot, e.slot);
    }
  }
  int delayed = 0, checked = 0;
  for (const Emission& e : h.out_[kSupervisor]) {
    if (e.slot <= last_agent_slot + 1) continue;  // the CN's own frame
    auto found = customer_arrival.find(e.slot);
    if (found == customer_arrival.end()) continue;
    ++checked;
    delayed += e.time > found->second;
  }
  EXPECT_GT(checked, 80);
  return delayed;
}

TEST(RoomMixerTest, ASourceThatSignalsComfortNoiseIsNotWaitedFor) {
  // Without comfort noise the supervisor's frames wait for the silent
  // agent's deadlines until the agent times out (120 ms)...
  EXPECT_GT(SupervisorFramesDelayedAfterAgentFallsSilent(false), 3);
  // ...with it, every frame goes out the moment the customer's audio is in.
  EXPECT_EQ(SupervisorFramesDelayedAfterAgentFallsSilent(true), 0);
}

// A fixed number of frames of a constant level, as a cue tone would be.
class ConstantClip : public ExtraAudio {
 public:
  ConstantClip(int16_t level, int frames) : level_(level), frames_(frames) {}
  bool Render(int64_t slot, AudioFrame* out) override {
    (void)slot;
    if (rendered_ == frames_) return false;
    ++rendered_;
    out->fill(level_);
    return true;
  }
  int rendered() const { return rendered_; }

 private:
  int16_t level_;
  int frames_;
  int rendered_ = 0;
};

TEST(RoomMixerTest, ExtraAudioIsAddedForItsSinkAloneThenStops) {
  // The same call twice, once with a 10-frame clip played to the agent.
  Harness plain;
  Harness played;
  ConstantClip clip(1000, 10);
  for (Harness* h : {&plain, &played}) {
    h->check_exact_ = false;  // the harness's expectation knows no clips
    h->Add(kCustomer);
    h->Add(kAgent);
    h->SetRouting(DesignMatrix({}));
  }
  played.mixer_.SetExtraAudio(kAgent, &clip);
  const auto packets = MakePackets({kCustomerVoice, kAgentVoice}, kCall);
  plain.Run(packets, kStart + kCall);
  played.Run(packets, kStart + kCall);
  EXPECT_EQ(clip.rendered(), 10);
  // The customer hears exactly the same call.
  ExpectSameAudio(played.out_[kCustomer], plain.out_[kCustomer]);
  // The agent hears the clip on top of the customer for its first ten
  // frames, then exactly the same call again.
  const auto& with = played.out_[kAgent];
  const auto& without = plain.out_[kAgent];
  ASSERT_EQ(with.size(), without.size());
  ASSERT_GT(with.size(), 20u);
  for (size_t i = 0; i < with.size(); ++i) {
    ASSERT_EQ(with[i].slot, without[i].slot);
    for (int n = 0; n < kSamplesPerFrame; ++n) {
      ASSERT_EQ(with[i].frame[n] - without[i].frame[n], i < 10 ? 1000 : 0)
          << "frame " << i << " sample " << n;
    }
  }
}

TEST(RoomMixerTest, ASinkThatHearsNobodyStillGetsFiftyFramesASecond) {
  Harness h;
  h.Add(kCustomer);
  h.Add(kAgent);
  h.SetRouting(DesignMatrix({}));
  h.Run({}, kStart + 2'000'000);
  for (int sink : {kCustomer, kAgent}) {
    const auto& frames = h.out_[sink];
    ASSERT_GE(frames.size(), 99u);
    ASSERT_LE(frames.size(), 101u);
    for (size_t i = 1; i < frames.size(); ++i) {
      EXPECT_EQ(frames[i].slot, frames[i - 1].slot + 1);
      EXPECT_EQ(frames[i].time - frames[i - 1].time, kFrameMicros);
      for (int16_t s : frames[i].frame) ASSERT_EQ(s, 0);
    }
  }
}

TEST(RoomMixerTest, ASourceThatStopsFadesOutWithoutDisturbingAnyoneElse) {
  Harness h;
  for (int m : {kCustomer, kAgent, kSupervisor}) h.Add(m);
  h.SetRouting(DesignMatrix({{kSupervisor, Mode::kListen}}));
  Sender agent = kAgentVoice;
  agent.stop_after_packets = 100;  // hangs up after 2 s
  h.Run(MakePackets({kCustomerVoice, agent, kSupervisorVoice}, kCall),
        kStart + kCall);
  // The supervisor's stream has no gap: one frame per slot throughout.
  const auto& sup = h.out_[kSupervisor];
  for (size_t i = 1; i < sup.size(); ++i) {
    ASSERT_EQ(sup[i].slot, sup[i - 1].slot + 1);
  }
  // The customer keeps getting frames on time; the last ones are silence.
  const auto& customer = h.out_[kCustomer];
  ASSERT_GT(customer.size(), 190u);
  for (size_t i = 1; i < customer.size(); ++i) {
    ASSERT_EQ(customer[i].slot, customer[i - 1].slot + 1);
  }
  for (size_t i = customer.size() - 50; i < customer.size(); ++i) {
    for (int16_t s : customer[i].frame) ASSERT_EQ(s, 0);
  }
  // After the agent stopped, what the supervisor hears is the customer's
  // audio alone, exactly (the frame checker verified it), and it kept being
  // mixed the moment the customer's packets arrived.
  std::map<int64_t, Micros> customer_arrival;
  for (const Emission& e : h.tap_[kCustomer]) customer_arrival[e.slot] = e.time;
  int checked = 0;
  for (size_t i = sup.size() - 50; i < sup.size(); ++i) {
    auto found = customer_arrival.find(sup[i].slot);
    if (found == customer_arrival.end()) continue;
    EXPECT_EQ(sup[i].time, found->second);
    ++checked;
  }
  EXPECT_GT(checked, 40);
}

}  // namespace
}  // namespace sotto::media
