// One media leg: its sockets, SRTP contexts, RTP receive path into the room
// mixer and RTP send path out of it, RTCP and statistics.
#ifndef SOTTO_MEDIA_ENGINE_ENGINE_LEG_H_
#define SOTTO_MEDIA_ENGINE_ENGINE_LEG_H_

#include <array>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/types/span.h"
#include "media_engine/base/audio_frame.h"
#include "media_engine/base/clock.h"
#include "media_engine/engine/drop_reason.h"
#include "media_engine/engine/engine_stats.h"
#include "media_engine/net/event_loop.h"
#include "media_engine/net/port_allocator.h"
#include "media_engine/net/socket_address.h"
#include "media_engine/rtp/receive_statistics.h"
#include "media_engine/rtp/telephone_event.h"
#include "media_engine/srtp/inbound_srtp.h"
#include "media_engine/srtp/srtp_key.h"
#include "media_engine/srtp/srtp_session.h"

namespace sotto::media {

enum class AudioCodec : uint8_t { kPcmu, kPcma };
absl::string_view AudioCodecName(AudioCodec codec);

// What a leg is told by the control plane.
struct LegConfig {
  std::string leg_id;
  AudioCodec codec = AudioCodec::kPcmu;
  uint8_t payload_type = 0;
  // 0 = not negotiated.
  uint8_t telephone_event_payload_type = 0;
  // What we send: 10, 20, 30, 40 or 60 ms.
  int ptime_ms = 20;
  // Where to send; learned from authenticated packets when unset.
  std::optional<net::SocketAddress> remote_rtp;
  std::optional<net::SocketAddress> remote_rtcp;  // separate-port RTCP only
  bool rtcp_mux = true;
  // No symmetric RTP: always send to remote_rtp, never latch.
  bool asymmetric_rtp = false;
  // Keys: absent means plain RTP (the leg asked for it).
  std::optional<srtp::SrtpKeyMaterial> remote_key;  // we decrypt with it
  std::optional<srtp::SrtpKeyMaterial> local_key;   // we encrypt with it
  // Mean RTCP report interval (RFC 3550 randomises 0.5x-1.5x around it).
  Micros rtcp_interval = 5'000'000;
};

// A point-in-time copy of a leg's counters (taken on its worker).
struct LegStats {
  uint64_t packets_received = 0;
  uint64_t bytes_received = 0;  // RTP payload bytes
  uint64_t packets_sent = 0;
  uint64_t bytes_sent = 0;
  uint64_t send_failures = 0;
  uint64_t telephone_events = 0;
  uint64_t comfort_noise_packets = 0;
  // RTCP compounds that authenticated (SRTCP) and parsed; the failures are
  // under drops. With packets_received and the pre-parse drops this
  // accounts for every datagram the leg read.
  uint64_t rtcp_packets_received = 0;
  uint64_t ssrc_changes = 0;
  uint64_t latches = 0;
  int64_t packets_lost = 0;
  uint32_t packets_expected = 0;
  double jitter_ms = 0;
  double rtt_ms = 0;
  double remote_fraction_lost = 0;
  double remote_jitter_ms = 0;
  std::array<uint64_t, kDropReasonCount> drops{};
  std::optional<net::SocketAddress> remote;
};

// The room side of a leg: where received audio goes.
class LegHost {
 public:
  virtual ~LegHost() = default;
  virtual void OnLegAudio(int member, uint32_t rtp_timestamp,
                          absl::Span<const int16_t> samples, bool in_order,
                          Micros now) = 0;
  virtual void OnLegStreamRestart(int member) = 0;
  // The peer sent comfort noise (RFC 3389): it is silent from now on.
  virtual void OnLegComfortNoise(int member, Micros now) = 0;
  virtual void OnLegTelephoneEvent(int member, const rtp::TelephoneEvent& event,
                                   uint32_t rtp_timestamp, Micros now) = 0;
};

// Lives on its room's worker; built on the control thread, then handed over.
// The receive and send paths allocate nothing, take no lock and log nothing:
// every outcome is a counter.
class Leg : public net::FdHandler {
 public:
  // Creates the SRTP contexts. INVALID_ARGUMENT for inconsistent keys.
  static absl::StatusOr<std::unique_ptr<Leg>> Create(int member,
                                                     LegConfig config,
                                                     net::LegSockets sockets,
                                                     LegHost* host);
  ~Leg() override;

