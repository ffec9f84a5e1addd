// The engine over real UDP sockets and SRTP: routing by matrix, immediate
// mode switches, hostile traffic, NAT rebinding, re-keying and the tap.
#include "media_engine/engine/engine.h"

#include <gtest/gtest.h>

#include <array>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <functional>
#include <map>
#include <random>
#include <set>
#include <thread>

#include "tests/media_engine/engine/loopback_engine_options.h"
#include "tests/media_engine/engine/srtp_peer.h"

namespace sotto::media {
namespace {

// Under a sanitizer the engine runs several times slower on the same two
// cores, so a rare packet can miss its deadline: the timing assertions
// allow that there (the sanitizer runs are for memory and race bugs); the
// plain build must be exact.
#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__) || \
    defined(SOTTO_TSAN)
constexpr double kExact = 0.98;
constexpr uint64_t kLateAllowed = 3;
#else
constexpr double kExact = 1.0;
constexpr uint64_t kLateAllowed = 0;
#endif

using testing::ReceivedPacket;
using testing::SrtpPeer;

int16_t Q(int value) {  // what a value becomes through PCMU
  return codec::UlawToLinear(codec::LinearToUlaw(
      static_cast<int16_t>(std::clamp(value, -32768, 32767))));
}

struct Party {
  std::string leg;
  int16_t level = 0;  // constant sample value it sends
  std::unique_ptr<SrtpPeer> peer;
  LegDescription description;
  srtp::SrtpKeyMaterial send_key = *srtp::SrtpKeyMaterial::Generate(
      srtp::SrtpCryptoSuite::kAesCm128HmacSha1_80);
  std::vector<ReceivedPacket> heard;
};

class EngineTest : public ::testing::Test {
 protected:
  void SetUp() override {
    // Reports every ~0.2 s, not 5 s.
    engine_ = std::make_unique<Engine>(testing::LoopbackEngineOptions(
        /*workers=*/2, /*rtcp_interval=*/200'000));
  }

  Party& Add(
      const std::string& leg, int16_t level,
      srtp::SrtpCryptoSuite suite = srtp::SrtpCryptoSuite::kAesCm128HmacSha1_80,
      AudioCodec codec = AudioCodec::kPcmu, int ptime_ms = 20,
      const std::function<void(LegSpec&)>& customize = nullptr) {
    auto party = std::make_unique<Party>();
    party->leg = leg;
    party->level = level;
    party->send_key = *srtp::SrtpKeyMaterial::Generate(suite);
    // The peer's socket exists before the engine is told its address.
    party->peer = std::make_unique<SrtpPeer>(std::nullopt, std::nullopt);
    LegSpec spec;
    spec.room_id = "room-1";
    spec.leg_id = leg;
    spec.config.leg_id = leg;
    spec.config.remote_rtp = party->peer->address();
    spec.config.remote_key = party->send_key;
    spec.config.telephone_event_payload_type = 101;
    spec.config.codec = codec;
    spec.config.payload_type = codec == AudioCodec::kPcmu ? 0 : 8;
    spec.config.ptime_ms = ptime_ms;
    if (customize) customize(spec);
    auto description = engine_->AddLeg(spec);
    EXPECT_TRUE(description.ok()) << description.status();
    party->description = *description;
    party->peer->SetKeys(party->send_key, description->config.local_key);
    party->peer->set_alaw(codec == AudioCodec::kPcma);
    party->peer->set_target(
        *net::SocketAddress::Parse("127.0.0.1", description->rtp_port));
    parties_[leg] = std::move(party);
    return *parties_[leg];
  }

  // A plain-RTP leg (no keys) whose peer is told to the engine up front.
  Party& AddPlain(const std::string& leg, int16_t level,
                  AudioCodec codec = AudioCodec::kPcmu) {
    auto party = std::make_unique<Party>();
    party->leg = leg;
    party->level = level;
    party->peer = std::make_unique<SrtpPeer>(std::nullopt, std::nullopt);
    LegSpec spec;
    spec.room_id = "room-1";
    spec.leg_id = leg;
    spec.config.leg_id = leg;
    spec.config.remote_rtp = party->peer->address();
    spec.config.telephone_event_payload_type = 101;
    spec.config.codec = codec;
    spec.config.payload_type = codec == AudioCodec::kPcmu ? 0 : 8;
    auto description = engine_->AddLeg(spec);
    EXPECT_TRUE(description.ok()) << description.status();
    party->description = *description;
    party->peer->set_alaw(codec == AudioCodec::kPcma);
    party->peer->set_target(
        *net::SocketAddress::Parse("127.0.0.1", description->rtp_port));
    parties_[leg] = std::move(party);
    return *parties_[leg];
  }

  // Polls the room's stats until `done` holds for the leg or `timeout`
  // passes; returns the last snapshot (the caller asserts on it).
  LegStats WaitForLeg(
      const std::string& leg_id,
      const std::function<bool(const LegStats&)>& done,
      std::chrono::milliseconds timeout = std::chrono::milliseconds(3000)) {
    const auto deadline = std::chrono::steady_clock::now() + timeout;
    LegStats leg;
    do {
      auto stats = engine_->GetStats("room-1");
      if (stats.ok() && !stats->empty() && stats->front().legs.count(leg_id)) {
        leg = stats->front().legs.at(leg_id);
        if (done(leg)) break;
      }
      // A poll interval, not a wait for an event: each poll costs the
      // worker a task.
      std::this_thread::sleep_for(std::chrono::milliseconds(2));
    } while (std::chrono::steady_clock::now() < deadline);
    return leg;
  }

  // docs/design.md's matrix for customer, agent and one supervisor.
  void Route(const std::string& mode) {
    std::vector<RoutingEntry> e = {{"customer", "agent", 1}};
    e.push_back({"agent", "customer", mode == "takeover" ? 0.0f : 1.0f});
    if (parties_.count("supervisor")) {
      e.push_back({"customer", "supervisor", 1});
      e.push_back({"agent", "supervisor", 1});
      if (mode != "listen") e.push_back({"supervisor", "agent", 1});
      if (mode == "barge" || mode == "takeover") {
        e.push_back({"supervisor", "customer", 1});
      }
    }
    auto result = engine_->SetRouting("room-1", e, 0);
    ASSERT_TRUE(result.ok()) << result.status();
  }

  // Sends one 20 ms packet per party every 20 ms of real time (pacing, as a
  // phone does) and collects what each party receives.
  void Run(std::chrono::milliseconds duration,
           const std::function<void(int)>& each_tick = nullptr) {
    const auto start = std::chrono::steady_clock::now();
    const int ticks = static_cast<int>(duration.count() / 20);
    for (int tick = 0; tick < ticks; ++tick) {
      std::this_thread::sleep_until(start +
                                    std::chrono::milliseconds(20 * tick));
      for (auto& [leg, party] : parties_) {
        if (party->level != kSilent) {
          party->peer->Send(
              std::vector<int16_t>(kSamplesPerFrame, party->level));
        }
        auto heard = party->peer->Drain();
        party->heard.insert(party->heard.end(), heard.begin(), heard.end());
      }
      if (each_tick) each_tick(tick);
    }
    for (auto& [leg, party] : parties_) {
      auto heard = party->peer->Drain();
      party->heard.insert(party->heard.end(), heard.begin(), heard.end());
    }
  }

  // A sink's outgoing stream is one RTP stream whatever its inputs did: one
  // SSRC, sequence numbers +1 and timestamps +160 (20 ms) per packet, and
  // the marker bit only on the first packet (Leg::SendFrame marks the start
  // and a skipped slot, and the room skips slots only when its worker
  // stalls for over 200 ms).
  static void ExpectOneContinuousStream(const Party& party) {
    const std::vector<ReceivedPacket>& heard = party.heard;
    ASSERT_FALSE(heard.empty()) << party.leg;
    EXPECT_TRUE(heard.front().marker) << party.leg;
    for (size_t i = 1; i < heard.size(); ++i) {
      ASSERT_EQ(heard[i].ssrc, heard[0].ssrc) << party.leg << " packet " << i;
      ASSERT_EQ(
          static_cast<uint16_t>(heard[i].sequence - heard[i - 1].sequence), 1)
          << party.leg << " packet " << i;
      ASSERT_EQ(heard[i].timestamp - heard[i - 1].timestamp, 160u)
          << party.leg << " packet " << i;
      ASSERT_FALSE(heard[i].marker) << party.leg << " packet " << i;
    }
  }

  // Share of packets since `from` whose every sample equals `expected`.
  static double ShareExactly(const std::vector<ReceivedPacket>& heard,
                             size_t from, int16_t expected) {
    size_t exact = 0, total = 0;
    for (size_t i = from; i < heard.size(); ++i) {
      ++total;
      bool all = true;
      for (int16_t s : heard[i].samples) all &= s == expected;
      exact += all;
    }
    return total == 0 ? 0.0 : static_cast<double>(exact) / total;
  }

  // Waits until the leg has received every audio packet its peer sent
  // (sequence numbers start at 1000), so nothing is in flight.
  void WaitUntilReceivedAll(const Party& party) {
    const uint64_t sent =
        static_cast<uint16_t>(party.peer->sequence() - uint16_t{1000});
    const LegStats leg = WaitForLeg(party.leg, [&](const LegStats& l) {
      return l.packets_received >= sent;
    });
    ASSERT_EQ(leg.packets_received, sent) << DescribeLeg(party.leg);
  }

  std::string DescribeLeg(const std::string& leg_id) {
    auto stats = engine_->GetStats("room-1");
    if (!stats.ok()) return stats.status().ToString();
    const LegStats& leg = stats->front().legs.at(leg_id);
    std::string out = leg_id +
                      ": received=" + std::to_string(leg.packets_received) +
                      " ssrc_changes=" + std::to_string(leg.ssrc_changes) +
                      " latches=" + std::to_string(leg.latches);
    for (int i = 0; i < kDropReasonCount; ++i) {
      if (leg.drops[i]) {
        out += " " + std::string(DropReasonName(static_cast<DropReason>(i))) +
               "=" + std::to_string(leg.drops[i]);
      }
    }
    return out;
  }
  static std::string Levels(const std::vector<ReceivedPacket>& heard) {
    std::string out;
    for (const auto& p : heard)
      out += std::to_string(p.samples.empty() ? 0 : p.samples[0]) + " ";
    return out;
  }

  static constexpr int16_t kSilent = -1;
  std::unique_ptr<Engine> engine_;
  std::map<std::string, std::unique_ptr<Party>> parties_;
};

TEST_F(EngineTest, WhisperReachesOnlyTheAgentOverRealSrtpLegs) {
  Party& customer = Add("customer", 1000);
  Party& agent = Add("agent", 2000);
  Party& supervisor = Add("supervisor", 300);
  Route("whisper");
  Run(std::chrono::milliseconds(1500));
  // Skip the first half second (streams starting, fades in).
  ASSERT_GT(customer.heard.size(), 60u);
  EXPECT_GE(ShareExactly(customer.heard, 25, Q(Q(2000))), kExact);
  EXPECT_GE(ShareExactly(agent.heard, 25, Q(Q(1000) + Q(300))), kExact);
  EXPECT_GE(ShareExactly(supervisor.heard, 25, Q(Q(1000) + Q(2000))), kExact);
  // Every sink stream: one SSRC, consecutive sequence numbers, timestamps
  // advancing by 160.
  for (Party* p : {&customer, &agent, &supervisor}) {
    for (size_t i = 1; i < p->heard.size(); ++i) {
      ASSERT_EQ(p->heard[i].ssrc, p->heard[0].ssrc);
      ASSERT_EQ(static_cast<uint16_t>(p->heard[i].sequence -
                                      p->heard[i - 1].sequence),
                1);
      ASSERT_EQ(p->heard[i].timestamp - p->heard[i - 1].timestamp, 160u);
    }
    EXPECT_TRUE(p->heard.front().marker);
    EXPECT_LT(p->heard.front().sequence, 1u << 15);
  }
}

TEST_F(EngineTest, FirstPacketAfterSetRoutingReturnsFollowsTheNewMatrix) {
  Party& customer = Add("customer", 1000);
  Add("agent", 2000);
  Add("supervisor", 300);
  Route("listen");
  Run(std::chrono::milliseconds(600));
  EXPECT_GE(ShareExactly(customer.heard, 10, Q(Q(2000))), kExact);
  Route("barge");
  // Whatever was mixed before the switch was sent before SetRouting
  // returned (mixing and sending happen together on the worker): drop it.
  customer.peer->Drain();
  customer.heard.clear();
  Run(std::chrono::milliseconds(300));
  ASSERT_GT(customer.heard.size(), 10u);
  EXPECT_GE(ShareExactly(customer.heard, 0, Q(Q(2000) + Q(300))), kExact);
}

TEST_F(EngineTest, WrongKeyAndForeignSprayAreCountedDroppedAndNeverLatched) {
  Party& customer = Add("customer", 1000);
  Party& agent = Add("agent", 2000);
  Route("listen");
  SrtpPeer attacker(*srtp::SrtpKeyMaterial::Generate(
                        srtp::SrtpCryptoSuite::kAesCm128HmacSha1_80),
                    std::nullopt);
  attacker.set_target(
      *net::SocketAddress::Parse("127.0.0.1", agent.description.rtp_port));
  attacker.set_ssrc(0x1234);  // even the agent's own SSRC
  std::mt19937 rng(3);
  Run(std::chrono::milliseconds(1000), [&](int) {
    attacker.Send(std::vector<int16_t>(kSamplesPerFrame, -20000));
    std::vector<uint8_t> junk(1 + rng() % 300);
    for (auto& b : junk) b = static_cast<uint8_t>(rng());
    attacker.SendRaw(junk);
  });
  EXPECT_GE(ShareExactly(customer.heard, 15, Q(Q(2000))), kExact);
  auto stats = engine_->GetStats("room-1");
  ASSERT_TRUE(stats.ok());
  std::cerr << DescribeLeg("agent") << "\n";
  const LegStats& leg = stats->front().legs.at("agent");
  // Wrong-key packets fail authentication, or the replay check first when
  // they reuse sequence numbers already seen; either way they are counted.
  EXPECT_GE(leg.drops[static_cast<int>(DropReason::kSrtpAuth)] +
                leg.drops[static_cast<int>(DropReason::kSrtpReplay)] +
                leg.drops[static_cast<int>(DropReason::kRateLimited)],
            50u);
  ASSERT_TRUE(leg.remote.has_value());
  EXPECT_EQ(*leg.remote, agent.peer->address());
  EXPECT_EQ(leg.latches, 1u);
}

TEST_F(EngineTest, AuthenticatedPacketsFromANewPortMoveTheLeg) {
  Party& customer = Add("customer", 1000);
  Party& agent = Add("agent", 2000);
  Route("listen");
  Run(std::chrono::milliseconds(400));
  // NAT rebinding: same keys and stream, new source port.
  auto moved = std::make_unique<SrtpPeer>(agent.send_key,
                                          agent.description.config.local_key);
  moved->set_target(
      *net::SocketAddress::Parse("127.0.0.1", agent.description.rtp_port));
  moved->set_sequence(agent.peer->sequence());
  moved->set_timestamp(agent.peer->timestamp());
  const net::SocketAddress new_address = moved->address();
  agent.peer = std::move(moved);
  agent.heard.clear();
  Run(std::chrono::milliseconds(400));
  EXPECT_GT(agent.heard.size(), 10u);  // the mix follows the agent
  auto stats = engine_->GetStats("room-1");
  EXPECT_EQ(*stats->front().legs.at("agent").remote, new_address);
  (void)customer;
}

TEST_F(EngineTest, AsymmetricRtpLegSendsWhereItWasToldNotWhereItHears) {
  Party& customer = Add("customer", 1000);
  // The agent's phone listens on one port and speaks from another.
  auto agent = std::make_unique<Party>();
  agent->leg = "agent";
  agent->level = 2000;
  agent->peer = std::make_unique<SrtpPeer>(std::nullopt, std::nullopt);
  SrtpPeer speaker(agent->send_key, std::nullopt);
  LegSpec spec;
  spec.room_id = "room-1";
  spec.leg_id = "agent";
  spec.config.leg_id = "agent";
  spec.config.remote_rtp = agent->peer->address();
  spec.config.remote_key = agent->send_key;
  spec.config.asymmetric_rtp = true;
  auto description = engine_->AddLeg(spec);
  ASSERT_TRUE(description.ok()) << description.status();
  agent->peer->SetKeys(std::nullopt, description->config.local_key);
  speaker.set_target(
      *net::SocketAddress::Parse("127.0.0.1", description->rtp_port));
  Party& listener = *agent;
  parties_["agent"] = std::move(agent);
  listener.level = kSilent;  // it only listens; the speaker talks
  Route("listen");
  Run(std::chrono::milliseconds(600),
      [&](int) { speaker.Send(std::vector<int16_t>(kSamplesPerFrame, 2000)); });
  EXPECT_GE(ShareExactly(customer.heard, 15, Q(Q(2000))), kExact)
      << DescribeLeg("agent");
  EXPECT_GE(ShareExactly(listener.heard, 15, Q(Q(1000))), kExact)
      << "the mix must go to the listening port, not the speaking one";
  auto stats = engine_->GetStats("room-1");
  const LegStats& leg = stats->front().legs.at("agent");
  EXPECT_EQ(leg.latches, 0u);
  EXPECT_EQ(*leg.remote, listener.peer->address());
}

TEST_F(EngineTest, ALegWithNoRemoteLearnsItFromItsFirstAuthenticatedPacket) {
  Party& customer = Add("customer", 1000);
  // The integrator does not know where the agent's phone is (behind NAT):
  // the leg waits for it.
  Party& agent =
      Add("agent", kSilent, srtp::SrtpCryptoSuite::kAesCm128HmacSha1_80,
          AudioCodec::kPcmu, 20,
          [](LegSpec& spec) { spec.config.remote_rtp.reset(); });
  Route("listen");
  EXPECT_FALSE(agent.description.latched_remote.has_value());
  // Someone without the key gets there first: not authenticated, so the
  // leg neither latches on to it nor sends it anything.
  SrtpPeer stranger(*srtp::SrtpKeyMaterial::Generate(
                        srtp::SrtpCryptoSuite::kAesCm128HmacSha1_80),
                    std::nullopt);
  stranger.set_target(
      *net::SocketAddress::Parse("127.0.0.1", agent.description.rtp_port));
  size_t stranger_heard = 0;
  Run(std::chrono::milliseconds(300), [&](int) {
    stranger.Send(std::vector<int16_t>(kSamplesPerFrame, -5000));
    stranger_heard += stranger.Drain().size();
  });
  LegStats leg = engine_->GetStats("room-1")->front().legs.at("agent");
  EXPECT_FALSE(leg.remote.has_value());
  EXPECT_EQ(leg.latches, 0u);
  EXPECT_EQ(leg.packets_sent, 0u);  // nowhere to send the mix
  EXPECT_GE(leg.drops[static_cast<int>(DropReason::kSrtpAuth)], 10u);
  EXPECT_EQ(stranger_heard, 0u);
  EXPECT_TRUE(agent.heard.empty());
  // The phone speaks: its first packet authenticates, the leg latches on to
  // its address and the mix follows at once.
  agent.level = 2000;
  Run(std::chrono::milliseconds(600));
  leg = engine_->GetStats("room-1")->front().legs.at("agent");
  ASSERT_TRUE(leg.remote.has_value());
  EXPECT_EQ(*leg.remote, agent.peer->address());
  EXPECT_EQ(leg.latches, 1u);
  ASSERT_GT(agent.heard.size(), 20u);
  EXPECT_GE(ShareExactly(agent.heard, 5, Q(Q(1000))), kExact);
  EXPECT_GE(ShareExactly(customer.heard, 15, Q(Q(2000))), kExact);
  EXPECT_EQ(stranger.Drain().size(), 0u);
  const auto rooms = engine_->ListRooms();
  ASSERT_EQ(rooms.size(), 1u);
  for (const LegDescription& d : rooms[0].legs) {
    if (d.leg_id != "agent") continue;
    ASSERT_TRUE(d.latched_remote.has_value());
    EXPECT_EQ(*d.latched_remote, agent.peer->address());
  }
}

TEST_F(EngineTest, UpdateLegWithANewAddressSendsTheMixThere) {
  Party& customer = Add("customer", 1000);
  Party& agent = Add("agent", 2000);
  Route("listen");
  Run(std::chrono::milliseconds(400));
  // The agent's phone moves (the integrator learned it from signalling).
  // Let what it already sent arrive first: a packet from the old address
  // after the update would, being authenticated, latch the leg back.
  agent.level = kSilent;
  WaitUntilReceivedAll(agent);
  auto moved = std::make_unique<SrtpPeer>(agent.send_key,
                                          agent.description.config.local_key);
  moved->set_target(
      *net::SocketAddress::Parse("127.0.0.1", agent.description.rtp_port));
  moved->set_sequence(agent.peer->sequence());
  moved->set_timestamp(agent.peer->timestamp());
  LegUpdate update;
  update.remote_rtp = moved->address();
  auto updated = engine_->UpdateLeg("room-1", "agent", update);
  ASSERT_TRUE(updated.ok()) << updated.status();
  EXPECT_EQ(*updated->config.remote_rtp, moved->address());
  // What was mixed before the update is already in the old socket.
  agent.peer->Drain();
  std::vector<ReceivedPacket> at_new;
  size_t at_old = 0;
  Run(std::chrono::milliseconds(400), [&](int) {
    auto heard = moved->Drain();
    at_new.insert(at_new.end(), heard.begin(), heard.end());
    at_old += agent.peer->Drain().size();
  });
  EXPECT_EQ(at_old, 0u);
  ASSERT_GT(at_new.size(), 15u);
  // Before it has said a word, the new address hears the customer.
  EXPECT_GE(ShareExactly(at_new, 0, Q(Q(1000))), kExact);
  // It speaks from there too; the customer hears it.
  const net::SocketAddress new_address = moved->address();
  agent.peer = std::move(moved);
  agent.level = 2000;
  customer.heard.clear();
  Run(std::chrono::milliseconds(400));
  EXPECT_GE(ShareExactly(customer.heard, 5, Q(Q(2000))), kExact);
  const LegStats leg = engine_->GetStats("room-1")->front().legs.at("agent");
  EXPECT_EQ(*leg.remote, new_address);
}

TEST_F(EngineTest, UpdateLegFromPcmuToPcmaChangesWhatTheLegSendsAndHears) {
  Party& customer = Add("customer", 1000);
  Party& agent = Add("agent", 2000);
  Route("listen");
  Run(std::chrono::milliseconds(400));
  // A re-INVITE moves the customer to PCMA (payload type 8).
  customer.level = kSilent;
  WaitUntilReceivedAll(customer);
  LegUpdate update;
  update.codec = AudioCodec::kPcma;
  update.payload_type = 8;
  auto updated = engine_->UpdateLeg("room-1", "customer", update);
  ASSERT_TRUE(updated.ok()) << updated.status();
  EXPECT_EQ(updated->config.codec, AudioCodec::kPcma);
  const std::vector<ReceivedPacket> before = customer.heard;
  auto flushed = customer.peer->Drain();  // mixed before the update: PCMU
  for (const ReceivedPacket& p : flushed) EXPECT_EQ(p.payload_type, 0);
  customer.heard.clear();
  customer.peer->set_alaw(true);
  customer.level = 1000;
  agent.heard.clear();
  Run(std::chrono::milliseconds(600));
  auto alaw = [](int v) {
    return codec::AlawToLinear(codec::LinearToAlaw(static_cast<int16_t>(v)));
  };
  // A-law and mu-law give different values here, so audio still encoded
  // as mu-law would not pass for A-law.
  ASSERT_NE(alaw(Q(2000)), Q(Q(2000)));
  ASSERT_GT(customer.heard.size(), 25u);
  for (const ReceivedPacket& p : customer.heard) {
    ASSERT_EQ(p.payload_type, 8);
  }
  EXPECT_GE(ShareExactly(customer.heard, 0, alaw(Q(2000))), kExact)
      << Levels(customer.heard);
  // The engine decodes the customer's A-law for the agent.
  EXPECT_GE(ShareExactly(agent.heard, 5, Q(alaw(1000))), kExact)
      << Levels(agent.heard);
  const LegStats leg = engine_->GetStats("room-1")->front().legs.at("customer");
  EXPECT_EQ(leg.drops[static_cast<int>(DropReason::kUnknownPayloadType)], 0u);
  // The outgoing stream stayed one stream through the change.
  std::vector<ReceivedPacket> all = before;
  all.insert(all.end(), flushed.begin(), flushed.end());
  all.insert(all.end(), customer.heard.begin(), customer.heard.end());
  for (size_t i = 1; i < all.size(); ++i) {
    ASSERT_EQ(all[i].ssrc, all[0].ssrc);
    ASSERT_EQ(static_cast<uint16_t>(all[i].sequence - all[i - 1].sequence), 1);
  }
}

TEST_F(EngineTest, RotatingTheLocalKeyTakesEffectOnTheNextPacket) {
  Party& customer = Add("customer", 1000);
  Add("agent", 2000);
  Route("listen");
  Run(std::chrono::milliseconds(400));
  const srtp::SrtpKeyMaterial old_key = *customer.description.config.local_key;
  LegUpdate update;
  update.rotate_local_key = true;
  auto updated = engine_->UpdateLeg("room-1", "customer", update);
  ASSERT_TRUE(updated.ok()) << updated.status();
  ASSERT_TRUE(updated->config.local_key.has_value());
  const srtp::SrtpKeyMaterial new_key = *updated->config.local_key;
  EXPECT_NE(new_key, old_key);
  EXPECT_EQ(new_key.suite(), old_key.suite());
  // Everything protected before the update is in the socket already.
  customer.peer->Drain();
  customer.heard.clear();
  const int undecryptable = customer.peer->undecryptable;
  // A phone still on the old key can read nothing from now on...
  Run(std::chrono::milliseconds(300));
  EXPECT_TRUE(customer.heard.empty());
  EXPECT_GE(customer.peer->undecryptable - undecryptable, 10);
  // ...and one given the new key reads everything.
  customer.peer->SetKeys(customer.send_key, new_key);
  const int after_switch = customer.peer->undecryptable;
  Run(std::chrono::milliseconds(400));
  EXPECT_EQ(customer.peer->undecryptable, after_switch);
  ASSERT_GT(customer.heard.size(), 15u);
  EXPECT_GE(ShareExactly(customer.heard, 0, Q(Q(2000))), kExact);
}

TEST_F(EngineTest, ListRoomsShowsTheRoomsLegsAndRoutingThatExist) {
  Party& customer = Add("customer", 1000);
  Party& agent = Add("agent", 2000);
  Party& other = Add("other", 500, srtp::SrtpCryptoSuite::kAesCm128HmacSha1_80,
                     AudioCodec::kPcmu, 20,
                     [](LegSpec& spec) { spec.room_id = "room-2"; });
  Route("listen");
  Run(std::chrono::milliseconds(200));
  auto by_id = [](const std::vector<RoomDescription>& rooms) {
    std::map<std::string, RoomDescription> out;
    for (const RoomDescription& r : rooms) out[r.room_id] = r;
    return out;
  };
  auto legs_of = [](const RoomDescription& room) {
    std::map<std::string, LegDescription> out;
    for (const LegDescription& l : room.legs) out[l.leg_id] = l;
    return out;
  };
  auto rooms = by_id(engine_->ListRooms());
  ASSERT_EQ(rooms.size(), 2u);
  ASSERT_EQ(rooms.count("room-1"), 1u);
  ASSERT_EQ(rooms.count("room-2"), 1u);
  auto legs = legs_of(rooms["room-1"]);
  ASSERT_EQ(legs.size(), 2u);
  for (Party* p : {&customer, &agent}) {
    ASSERT_EQ(legs.count(p->leg), 1u) << p->leg;
    const LegDescription& d = legs[p->leg];
    EXPECT_EQ(d.room_id, "room-1");
    EXPECT_EQ(d.rtp_port, p->description.rtp_port);
    ASSERT_TRUE(d.latched_remote.has_value()) << p->leg;
    EXPECT_EQ(*d.latched_remote, p->peer->address());
    EXPECT_GT(d.stats.packets_received, 0u);
  }
  EXPECT_EQ(rooms["room-1"].routing_generation, 1u);
  std::set<std::pair<std::string, std::string>> routes;
  for (const RoutingEntry& e : rooms["room-1"].routing) {
    if (e.gain > 0) routes.insert({e.source_leg_id, e.sink_leg_id});
  }
  EXPECT_EQ(routes, (std::set<std::pair<std::string, std::string>>{
                        {"customer", "agent"}, {"agent", "customer"}}));
  auto legs2 = legs_of(rooms["room-2"]);
  ASSERT_EQ(legs2.size(), 1u);
  EXPECT_EQ(legs2["other"].rtp_port, other.description.rtp_port);
  EXPECT_TRUE(rooms["room-2"].routing.empty());
  EXPECT_EQ(rooms["room-2"].routing_generation, 0u);

  // A removed leg and a deleted room are gone from the listing, and so is
  // routing that named the leg.
  ASSERT_TRUE(engine_->RemoveLeg("room-1", "agent").ok());
  ASSERT_TRUE(engine_->DeleteRoom("room-2").ok());
  rooms = by_id(engine_->ListRooms());
  ASSERT_EQ(rooms.size(), 1u);
  legs = legs_of(rooms["room-1"]);
  ASSERT_EQ(legs.size(), 1u);
  EXPECT_EQ(legs.count("customer"), 1u);
  EXPECT_TRUE(rooms["room-1"].routing.empty());
  EXPECT_EQ(engine_->Status().active_legs, 1);
}

TEST_F(EngineTest, RekeyingHasNoAudibleGap) {
  Party& customer = Add("customer", 1000);
  Party& agent = Add("agent", 2000);
  Route("listen");
  Run(std::chrono::milliseconds(400), [&](int tick) {
    if (tick != 10) return;
    // The integrator re-keys the agent leg; the phone switches at once.
    auto key = *srtp::SrtpKeyMaterial::Generate(
        srtp::SrtpCryptoSuite::kAesCm128HmacSha1_80);
    LegUpdate update;
    update.remote_key = key;
    ASSERT_TRUE(engine_->UpdateLeg("room-1", "agent", update).ok());
    auto peer =
        std::make_unique<SrtpPeer>(key, agent.description.config.local_key);
    peer->set_target(
        *net::SocketAddress::Parse("127.0.0.1", agent.description.rtp_port));
    peer->set_sequence(agent.peer->sequence());
    peer->set_timestamp(agent.peer->timestamp());
    agent.peer = std::move(peer);
  });
  Run(std::chrono::milliseconds(400));
  EXPECT_GE(ShareExactly(customer.heard, 10, Q(Q(2000))), kExact)
      << DescribeLeg("agent") << "\n"
      << Levels(customer.heard);
}

// Pulls the sender report and the report block about `ssrc` out of RTCP.
class ReportCollector : public rtp::RtcpVisitor {
 public:
  void OnSenderReport(const rtp::RtcpSenderReportView& report) override {
    sender = report.sender;
    ++sender_reports;
    for (size_t i = 0; i < report.report_blocks.size(); ++i) {
      blocks.push_back(report.report_blocks[i]);
    }
  }
  rtp::RtcpSenderInfo sender;
  int sender_reports = 0;
  std::vector<rtp::RtcpReportBlock> blocks;
};

TEST_F(EngineTest, RtcpReportsFlowBothWaysAndGiveRoundTripAndRemoteLoss) {
  Party& customer = Add("customer", 1000);
  Add("agent", 2000);
  Route("listen");
  Run(std::chrono::milliseconds(600));
  // The engine sent sender reports on the customer's leg, with a report
  // block about the customer's stream (all received: no loss).
  ReportCollector collector;
  for (const auto& compound : customer.peer->rtcp) {
    ASSERT_EQ(rtp::ParseRtcpCompound(compound, &collector),
              rtp::RtcpParseError::kOk);
  }
  ASSERT_GE(collector.sender_reports, 1);
  EXPECT_GT(collector.sender.packet_count, 10u);
  ASSERT_FALSE(collector.blocks.empty());
  EXPECT_EQ(collector.blocks.back().source_ssrc, customer.peer->ssrc());
  EXPECT_EQ(collector.blocks.back().fraction_lost, 0);
  // The customer's phone answers with a receiver report: 25/256 lost, and
  // LSR/DLSR so the engine can time the round trip (DLSR: 10 ms).
  rtp::RtcpReportBlock block;
  block.source_ssrc = collector.sender.ssrc;
  block.fraction_lost = 25;
  block.jitter = 80;  // 10 ms at 8 kHz
  block.last_sr = rtp::CompactNtp(collector.sender.ntp_timestamp);
  block.delay_since_last_sr = 655;  // 10 ms in 1/65536 s
  std::vector<uint8_t> rr(256);
  const size_t size = rtp::WriteRtcpReceiverReport(
      customer.peer->ssrc(), absl::MakeConstSpan(&block, 1),
      absl::MakeSpan(rr));
  ASSERT_GT(size, 0u);
  rr.resize(size);
  customer.peer->SendRtcp(rr);
  const auto deadline =
      std::chrono::steady_clock::now() + std::chrono::seconds(2);
  LegStats leg;
  do {
    leg = engine_->GetStats("room-1")->front().legs.at("customer");
  } while (leg.remote_fraction_lost == 0 &&
           std::chrono::steady_clock::now() < deadline);
  EXPECT_NEAR(leg.remote_fraction_lost, 25.0 / 256, 1e-9);
  EXPECT_NEAR(leg.remote_jitter_ms, 10.0, 1e-9);
  // The SR was sent at most ~0.8 s ago; minus DLSR that is the round trip.
  EXPECT_GT(leg.rtt_ms, 0.0);
  EXPECT_LT(leg.rtt_ms, 1000.0);
  EXPECT_EQ(leg.drops[static_cast<int>(DropReason::kRtcpAuth)], 0u);
  EXPECT_EQ(leg.drops[static_cast<int>(DropReason::kMalformedRtcp)], 0u);
}

TEST_F(EngineTest, WithoutRtcpMuxReportsTravelOnTheRtcpPortsBothWays) {
  // The customer's phone does not mux: its RTCP socket is another port, told
  // to the engine as the remote RTCP address.
  SrtpPeer phone_rtcp(std::nullopt, std::nullopt);
  Party& customer =
      Add("customer", 1000, srtp::SrtpCryptoSuite::kAesCm128HmacSha1_80,
          AudioCodec::kPcmu, 20, [&](LegSpec& spec) {
            spec.config.rtcp_mux = false;
            spec.config.remote_rtcp = phone_rtcp.address();
          });
  Party& agent = Add("agent", 2000);
  Route("listen");
  const uint16_t engine_rtcp_port = customer.description.rtcp_port;
  ASSERT_NE(engine_rtcp_port, customer.description.rtp_port);
  phone_rtcp.SetKeys(customer.send_key, customer.description.config.local_key);
  phone_rtcp.set_target(
      *net::SocketAddress::Parse("127.0.0.1", engine_rtcp_port));

  // Our sender reports reach the phone's RTCP port, from ours.
  auto receive = *srtp::SrtpSession::Create(
      srtp::SrtpDirection::kInbound, *customer.description.config.local_key);
  ReportCollector collector;
  int from_rtcp_port = 0, from_elsewhere = 0;
  // When the newest SR was read: it was sent at most one tick before.
  std::chrono::steady_clock::time_point last_sr_read;
  Run(std::chrono::milliseconds(600), [&](int) {
    uint8_t buffer[2048];
    net::SocketAddress from;
    for (ptrdiff_t n; (n = phone_rtcp.socket().ReceiveFrom(
                           absl::MakeSpan(buffer), &from)) >= 0;) {
      (from.port() == engine_rtcp_port ? from_rtcp_port : from_elsewhere)++;
      size_t length = static_cast<size_t>(n);
      ASSERT_EQ(receive.UnprotectRtcp(absl::MakeSpan(buffer), &length),
                srtp::SrtpResult::kOk);
      const int before = collector.sender_reports;
      ASSERT_EQ(rtp::ParseRtcpCompound(absl::MakeConstSpan(buffer, length),
                                       &collector),
                rtp::RtcpParseError::kOk);
      if (collector.sender_reports > before) {
        last_sr_read = std::chrono::steady_clock::now();
      }
    }
  });
  EXPECT_GE(collector.sender_reports, 1);
  EXPECT_GE(from_rtcp_port, 1);
  EXPECT_EQ(from_elsewhere, 0);
  EXPECT_GT(collector.sender.packet_count, 10u);
  ASSERT_FALSE(collector.blocks.empty());
  EXPECT_EQ(collector.blocks.back().source_ssrc, customer.peer->ssrc());
  // ...and none to its RTP port, where the audio goes on as usual.
  EXPECT_TRUE(customer.peer->rtcp.empty());
  EXPECT_GE(ShareExactly(customer.heard, 10, Q(Q(2000))), kExact);
  EXPECT_GE(ShareExactly(agent.heard, 10, Q(Q(1000))), kExact);

  // The phone's receiver report, sent from its RTCP port to ours, gives the
  // leg a round trip (LSR of our newest SR; DLSR 0, so the round trip is
  // that SR's age when the report arrives) and the remote loss.
  rtp::RtcpReportBlock block;
  block.source_ssrc = collector.sender.ssrc;
  block.fraction_lost = 13;
  block.last_sr = rtp::CompactNtp(collector.sender.ntp_timestamp);
  block.delay_since_last_sr = 0;
  std::vector<uint8_t> rr(256);
  rr.resize(rtp::WriteRtcpReceiverReport(customer.peer->ssrc(),
                                         absl::MakeConstSpan(&block, 1),
                                         absl::MakeSpan(rr)));
  ASSERT_FALSE(rr.empty());
  const auto sent_at = std::chrono::steady_clock::now();
  phone_rtcp.SendRtcp(rr);
  const LegStats leg = WaitForLeg("customer", [](const LegStats& l) {
    return l.rtcp_packets_received > 0;
  });
  const auto answered_by = std::chrono::steady_clock::now();
  auto ms = [](auto d) {
    return std::chrono::duration<double, std::milli>(d).count();
  };
  EXPECT_EQ(leg.rtcp_packets_received, 1u);
  EXPECT_EQ(leg.drops[static_cast<int>(DropReason::kRtcpAuth)], 0u);
  EXPECT_EQ(leg.drops[static_cast<int>(DropReason::kMalformedRtcp)], 0u);
  EXPECT_NEAR(leg.remote_fraction_lost, 13.0 / 256, 1e-9);
  // The SR was sent before it was read and at most a tick (20 ms) earlier;
  // the report arrived between sending it and seeing its effect. 1 ms of
  // slack for the two clocks (realtime NTP in the engine, steady here).
  EXPECT_GE(leg.rtt_ms, ms(sent_at - last_sr_read) - 1.0);
  EXPECT_LE(leg.rtt_ms, ms(answered_by - last_sr_read) + 20.0 + 1.0);
  EXPECT_GT(leg.rtt_ms, 0.0);
}

TEST_F(EngineTest, LegsWithDifferentCodecsAndPacketTimesShareARoom) {
  // The customer is on PCMA with 30 ms packets (sent as 20 ms here: the
  // engine accepts any packet time), the agent on PCMU with 20 ms.
  Party& customer =
      Add("customer", 1000, srtp::SrtpCryptoSuite::kAesCm128HmacSha1_32,
          AudioCodec::kPcma, 30);
  Party& agent = Add("agent", 2000);
  Route("listen");
  Run(std::chrono::milliseconds(800));
  auto alaw = [](int v) {
    return codec::AlawToLinear(codec::LinearToAlaw(static_cast<int16_t>(v)));
  };
  // The customer receives PCMA, 30 ms (240 samples) per packet, of the
  // agent's audio; the agent receives PCMU of the customer's.
  ASSERT_GT(customer.heard.size(), 10u);
  for (size_t i = 3; i < customer.heard.size(); ++i) {
    ASSERT_EQ(customer.heard[i].samples.size(), 240u);
    ASSERT_EQ(customer.heard[i].timestamp - customer.heard[i - 1].timestamp,
              240u);
  }
  EXPECT_GE(ShareExactly(customer.heard, 10, alaw(Q(2000))), kExact);
  EXPECT_GE(ShareExactly(agent.heard, 15, Q(alaw(1000))), kExact);
}

TEST_F(EngineTest, AnSsrcChangeMidCallIsFollowedAtOnce) {
  Party& customer = Add("customer", 1000);
  Party& agent = Add("agent", 2000);
  Route("listen");
  Run(std::chrono::milliseconds(400), [&](int tick) {
    if (tick != 10) return;
    // A re-INVITE on the integrator's side: new SSRC, new sequence and
    // timestamp bases, same keys.
    agent.peer->set_ssrc(0xBEEF);
    agent.peer->set_sequence(40000);
    agent.peer->set_timestamp(123456789);
  });
  auto stats = engine_->GetStats("room-1");
  EXPECT_EQ(stats->front().legs.at("agent").ssrc_changes, 1u);
  // At most the one frame at the switch is concealed; then it is exact.
  size_t off = 0;
  for (size_t i = 10; i < customer.heard.size(); ++i) {
    bool exact = true;
    for (int16_t v : customer.heard[i].samples) exact &= v == Q(Q(2000));
    off += !exact;
  }
  EXPECT_LE(off, 1u) << Levels(customer.heard);
  // Neither sink's stream noticed: the customer's (fed by the restarted
  // stream) and the agent's go on as one stream each.
  ExpectOneContinuousStream(customer);
  ExpectOneContinuousStream(agent);
}

TEST_F(EngineTest, HoldAndResumeOfASourceLeaveEverySinkStreamContinuous) {
  Party& customer = Add("customer", 1000);
  Party& agent = Add("agent", 2000);
  Add("supervisor", 300);
  Route("whisper");
  // The agent puts the call on hold: its phone sends nothing for 600 ms,
  // then resumes the same stream, its timestamps having moved on by the
  // hold's length (as a phone's sampling clock does) and its sequence
  // numbers continuing.
  Run(std::chrono::milliseconds(1600), [&](int tick) {
    if (tick == 19) agent.level = kSilent;  // ticks 20..49 silent
    if (tick == 49) {
      agent.peer->set_timestamp(agent.peer->timestamp() +
                                30 * kSamplesPerFrame);
      agent.level = 2000;
    }
  });
  for (const auto& [leg, party] : parties_) ExpectOneContinuousStream(*party);
  // What the customer heard: the agent, silence through the hold (after
  // the fade), the agent again.
  const auto& heard = customer.heard;
  ASSERT_GT(heard.size(), 70u);
  auto all = [](const ReceivedPacket& p, int16_t v) {
    return std::all_of(p.samples.begin(), p.samples.end(),
                       [&](int16_t s) { return s == v; });
  };
  size_t first_silent = heard.size(), resumed = heard.size();
  for (size_t i = 10; i < heard.size(); ++i) {
    if (first_silent == heard.size() && all(heard[i], 0)) first_silent = i;
    if (first_silent < heard.size() && resumed == heard.size() &&
        all(heard[i], Q(Q(2000)))) {
      resumed = i;
    }
  }
  ASSERT_LT(first_silent, heard.size()) << Levels(heard);
  ASSERT_LT(resumed, heard.size()) << Levels(heard);
  // About 600 ms of hold, give or take the fade and a frame of alignment.
  EXPECT_NEAR(static_cast<double>(resumed - first_silent), 30.0, 7.0)
      << Levels(heard);
  EXPECT_GE(ShareExactly(heard, resumed, Q(Q(2000))), kExact) << Levels(heard);
}

TEST_F(EngineTest, HundredThousandHostilePacketsNeitherCrashNorTouchTheCall) {
  Party& customer = Add("customer", 1000);
  Party& agent = Add("agent", 2000);
  Route("listen");
  // Valid packets to mutate: captured from a peer with the right key.
  net::UdpSocket capture =
      *net::UdpSocket::Bind(*net::SocketAddress::Parse("127.0.0.1", 0));
  SrtpPeer source(agent.send_key, std::nullopt);
  source.set_target(capture.local_address());
  std::vector<std::vector<uint8_t>> valid;
  for (int i = 0; i < 64; ++i) {
    source.Send(std::vector<int16_t>(kSamplesPerFrame, 777));
    uint8_t buffer[1500];
    net::SocketAddress from;
    ptrdiff_t n = -1;
    for (int spin = 0; spin < 100000 && n < 0; ++spin)
      n = capture.ReceiveFrom(absl::MakeSpan(buffer), &from);
    valid.emplace_back(buffer, buffer + n);
  }
  SrtpPeer hostile(std::nullopt, std::nullopt);
  hostile.set_target(
      *net::SocketAddress::Parse("127.0.0.1", agent.description.rtp_port));
  // 20 000 packets a second on top of the call for five seconds, from their
  // own thread so the call's phones keep their pace.
  std::atomic<int> sent{0};
  std::thread flood([&] {
    std::mt19937 rng(11);
    const auto start = std::chrono::steady_clock::now();
    for (int burst = 0; burst < 250; ++burst) {
      std::this_thread::sleep_until(start +
                                    std::chrono::milliseconds(20 * burst));
      for (int i = 0; i < 400; ++i) {
        std::vector<uint8_t> packet;
        if (rng() % 2) {
          packet = valid[rng() % valid.size()];
          const int flips = 1 + rng() % 4;
          for (int f = 0; f < flips; ++f)
            packet[rng() % packet.size()] ^= 1 << (rng() % 8);
          if (rng() % 8 == 0) packet.resize(rng() % packet.size());
        } else {
          packet.resize(rng() % 400);
          for (auto& b : packet) b = static_cast<uint8_t>(rng());
        }
        if (packet.empty()) packet.push_back(0x80);
        hostile.SendRaw(packet);
        ++sent;
      }
    }
  });
  Run(std::chrono::milliseconds(5200));
  flood.join();
  EXPECT_EQ(sent, 100000);
  EXPECT_GE(ShareExactly(customer.heard, 15, Q(Q(2000))), kExact)
      << DescribeLeg("agent") << "\n"
      << Levels(customer.heard);
  // Every hostile packet the kernel delivered is counted under a reason.
  auto stats = engine_->GetStats("room-1");
  const LegStats& leg = stats->front().legs.at("agent");
  // Every hostile packet the kernel delivered is counted under a reason
  // (late and duplicate are about the call's own packets).
  uint64_t dropped = 0;
  for (int i = 0; i < kDropReasonCount; ++i) {
    if (i == static_cast<int>(DropReason::kLate) ||
        i == static_cast<int>(DropReason::kDuplicate)) {
      continue;
    }
    dropped += leg.drops[i];
  }
  EXPECT_GT(dropped, 99000u);  // loopback may shed a few under the burst
  EXPECT_LE(dropped, 100000u);
  EXPECT_LE(leg.drops[static_cast<int>(DropReason::kLate)], kLateAllowed);
  EXPECT_EQ(*leg.remote, agent.peer->address());
}

// What the kernel dropped for want of receive buffer on the UDP socket bound
// to 127.0.0.1:`port` (the last column of /proc/net/udp), or -1 if the
// socket is not listed.
int64_t KernelDrops(uint16_t port) {
  std::FILE* file = std::fopen("/proc/net/udp", "r");
  if (file == nullptr) return -1;
  char line[512];
  char wanted[32];
  std::snprintf(wanted, sizeof(wanted), "0100007F:%04X", port);
  int64_t drops = -1;
  while (std::fgets(line, sizeof(line), file) != nullptr) {
    if (std::strstr(line, wanted) == nullptr) continue;
    std::string text(line);
    text.erase(text.find_last_not_of(" \n") + 1);
    drops = std::stoll(text.substr(text.find_last_of(' ') + 1));
    break;
  }
  std::fclose(file);
  return drops;
}

// What the engine must do with a hostile packet, known by construction.
enum class Fate {
  kUnknown,  // random bytes, bit flips: any one outcome
  kNotRtp,
  kMalformedRtp,
  kMalformedRtcp,
  kRtcp,  // well-formed RTCP, parsed
  kAudio,
  kComfortNoise,
  kTelephoneEvent,
  kMalformedTelephoneEvent,
  kUnknownPayloadType,
  kBadPayloadSize,
};
constexpr int kFateCount = 11;

// Builds hostile packets for a plain-RTP leg: everything that can come from
// the peer's own address, where no source check or rate limit stands
// between the packet and the parsers.
class HostilePackets {
 public:
  explicit HostilePackets(uint32_t engine_ssrc) : engine_ssrc_(engine_ssrc) {}

  Fate Next(std::vector<uint8_t>* packet) {
    packet->clear();
    switch (rng_() % 16) {
      case 0: {  // version 0, 1 or 3
        Audio(packet, 0, 160);
        const uint8_t version = std::array<uint8_t, 3>{0, 1, 3}[rng_() % 3];
        (*packet)[0] = static_cast<uint8_t>(version << 6 | (rng_() & 0x3f));
        return Fate::kNotRtp;
      }
      case 1:  // a header cut short (2..11 bytes; RTP by its first bytes)
        Audio(packet, 0, 160);
        packet->resize(2 + rng_() % 10);
        return Fate::kMalformedRtp;
      case 2: {  // a CSRC count running past the end
        const int count = 1 + static_cast<int>(rng_() % 15);
        Audio(packet, 0, 0);
        (*packet)[0] = static_cast<uint8_t>(0x80 | count);
        packet->resize(12 + 4 * count - 1 - rng_() % (4 * count));
        return Fate::kMalformedRtp;
      }
      case 3: {  // an extension whose length runs past the end
        Audio(packet, 0, 0);
        (*packet)[0] |= 0x10;
        const uint16_t words = static_cast<uint16_t>(1 + rng_() % 0xffff);
        const size_t body = std::min<size_t>(4u * words - 1, rng_() % 200);
        packet->insert(packet->end(),
                       {0xBE, 0xDE, static_cast<uint8_t>(words >> 8),
                        static_cast<uint8_t>(words)});
        packet->resize(packet->size() + body, 0x11);
        return Fate::kMalformedRtp;
      }
      case 4: {  // padding of 0, or longer than the payload
        Audio(packet, 0, 1 + rng_() % 160);
        (*packet)[0] |= 0x20;
        packet->back() = rng_() % 2
                             ? 0
                             : static_cast<uint8_t>(std::min<size_t>(
                                   255, packet->size() - 12 + 1 + rng_() % 50));
        return Fate::kMalformedRtp;
      }
      case 5: {  // RTCP whose length field runs past the datagram
        const size_t size = 4 + 4 * (rng_() % 8);
        packet->resize(size);
        for (auto& b : *packet) b = static_cast<uint8_t>(rng_());
        (*packet)[0] = static_cast<uint8_t>(0x80 | (rng_() & 0x1f));
        (*packet)[1] = static_cast<uint8_t>(200 + rng_() % 5);
        const uint16_t words = static_cast<uint16_t>(size / 4 + rng_() % 100);
        (*packet)[2] = static_cast<uint8_t>(words >> 8);
        (*packet)[3] = static_cast<uint8_t>(words);
        return Fate::kMalformedRtcp;
      }
      case 6: {  // well-formed RTCP: a receiver report with nonsense in it,
                 // about the engine's stream or another
        rtp::RtcpReportBlock block;
        block.source_ssrc = rng_() % 2 ? engine_ssrc_ : rng_();
        block.fraction_lost = static_cast<uint8_t>(rng_());
        block.jitter = rng_();
        block.last_sr = rng_();
        block.delay_since_last_sr = rng_();
        packet->resize(64);
        packet->resize(rtp::WriteRtcpReceiverReport(
            rng_(), absl::MakeConstSpan(&block, 1), absl::MakeSpan(*packet)));
        return Fate::kRtcp;
      }
      case 7: {  // telephone event of the wrong length
        size_t length = rng_() % 20;
        if (length >= 4 && length % 4 == 0) ++length;
        Audio(packet, 101, length);
        return Fate::kMalformedTelephoneEvent;
      }
      case 8: {  // a well-formed telephone event, new or repeated
        Audio(packet, 101, 4 * (1 + rng_() % 3));
        return Fate::kTelephoneEvent;
      }
      case 9:  // comfort noise of any size
        Audio(packet, 13, rng_() % 40);
        return Fate::kComfortNoise;
      case 10:  // a payload type nobody negotiated (never 0, 13 or 101)
        Audio(packet,
              static_cast<uint8_t>(
                  std::array<int, 4>{8, 18, 96, 127}[rng_() % 4]),
              160);
        return Fate::kUnknownPayloadType;
      case 11:  // audio with no payload, or over 120 ms
        Audio(packet, 0, rng_() % 2 ? 0 : 961 + rng_() % 400);
        return Fate::kBadPayloadSize;
      case 12: {  // audio with CSRCs, an extension and valid padding, with
                  // the peer's SSRC or another, at any timestamp
        Audio(packet, 0, 0);
        (*packet)[0] = static_cast<uint8_t>(0x80 | 0x20 | 0x10 | 2);
        packet->resize(12 + 8);  // two CSRCs
        packet->insert(packet->end(), {0xBE, 0xDE, 0, 1, 0x10, 0xAA, 0, 0});
        const size_t payload = 1 + rng_() % 480;
        for (size_t i = 0; i < payload; ++i) {
          packet->push_back(static_cast<uint8_t>(rng_()));
        }
        const uint8_t pad = static_cast<uint8_t>(1 + rng_() % 8);
        packet->resize(packet->size() + pad, 0);
        packet->back() = pad;
        return Fate::kAudio;
      }
      case 13:  // plain audio, the peer's stream or a jump in it
        Audio(packet, 0, 160);
        return Fate::kAudio;
      case 14: {  // a valid packet with bits flipped
        Audio(packet, static_cast<uint8_t>(rng_() % 2 ? 0 : 101), 160);
        const int flips = 1 + static_cast<int>(rng_() % 4);
        for (int f = 0; f < flips; ++f) {
          (*packet)[rng_() % packet->size()] ^= 1 << (rng_() % 8);
        }
        return Fate::kUnknown;
      }
      default:  // random bytes
        packet->resize(1 + rng_() % 400);
        for (auto& b : *packet) b = static_cast<uint8_t>(rng_());
        return Fate::kUnknown;
    }
  }

 private:
  // An RTP packet of `payload_type` with `payload` random bytes: the
  // peer's SSRC mostly, with sequence and timestamp mostly in order.
  void Audio(std::vector<uint8_t>* packet, uint8_t payload_type,
             size_t payload) {
    rtp::RtpHeaderFields fields;
    fields.payload_type = payload_type;
    fields.marker = rng_() % 8 == 0;
    switch (rng_() % 8) {
      case 0:
        fields.ssrc = rng_();
        fields.sequence_number = static_cast<uint16_t>(rng_());
        fields.timestamp = rng_();
        break;
      case 1:
        sequence_ += static_cast<uint16_t>(rng_());
        timestamp_ += rng_();
        [[fallthrough]];
      default:
        fields.ssrc = 0x5EED;
        fields.sequence_number = sequence_++;
        fields.timestamp = timestamp_;
        timestamp_ += 160;
    }
    packet->resize(12 + payload);
    rtp::WriteRtpHeader(fields, absl::MakeSpan(*packet));
    for (size_t i = 12; i < packet->size(); ++i) {
      (*packet)[i] = static_cast<uint8_t>(rng_());
    }
  }

  std::mt19937 rng_{29};
  uint32_t engine_ssrc_;
  uint16_t sequence_ = 7;
  uint32_t timestamp_ = 99;
};

TEST_F(EngineTest,
       HostilePacketsFromTheLatchedPeerOfAPlainLegAreAllAccountedFor) {
  Party& customer = Add("customer", 1000);
  Party& agent = Add("agent", 2000);
  // The supervisor's leg is plain RTP, and its own (latched) address is the
  // attacker: nothing stands between the packets and the RTP, RTCP and
  // RFC 4733 parsers, the jitter buffer and the mixer. Whispering, its
  // garbage is mixed into what the agent hears.
  Party& supervisor = AddPlain("supervisor", kSilent);
  Route("whisper");
  const uint16_t port = supervisor.description.rtp_port;
  ASSERT_GE(KernelDrops(port), 0) << "no /proc/net/udp entry for the leg";
  const int64_t kernel_drops_before = KernelDrops(port);
  SrtpPeer& attacker = *supervisor.peer;
  attacker.Send(std::vector<int16_t>(kSamplesPerFrame, 0));  // latch
  uint64_t sent_ok = 1;
  std::array<uint64_t, kFateCount> fates{};
  fates[static_cast<int>(Fate::kAudio)] = 1;
  // The engine's SSRC towards the supervisor, for report blocks about it:
  // its first packet carries it.
  uint32_t engine_ssrc = 0;
  Run(std::chrono::milliseconds(200), [&](int) {
    for (const ReceivedPacket& p : supervisor.heard) engine_ssrc = p.ssrc;
  });
  ASSERT_NE(engine_ssrc, 0u);
  supervisor.heard.clear();
  customer.heard.clear();
  agent.heard.clear();

  HostilePackets hostile(engine_ssrc);
  // 20 packets a millisecond for five seconds from the supervisor's socket,
  // on their own thread so the phones keep their pace; the main thread
  // only reads that socket.
  const net::SocketAddress target =
      *net::SocketAddress::Parse("127.0.0.1", port);
  std::atomic<bool> flooding{true};
  std::thread flood([&] {
    std::vector<uint8_t> packet;
    const auto start = std::chrono::steady_clock::now();
    for (int ms = 0; ms < 5000; ++ms) {
      std::this_thread::sleep_until(start + std::chrono::milliseconds(ms));
      for (int i = 0; i < 20; ++i) {
        const Fate fate = hostile.Next(&packet);
        if (attacker.socket().SendTo(packet, target)) {
          ++sent_ok;
          ++fates[static_cast<int>(fate)];
        }
      }
    }
    flooding = false;
  });
  Run(std::chrono::milliseconds(5200));
  flood.join();
  ASSERT_FALSE(flooding);
  EXPECT_GT(sent_ok, 99'000u);

  // Every datagram the kernel delivered ends in exactly one place:
  // accepted as RTP (packets_received, which includes those refused after
  // parsing for their payload), accepted as RTCP, or dropped before
  // parsing under a reason. The kernel's own receive-buffer drops for the
  // socket are read from /proc/net/udp, so the sum is exact.
  auto accounted = [&](const LegStats& leg) {
    uint64_t total = leg.packets_received + leg.rtcp_packets_received;
    for (DropReason reason :
         {DropReason::kTruncated, DropReason::kNotRtp,
          DropReason::kMalformedRtp, DropReason::kSrtpAuth,
          DropReason::kSrtpReplay, DropReason::kSrtpOther,
          DropReason::kForeignSource, DropReason::kMalformedRtcp,
          DropReason::kRtcpAuth, DropReason::kRateLimited}) {
      total += leg.drops[static_cast<int>(reason)];
    }
    return total;
  };
  int64_t kernel_drops = 0;
  const LegStats leg = WaitForLeg("supervisor", [&](const LegStats& l) {
    kernel_drops = KernelDrops(port) - kernel_drops_before;
    return accounted(l) + static_cast<uint64_t>(kernel_drops) >= sent_ok;
  });
  std::cerr << DescribeLeg("supervisor") << " kernel_drops=" << kernel_drops
            << " rtcp=" << leg.rtcp_packets_received << "\n";
  EXPECT_EQ(accounted(leg) + static_cast<uint64_t>(kernel_drops), sent_ok);
  // Nothing came from anywhere else, so nothing is foreign or rate-limited.
  EXPECT_EQ(leg.drops[static_cast<int>(DropReason::kForeignSource)], 0u);
  EXPECT_EQ(leg.drops[static_cast<int>(DropReason::kRateLimited)], 0u);
  // Each kind of packet landed where it belongs: at least what was sent of
  // it minus what the kernel shed, at most that plus what the random
  // packets could add.
  const uint64_t unknown = fates[static_cast<int>(Fate::kUnknown)];
  const uint64_t shed = static_cast<uint64_t>(kernel_drops);
  auto expect_between = [&](uint64_t actual, Fate fate, const char* what) {
    const uint64_t sent = fates[static_cast<int>(fate)];
    EXPECT_GE(actual + shed, sent) << what;
    EXPECT_LE(actual, sent + unknown) << what;
    EXPECT_GT(sent, 3000u) << what;  // the kind was exercised
  };
  auto drops = [&](DropReason r) { return leg.drops[static_cast<int>(r)]; };
  expect_between(drops(DropReason::kNotRtp), Fate::kNotRtp, "not_rtp");
  expect_between(drops(DropReason::kMalformedRtp), Fate::kMalformedRtp,
                 "malformed_rtp");
  expect_between(drops(DropReason::kMalformedRtcp), Fate::kMalformedRtcp,
                 "malformed_rtcp");
  expect_between(leg.rtcp_packets_received, Fate::kRtcp, "rtcp");
  expect_between(drops(DropReason::kMalformedTelephoneEvent),
                 Fate::kMalformedTelephoneEvent, "malformed_telephone_event");
  expect_between(drops(DropReason::kUnknownPayloadType),
                 Fate::kUnknownPayloadType, "unknown_payload_type");
  expect_between(drops(DropReason::kBadPayloadSize), Fate::kBadPayloadSize,
                 "bad_payload_size");
  expect_between(leg.comfort_noise_packets, Fate::kComfortNoise,
                 "comfort_noise");
  // The leg still sends to, and listens to, the one address it latched.
  EXPECT_EQ(leg.latches, 1u);
  ASSERT_TRUE(leg.remote.has_value());
  EXPECT_EQ(*leg.remote, attacker.address());

  // The call itself is untouched: the customer and the agent hear each
  // other exactly, and the supervisor hears them both exactly.
  EXPECT_GE(ShareExactly(customer.heard, 5, Q(Q(2000))), kExact)
      << Levels(customer.heard);
  EXPECT_GE(ShareExactly(supervisor.heard, 5, Q(Q(1000) + Q(2000))), kExact)
      << Levels(supervisor.heard);
  ASSERT_GT(customer.heard.size(), 240u);
  // The agent's mix carries the garbage: it may wait for that source as
  // for any jittery one, at most the jitter allowance (plus the frame in
  // flight), but its stream never stops or skips.
  const size_t lag_frames =
      static_cast<size_t>(SourceBufferConfig{}.max_allowance / kFrameMicros) +
      2;
  EXPECT_GE(agent.heard.size() + lag_frames, customer.heard.size());
  // Every outgoing stream stays one stream: same SSRC, sequence +1,
  // timestamp +160 per packet.
  for (Party* p : {&customer, &agent, &supervisor}) {
    for (size_t i = 1; i < p->heard.size(); ++i) {
      ASSERT_EQ(p->heard[i].ssrc, p->heard[0].ssrc) << p->leg;
      ASSERT_EQ(static_cast<uint16_t>(p->heard[i].sequence -
                                      p->heard[i - 1].sequence),
                1)
          << p->leg;
      ASSERT_EQ(p->heard[i].timestamp - p->heard[i - 1].timestamp, 160u)
          << p->leg;
    }
  }
  const LegStats agent_leg =
      engine_->GetStats("room-1")->front().legs.at("agent");
  EXPECT_LE(agent_leg.drops[static_cast<int>(DropReason::kLate)], kLateAllowed);
}

TEST_F(EngineTest, SsrcChangeOnALegIsAGapInTheTap) {
  Party& customer = Add("customer", 1000);
  Add("agent", 2000);
  Route("listen");
  auto tap = engine_->OpenTap("room-1", /*telephone_events=*/false);
  ASSERT_TRUE(tap.ok());
  // Mid-call the customer's stream restarts (a re-INVITE, a transfer on
  // the far side): new SSRC, new sequence numbers.
  Run(std::chrono::milliseconds(600), [&](int tick) {
    if (tick == 15) customer.peer->set_ssrc(0xC0FFEE);
  });
  int restarts = 0, frames_after = 0;
  TapItem item;
  while ((*tap)->Pop(&item, 0)) {
    if (item.kind == TapItem::Kind::kGap &&
        item.gap_cause == TapItem::GapCause::kStreamRestart) {
      EXPECT_EQ(engine_->LegIdOf("room-1", item.member), "customer");
      ++restarts;
    } else if (item.kind == TapItem::Kind::kFrame && restarts > 0 &&
               engine_->LegIdOf("room-1", item.member) == "customer") {
      ++frames_after;
    }
  }
  (*tap)->Close();
  EXPECT_EQ(restarts, 1);
  EXPECT_GT(frames_after, 5);  // the tap goes on with the new stream
}

TEST_F(EngineTest, TapDeliversEachSourceAndTelephoneEventsButNeverMixesThem) {
  Party& customer = Add("customer", 1000);
  Party& agent = Add("agent", 2000);
  Route("listen");
  auto tap = engine_->OpenTap("room-1", /*telephone_events=*/true);
  ASSERT_TRUE(tap.ok());
  // The customer presses '5' between two audio packets: RFC 4733 sends the
  // event three times (growing duration), the last with the end bit.
  uint32_t event_start = 0;
  Run(std::chrono::milliseconds(600), [&](int tick) {
    if (tick == 10) event_start = customer.peer->timestamp();
    if (tick < 10 || tick > 12) return;
    rtp::TelephoneEvent event;
    event.event = 5;
    event.volume = 10;
    event.duration = static_cast<uint16_t>(160 * (tick - 9));
    event.end = tick == 12;
    customer.peer->SendTelephoneEvent(event, 101, tick == 10, event_start);
  });
  std::map<std::string, int> frames;
  int leg_changes = 0;
  std::vector<TapItem> events;
  TapItem item;
  Micros last_media_time = -1;
  while ((*tap)->Pop(&item, 0)) {
    if (item.kind == TapItem::Kind::kFrame) {
      frames[engine_->LegIdOf("room-1", item.member)]++;
      if (engine_->LegIdOf("room-1", item.member) == "customer") {
        EXPECT_GT(item.media_time, last_media_time);
        last_media_time = item.media_time;
      }
    } else if (item.kind == TapItem::Kind::kLegAdded) {
      ++leg_changes;
    } else if (item.kind == TapItem::Kind::kTelephoneEvent) {
      events.push_back(item);
    }
  }
  (*tap)->Close();
  EXPECT_EQ(leg_changes, 2);
  EXPECT_GT(frames["customer"], 25);
  EXPECT_GT(frames["agent"], 25);
  // Start and end of the digit, once each, from the customer's leg.
  ASSERT_EQ(events.size(), 2u);
  EXPECT_EQ(engine_->LegIdOf("room-1", events[0].member), "customer");
  EXPECT_EQ(events[0].event.event, 5);
  EXPECT_FALSE(events[0].event.end);
  EXPECT_TRUE(events[1].event.end);
  EXPECT_EQ(events[1].event.duration, 480);
  // The event never became audio: the agent heard the customer's level only.
  EXPECT_GE(ShareExactly(agent.heard, 10, Q(Q(1000))), kExact);
  auto stats = engine_->GetStats("room-1");
  EXPECT_EQ(stats->front().legs.at("customer").telephone_events, 1u);
  (void)customer;
}

TEST_F(EngineTest, ComfortNoiseIsCountedNeverMixedAndEndsTheWaitAtOnce) {
  Party& customer = Add("customer", 1000);
  Party& agent = Add("agent", 2000);
  Route("listen");
  // The customer talks, then falls silent the RFC 3389 way: a comfort
  // noise packet (payload type 13, one noise-level byte) instead of the
  // next audio packet, and another every 100 ms.
  int comfort_noise_sent = 0;
  Run(std::chrono::milliseconds(1200), [&](int tick) {
    if (tick == 29) customer.level = kSilent;  // from tick 30 on
    if (tick >= 29 && (tick - 29) % 5 == 0) {
      customer.peer->Send(std::vector<int16_t>(1, 500), /*payload_type=*/13);
      ++comfort_noise_sent;
    }
  });
  const LegStats leg = engine_->GetStats("room-1")->front().legs.at("customer");
  EXPECT_EQ(leg.comfort_noise_packets,
            static_cast<uint64_t>(comfort_noise_sent));
  EXPECT_EQ(leg.drops[static_cast<int>(DropReason::kUnknownPayloadType)], 0u);
  EXPECT_EQ(leg.drops[static_cast<int>(DropReason::kBadPayloadSize)], 0u);
  // The agent hears the customer's audio, then silence at once: no
  // concealment fading out the last frame (the customer said it was silent,
  // so its frames are not waited for and concealed), and never the noise
  // byte decoded as audio.
  ASSERT_GT(agent.heard.size(), 50u);
  size_t voice = 0, silence = 0, other = 0;
  bool silent_yet = false;
  for (size_t i = 5; i < agent.heard.size(); ++i) {
    for (int16_t v : agent.heard[i].samples) {
      if (v == Q(Q(1000)) && !silent_yet) {
        ++voice;
      } else if (v == 0) {
        silent_yet = true;
        ++silence;
      } else {
        ++other;
      }
    }
  }
  EXPECT_GT(voice, 20u * kSamplesPerFrame);
  EXPECT_GT(silence, 20u * kSamplesPerFrame);
  EXPECT_LE(static_cast<double>(other),
            (1.0 - kExact) * static_cast<double>(voice + silence + other))
      << Levels(agent.heard);
  EXPECT_GE(ShareExactly(customer.heard, 15, Q(Q(2000))), kExact);
}

TEST_F(EngineTest, BadRequestsGetClearErrors) {
  Add("customer", 1000);
  LegSpec duplicate;
  duplicate.room_id = "room-1";
  duplicate.leg_id = "customer";
  EXPECT_EQ(engine_->AddLeg(duplicate).status().code(),
            absl::StatusCode::kAlreadyExists);
  EXPECT_EQ(engine_->SetRouting("room-1", {{"customer", "nobody", 1}}, 0)
                .status()
                .code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(engine_->SetRouting("room-1", {{"customer", "customer", 1}}, 0)
                .status()
                .code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(engine_->SetRouting("nowhere", {}, 0).status().code(),
            absl::StatusCode::kNotFound);
  EXPECT_EQ(engine_->SetRouting("room-1", {}, 99).status().code(),
            absl::StatusCode::kAborted);
  EXPECT_EQ(engine_->RemoveLeg("room-1", "ghost").status().code(),
            absl::StatusCode::kNotFound);
  engine_->StartDrain();
  LegSpec new_room;
  new_room.room_id = "room-2";
  new_room.leg_id = "a";
  EXPECT_EQ(engine_->AddLeg(new_room).status().code(),
            absl::StatusCode::kFailedPrecondition);
}

}  // namespace
}  // namespace sotto::media