  // Worker thread: starts and stops receiving.
  absl::Status Attach(net::EventLoop* loop);
  void Detach();

  // FdHandler: the RTP socket (and muxed RTCP) is readable.
  void OnReadable(Micros now) override;

  // Sends the room's mix for `slot` (encoded per the leg's codec and ptime).
  void SendFrame(int64_t slot, const AudioFrame& frame, Micros now);
  // Sends an RTCP SR (with a report block about what we receive) when due.
  void MaybeSendRtcp(Micros now);

  // Applies a new configuration from the control plane (re-key, new
  // address, codec). The old remote key stays accepted for a short overlap.
  absl::Status Update(const LegConfig& config, Micros now);

  LegStats Snapshot() const;
  const LegConfig& config() const { return config_; }
  int member() const { return member_; }
  uint16_t local_rtp_port() const;
  uint16_t local_rtcp_port() const;
  uint32_t local_ssrc() const { return ssrc_; }
  // Counts a drop reported back by the mixer.
  void CountDrop(DropReason reason) { Drop(reason); }
  // Engine-wide counters of the worker the leg runs on (set on attach).
  void set_counters(EngineCounters* counters) { counters_ = counters; }

 private:
  class RtcpReader;
  Leg(int member, LegConfig config, net::LegSockets sockets, LegHost* host);

  void HandleRtp(absl::Span<uint8_t> packet, const net::SocketAddress& from,
                 Micros now);
  void HandleRtcp(absl::Span<uint8_t> packet, const net::SocketAddress& from,
                  Micros now);
  void ReadRtcpSocket(Micros now);
  void Latch(const net::SocketAddress& from);
  void SendPacket(absl::Span<const int16_t> samples, uint32_t timestamp,
                  bool marker);
  void Drop(DropReason reason) {
    ++stats_.drops[static_cast<int>(reason)];
    if (counters_ != nullptr) ++counters_->drops[static_cast<int>(reason)];
  }

  const int member_;
  LegConfig config_;
  net::LegSockets sockets_;
  LegHost* host_;
  net::EventLoop* loop_ = nullptr;
  EngineCounters* counters_ = nullptr;
  std::unique_ptr<RtcpReader> rtcp_reader_;

  std::optional<srtp::InboundSrtp> inbound_;
  std::optional<srtp::SrtpSession> outbound_;

  // Receive state.
  bool have_ssrc_ = false;
  uint32_t remote_ssrc_ = 0;
  rtp::RtpReceiveStatistics receive_stats_;
  std::optional<net::SocketAddress> candidate_remote_;
  double foreign_tokens_ = 100;
  Micros foreign_refill_ = 0;
  int candidate_count_ = 0;
  uint32_t last_event_timestamp_ = 0;
  bool have_event_ = false;
  bool end_reported_ = false;

  // Send state.
  uint32_t ssrc_;
  uint16_t sequence_;
  uint32_t timestamp_base_;
  bool have_slot_base_ = false;
  int64_t slot_base_ = 0;
  bool first_packet_ = true;  // the next packet sent carries the marker
  // RTP timestamp the next mixed frame has if no slot was skipped.
  uint32_t next_frame_timestamp_ = 0;
  std::array<int16_t, 4 * kSamplesPerFrame> pending_{};
  int pending_samples_ = 0;
  uint32_t pending_timestamp_ = 0;
  Micros next_rtcp_ = 0;
  uint32_t last_sent_timestamp_ = 0;

  std::array<uint8_t, 2048> receive_buffer_{};
  std::array<uint8_t, 1500> send_buffer_{};
  std::array<int16_t, 6 * kSamplesPerFrame> decoded_{};

  LegStats stats_;
};

}  // namespace sotto::media

#endif  // SOTTO_MEDIA_ENGINE_ENGINE_LEG_H_
