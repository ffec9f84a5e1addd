#include "media_engine/engine/leg.h"

#include <time.h>

#include <algorithm>
#include <cstring>
#include <utility>

#include "absl/random/random.h"
#include "absl/strings/str_cat.h"
#include "media_engine/codec/g711.h"
#include "media_engine/rtp/rtcp_packet.h"
#include "media_engine/rtp/rtp_demux.h"
#include "media_engine/rtp/rtp_packet.h"

namespace sotto::media {
namespace {

constexpr uint8_t kComfortNoisePayloadType = 13;
// Datagrams read per readiness callback before yielding to other legs.
constexpr int kMaxReadsPerWakeup = 64;
// Largest audio payload accepted: 120 ms of G.711.
constexpr size_t kMaxAudioPayload = 6 * kSamplesPerFrame;
// Chunks handed to the jitter buffer (it takes at most 60 ms at once).
constexpr size_t kMaxChunk = 3 * kSamplesPerFrame;
// Packets in a row from a new address, all authenticated, before the leg
// follows it (NAT rebinding). One is not enough: a replayed packet racing
// the original must not move the leg.
constexpr int kRelatchPackets = 2;
// Packets from addresses other than the peer's are only worth an SRTP check
// at a modest rate (enough to follow a NAT rebinding at once); a flood from
// elsewhere is dropped before it costs an HMAC per packet.
constexpr double kForeignPacketsPerSecond = 500;
constexpr double kForeignBurst = 100;

uint64_t NtpNow() {
  timespec ts;
  clock_gettime(CLOCK_REALTIME, &ts);
  const uint64_t seconds = static_cast<uint64_t>(ts.tv_sec) + 2208988800ULL;
  const uint64_t fraction =
      (static_cast<uint64_t>(ts.tv_nsec) << 32) / 1'000'000'000ULL;
  return (seconds << 32) | fraction;
}

DropReason FromSrtpResult(srtp::SrtpResult result) {
  switch (result) {
    case srtp::SrtpResult::kAuthFail:
      return DropReason::kSrtpAuth;
    case srtp::SrtpResult::kReplayFail:
    case srtp::SrtpResult::kReplayOld:
      return DropReason::kSrtpReplay;
    case srtp::SrtpResult::kMalformed:
      return DropReason::kMalformedRtp;
    default:
      return DropReason::kSrtpOther;
  }
}

}  // namespace

absl::string_view AudioCodecName(AudioCodec codec) {
  return codec == AudioCodec::kPcmu ? "PCMU" : "PCMA";
}

absl::string_view DropReasonName(DropReason reason) {
  static constexpr absl::string_view kNames[kDropReasonCount] = {
      "truncated",
      "not_rtp",
      "malformed_rtp",
      "srtp_auth",
      "srtp_replay",
      "srtp_other",
      "unknown_payload_type",
      "foreign_source",
      "malformed_rtcp",
      "rtcp_auth",
      "late",
      "duplicate",
      "malformed_telephone_event",
      "bad_payload_size",
      "rate_limited"};
  return kNames[static_cast<int>(reason)];
}

// Reads the separate RTCP socket of a leg that does not mux.
class Leg::RtcpReader : public net::FdHandler {
 public:
  explicit RtcpReader(Leg* leg) : leg_(leg) {}
  void OnReadable(Micros now) override { leg_->ReadRtcpSocket(now); }

 private:
  Leg* leg_;
};

// What every configuration must satisfy, new or updated.
static absl::Status ValidateConfig(const LegConfig& config) {
  if (config.remote_key.has_value() != config.local_key.has_value()) {
    return absl::InvalidArgumentError(
        "a leg is SRTP in both directions or plain RTP in both; got one key");
  }
  if (config.ptime_ms != 10 && config.ptime_ms != 20 && config.ptime_ms != 30 &&
      config.ptime_ms != 40 && config.ptime_ms != 60) {
    return absl::InvalidArgumentError(absl::StrCat(
        "ptime ", config.ptime_ms, " ms is not one of 10, 20, 30, 40, 60"));
  }
  return absl::OkStatus();
}

absl::StatusOr<std::unique_ptr<Leg>> Leg::Create(int member, LegConfig config,
                                                 net::LegSockets sockets,
                                                 LegHost* host) {
  if (absl::Status valid = ValidateConfig(config); !valid.ok()) return valid;
  std::unique_ptr<Leg> leg(
      new Leg(member, std::move(config), std::move(sockets), host));
  if (leg->config_.remote_key) {
    auto inbound = srtp::InboundSrtp::Create(*leg->config_.remote_key);
    if (!inbound.ok()) return inbound.status();
    leg->inbound_.emplace(std::move(*inbound));
    auto outbound = srtp::SrtpSession::Create(srtp::SrtpDirection::kOutbound,
                                              *leg->config_.local_key);
    if (!outbound.ok()) return outbound.status();
    leg->outbound_.emplace(std::move(*outbound));
  }
  return leg;
}

Leg::Leg(int member, LegConfig config, net::LegSockets sockets, LegHost* host)
    : member_(member),
      config_(std::move(config)),
      sockets_(std::move(sockets)),
      host_(host),
      receive_stats_([&] {
        rtp::RtpReceiveStatistics::Options options;
        // SRTP authenticated the very first packet: no probation needed.
        options.min_sequential = config_.remote_key ? 1 : 2;
        return options;
      }()) {
  absl::BitGen random;
  ssrc_ = absl::Uniform<uint32_t>(random);
  // Below 2^15 so the rollover counter has a whole cycle before it moves
  // (RFC 3711 s3.3.1 advice).
  sequence_ = absl::Uniform<uint16_t>(random, 0, 1u << 15);
  timestamp_base_ = absl::Uniform<uint32_t>(random);
}

Leg::~Leg() { Detach(); }

absl::Status Leg::Attach(net::EventLoop* loop) {
  loop_ = loop;
  absl::Status status = loop->AddFd(sockets_.rtp.fd(), this);
  if (!status.ok()) return status;
  if (sockets_.rtcp.valid()) {
    rtcp_reader_ = std::make_unique<RtcpReader>(this);
    status = loop->AddFd(sockets_.rtcp.fd(), rtcp_reader_.get());
  }
  return status;
}

void Leg::Detach() {
  if (loop_ == nullptr) return;
  loop_->RemoveFd(sockets_.rtp.fd());
  if (sockets_.rtcp.valid()) loop_->RemoveFd(sockets_.rtcp.fd());
  loop_ = nullptr;
}

uint16_t Leg::local_rtp_port() const {
  return sockets_.rtp.local_address().port();
}

uint16_t Leg::local_rtcp_port() const {
  return sockets_.rtcp.valid() ? sockets_.rtcp.local_address().port()
                               : local_rtp_port();
}

// Converts the kernel's arrival stamp (CLOCK_REALTIME) to our monotonic
// clock, given both clocks read at `now`. Falls back to `now` when there is
// no stamp or it is implausible (the realtime clock stepped).
static Micros ArrivalTime(int64_t kernel_time_ns, Micros now,
                          Micros realtime_now) {
  if (kernel_time_ns <= 0) return now;
  const Micros age = realtime_now - kernel_time_ns / 1000;
  if (age < 0 || age > 10'000'000) return now;
  return now - age;
}

static Micros RealtimeNow() {
  timespec ts;
  clock_gettime(CLOCK_REALTIME, &ts);
  return static_cast<Micros>(ts.tv_sec) * 1'000'000 + ts.tv_nsec / 1000;
}

void Leg::OnReadable(Micros now) {
  // One datagram per readiness event. The loop's epoll is level-triggered,
  // so a socket with more queued is reported again on its next round;
  // reading until EAGAIN would cost a second, empty recvmsg for almost every
  // packet (a leg gets one every 20 ms).
  net::SocketAddress from;
  int64_t kernel_time_ns = 0;
  const ptrdiff_t n = sockets_.rtp.ReceiveFrom(absl::MakeSpan(receive_buffer_),
                                               &from, &kernel_time_ns);
  if (n == -1) return;
  if (n == -2) {
    Drop(DropReason::kTruncated);
    return;
  }
  auto packet = absl::MakeSpan(receive_buffer_.data(), static_cast<size_t>(n));
  switch (rtp::ClassifyMuxedPacket(packet)) {
    case rtp::MuxedPacketKind::kRtp:
      // Audio is timed by its arrival at the socket: a backlog read late
      // (after a stall) must look late, not early.
      HandleRtp(packet, from, ArrivalTime(kernel_time_ns, now, RealtimeNow()));
      break;
    case rtp::MuxedPacketKind::kRtcp:
      HandleRtcp(packet, from, now);
      break;
    default:
      Drop(DropReason::kNotRtp);
  }
}

void Leg::ReadRtcpSocket(Micros now) {
  for (int i = 0; i < kMaxReadsPerWakeup; ++i) {
    net::SocketAddress from;
    const ptrdiff_t n =
        sockets_.rtcp.ReceiveFrom(absl::MakeSpan(receive_buffer_), &from);
    if (n == -1) return;
    if (n == -2) {
      Drop(DropReason::kTruncated);
      continue;
    }
    HandleRtcp(absl::MakeSpan(receive_buffer_.data(), static_cast<size_t>(n)),
               from, now);
  }
}

void Leg::Latch(const net::SocketAddress& from) {
  if (!stats_.remote) {
    stats_.remote = from;
    ++stats_.latches;
    return;
  }
  if (*stats_.remote == from) {
    candidate_count_ = 0;
    return;
  }
  if (candidate_remote_ && *candidate_remote_ == from) {
    if (++candidate_count_ >= kRelatchPackets) {
      stats_.remote = from;
      ++stats_.latches;
      candidate_count_ = 0;
      candidate_remote_.reset();
    }
    return;
  }
  candidate_remote_ = from;
  candidate_count_ = 1;
}

void Leg::HandleRtp(absl::Span<uint8_t> packet, const net::SocketAddress& from,
                    Micros now) {
  size_t length = packet.size();
  if (inbound_ && stats_.remote && *stats_.remote != from) {
    foreign_tokens_ =
        std::min(kForeignBurst,
                 foreign_tokens_ + static_cast<double>(now - foreign_refill_) *
                                       kForeignPacketsPerSecond / 1e6);
    foreign_refill_ = now;
    if (foreign_tokens_ < 1.0) {
      Drop(DropReason::kRateLimited);
      return;
    }
    foreign_tokens_ -= 1.0;
  }
  if (inbound_) {
    const srtp::SrtpResult result =
        inbound_->UnprotectRtp(packet, &length, now);
    if (result != srtp::SrtpResult::kOk) {
      Drop(FromSrtpResult(result));
      return;
    }
    // Only ever from an authenticated packet, and never for a remote that
    // does not send from where it listens.
    if (!config_.asymmetric_rtp) Latch(from);
  } else {
    // Plain RTP cannot authenticate: the peer is the configured address,
    // or the first sender, and nobody else.
    const std::optional<net::SocketAddress>& peer =
        stats_.remote ? stats_.remote : config_.remote_rtp;
    if (config_.asymmetric_rtp) {
      // Any port of the configured host; it is not where we send.
      if (from.ip() != config_.remote_rtp->ip()) {
        Drop(DropReason::kForeignSource);
        return;
      }
    } else if (peer && *peer != from) {
      Drop(DropReason::kForeignSource);
      return;
    }
    if (!stats_.remote && !config_.asymmetric_rtp) {
      stats_.remote = from;
      ++stats_.latches;
    }
  }

  rtp::RtpPacketView view;
  if (rtp::ParseRtp(packet.first(length), &view) != rtp::RtpParseError::kOk) {
    Drop(DropReason::kMalformedRtp);
    return;
  }
  if (!have_ssrc_ || view.ssrc() != remote_ssrc_) {
    if (have_ssrc_) {
      ++stats_.ssrc_changes;
      host_->OnLegStreamRestart(member_);
      rtp::RtpReceiveStatistics::Options options;
      options.min_sequential = inbound_ ? 1 : 2;
      receive_stats_ = rtp::RtpReceiveStatistics(options);
    }
    have_ssrc_ = true;
    remote_ssrc_ = view.ssrc();
    have_event_ = false;
  }
  const rtp::SequenceVerdict verdict =
      receive_stats_.OnPacket(view.sequence_number(), view.timestamp(), now);
  const bool in_order = verdict != rtp::SequenceVerdict::kLate;
  ++stats_.packets_received;
  stats_.bytes_received += view.payload().size();
  if (counters_ != nullptr) ++counters_->packets_received;

  const uint8_t payload_type = view.payload_type();
  if (payload_type == config_.payload_type) {
    const absl::Span<const uint8_t> payload = view.payload();
    if (payload.empty() || payload.size() > kMaxAudioPayload) {
      Drop(DropReason::kBadPayloadSize);
      return;
    }
    if (config_.codec == AudioCodec::kPcmu) {
      codec::DecodeUlaw(payload, absl::MakeSpan(decoded_));
    } else {
      codec::DecodeAlaw(payload, absl::MakeSpan(decoded_));
    }
    for (size_t offset = 0; offset < payload.size(); offset += kMaxChunk) {
      const size_t chunk = std::min(kMaxChunk, payload.size() - offset);
      host_->OnLegAudio(
          member_, view.timestamp() + static_cast<uint32_t>(offset),
          absl::MakeConstSpan(decoded_.data() + offset, chunk), in_order, now);
    }
  } else if (config_.telephone_event_payload_type != 0 &&
             payload_type == config_.telephone_event_payload_type) {
    rtp::TelephoneEvent event;
    if (rtp::ParseTelephoneEvent(view.payload(), &event) !=
        rtp::TelephoneEventParseError::kOk) {
      Drop(DropReason::kMalformedTelephoneEvent);
      return;
    }
    // RFC 4733 repeats each event (growing duration, end sent three
    // times); the room hears its start and its end once each.
    const bool new_event =
        !have_event_ || view.timestamp() != last_event_timestamp_;
    if (new_event) {
      have_event_ = true;
      last_event_timestamp_ = view.timestamp();
      end_reported_ = false;
      ++stats_.telephone_events;
      host_->OnLegTelephoneEvent(member_, event, view.timestamp(), now);
    } else if (event.end && !end_reported_) {
      end_reported_ = true;
      host_->OnLegTelephoneEvent(member_, event, view.timestamp(), now);
    }
  } else if (payload_type == kComfortNoisePayloadType) {
    // Comfort noise is silence to us (never mixed as audio): the source
    // stops being waited for.
    ++stats_.comfort_noise_packets;
    host_->OnLegComfortNoise(member_, now);
  } else {
    Drop(DropReason::kUnknownPayloadType);
  }
}

namespace {

// Collects what the leg needs from an RTCP compound packet.
class RtcpCollector : public rtp::RtcpVisitor {
 public:
  explicit RtcpCollector(uint32_t our_ssrc) : our_ssrc_(our_ssrc) {}
  void OnSenderReport(const rtp::RtcpSenderReportView& report) override {
    sender_ntp = report.sender.ntp_timestamp;
    have_sender_report = true;
    Blocks(report.report_blocks);
  }
  void OnReceiverReport(const rtp::RtcpReceiverReportView& report) override {
    Blocks(report.report_blocks);
  }

  bool have_sender_report = false;
  uint64_t sender_ntp = 0;
  bool have_block = false;
  rtp::RtcpReportBlock block;

 private:
  void Blocks(const rtp::RtcpReportBlocks& blocks) {
    for (size_t i = 0; i < blocks.size(); ++i) {
      const rtp::RtcpReportBlock b = blocks[i];
      if (b.source_ssrc == our_ssrc_) {
        block = b;
        have_block = true;
      }
    }
  }
  uint32_t our_ssrc_;
};

}  // namespace

void Leg::HandleRtcp(absl::Span<uint8_t> packet, const net::SocketAddress& from,
                     Micros now) {
  size_t length = packet.size();
  if (inbound_) {
    if (inbound_->UnprotectRtcp(packet, &length, now) !=
        srtp::SrtpResult::kOk) {
      Drop(DropReason::kRtcpAuth);
      return;
    }
  }
  (void)from;
  RtcpCollector collector(ssrc_);
  if (rtp::ParseRtcpCompound(packet.first(length), &collector) !=
      rtp::RtcpParseError::kOk) {
    Drop(DropReason::kMalformedRtcp);
    return;
  }
  ++stats_.rtcp_packets_received;
  if (collector.have_sender_report) {
    receive_stats_.OnSenderReport(collector.sender_ntp, now);
  }
  if (collector.have_block) {
    const int64_t rtt =
        rtp::RoundTripCompactNtp(rtp::CompactNtp(NtpNow()), collector.block);
    if (rtt >= 0) stats_.rtt_ms = static_cast<double>(rtt) * 1000.0 / 65536.0;
    stats_.remote_fraction_lost = collector.block.fraction_lost / 256.0;
    stats_.remote_jitter_ms = collector.block.jitter / 8.0;
  }
}

void Leg::SendFrame(int64_t slot, const AudioFrame& frame, Micros now) {
  const bool first_frame = !have_slot_base_;
  if (first_frame) {
    slot_base_ = slot;
    have_slot_base_ = true;
  }
  const uint32_t timestamp =
      timestamp_base_ +
      static_cast<uint32_t>((slot - slot_base_) * kSamplesPerFrame);
  const int ptime_samples = config_.ptime_ms * kSampleRateHz / 1000;
  if (!first_frame && timestamp != next_frame_timestamp_) {
    // A skipped slot (the worker was held up past the sink's lag limit):
    // send what is pending as it is, and mark the first packet after the
    // jump, as after a silence (RFC 3551 s4.1), whatever the packet size.
    if (pending_samples_ > 0) {
      SendPacket(absl::MakeConstSpan(pending_.data(), pending_samples_),
                 pending_timestamp_, first_packet_);
      pending_samples_ = 0;
    }
    first_packet_ = true;
  }
  next_frame_timestamp_ = timestamp + kSamplesPerFrame;
  if (pending_samples_ == 0) pending_timestamp_ = timestamp;
  std::memcpy(pending_.data() + pending_samples_, frame.data(),
              sizeof(int16_t) * kSamplesPerFrame);
  pending_samples_ += kSamplesPerFrame;
  int sent = 0;
  while (pending_samples_ - sent >= ptime_samples) {
    SendPacket(absl::MakeConstSpan(pending_.data() + sent, ptime_samples),
               pending_timestamp_, first_packet_);
    first_packet_ = false;
    sent += ptime_samples;
    pending_timestamp_ += static_cast<uint32_t>(ptime_samples);
  }
  if (sent > 0) {
    std::memmove(pending_.data(), pending_.data() + sent,
                 sizeof(int16_t) * (pending_samples_ - sent));
    pending_samples_ -= sent;
  }
  MaybeSendRtcp(now);
}

void Leg::SendPacket(absl::Span<const int16_t> samples, uint32_t timestamp,
                     bool marker) {
  const std::optional<net::SocketAddress>& remote =
      stats_.remote ? stats_.remote : config_.remote_rtp;
  if (!remote) return;  // nobody to send to yet (remote not learned)
  rtp::RtpHeaderFields fields;
  fields.marker = marker;
  fields.payload_type = config_.payload_type;
  fields.sequence_number = sequence_;
  fields.timestamp = timestamp;
  fields.ssrc = ssrc_;
  const size_t header =
      rtp::WriteRtpHeader(fields, absl::MakeSpan(send_buffer_));
  auto payload = absl::MakeSpan(send_buffer_.data() + header, samples.size());
  if (config_.codec == AudioCodec::kPcmu) {
    codec::EncodeUlaw(samples, payload);
  } else {
    codec::EncodeAlaw(samples, payload);
  }
  size_t length = header + samples.size();
  if (outbound_ && outbound_->ProtectRtp(absl::MakeSpan(send_buffer_),
                                         &length) != srtp::SrtpResult::kOk) {
    ++stats_.send_failures;
    return;
  }
  ++sequence_;
  if (!sockets_.rtp.SendTo(absl::MakeConstSpan(send_buffer_.data(), length),
                           *remote)) {
    ++stats_.send_failures;
    return;
  }
  ++stats_.packets_sent;
  stats_.bytes_sent += samples.size();
  if (counters_ != nullptr) ++counters_->packets_sent;
  last_sent_timestamp_ = timestamp;
}

void Leg::MaybeSendRtcp(Micros now) {
  if (now < next_rtcp_) return;
  // RFC 3550 s6.3.5: randomise the interval (0.5..1.5) to avoid bursts.
  const Micros interval = std::max<Micros>(config_.rtcp_interval, 1000);
  next_rtcp_ = now + interval / 2 +
               static_cast<Micros>((ssrc_ ^ static_cast<uint32_t>(now)) %
                                   static_cast<uint64_t>(interval));
  std::optional<net::SocketAddress> remote =
      stats_.remote ? stats_.remote : config_.remote_rtp;
  if (!config_.rtcp_mux) {
    if (config_.remote_rtcp) {
      remote = config_.remote_rtcp;
    } else if (remote) {
      remote->set_port(static_cast<uint16_t>(remote->port() + 1));
    }
  }
  if (!remote) return;
  rtp::RtcpSenderInfo sender;
  sender.ssrc = ssrc_;
  sender.ntp_timestamp = NtpNow();
  sender.rtp_timestamp = last_sent_timestamp_;
  sender.packet_count = static_cast<uint32_t>(stats_.packets_sent);
  sender.octet_count = static_cast<uint32_t>(stats_.bytes_sent);
  std::array<rtp::RtcpReportBlock, 1> blocks;
  size_t block_count = 0;
  if (have_ssrc_ && receive_stats_.validated()) {
    blocks[0] = receive_stats_.MakeReportBlock(remote_ssrc_, now);
    block_count = 1;
  }
  size_t length = rtp::WriteRtcpSenderReport(
      sender, absl::MakeConstSpan(blocks.data(), block_count),
      absl::MakeSpan(send_buffer_));
  if (length == 0) return;
  length +=
      rtp::WriteRtcpSdesCname(ssrc_, "sotto",
                              absl::MakeSpan(send_buffer_.data() + length,
                                             send_buffer_.size() - length));
  if (outbound_ && outbound_->ProtectRtcp(absl::MakeSpan(send_buffer_),
                                          &length) != srtp::SrtpResult::kOk) {
    ++stats_.send_failures;
    return;
  }
  net::UdpSocket& socket = sockets_.rtcp.valid() ? sockets_.rtcp : sockets_.rtp;
  if (!socket.SendTo(absl::MakeConstSpan(send_buffer_.data(), length),
                     *remote)) {
    ++stats_.send_failures;
  }
}

absl::Status Leg::Update(const LegConfig& config, Micros now) {
  if (absl::Status valid = ValidateConfig(config); !valid.ok()) return valid;
  if (config.remote_key.has_value() != config_.remote_key.has_value()) {
    return absl::FailedPreconditionError(
        "a leg cannot switch between SRTP and plain RTP; remove and add it");
  }
  if (config.remote_key && *config.remote_key != *config_.remote_key) {
    absl::Status status = inbound_->Rekey(*config.remote_key, now);
    if (!status.ok()) return status;
  }
  if (config.local_key && *config.local_key != *config_.local_key) {
    auto outbound = srtp::SrtpSession::Create(srtp::SrtpDirection::kOutbound,
                                              *config.local_key);
    if (!outbound.ok()) return outbound.status();
    outbound_.emplace(std::move(*outbound));
  }
  if (config.remote_rtp &&
      (!config_.remote_rtp || *config.remote_rtp != *config_.remote_rtp)) {
    // The integrator moved the peer: send there until authenticated
    // packets say otherwise.
    stats_.remote.reset();
    candidate_remote_.reset();
  }
  config_ = config;
  return absl::OkStatus();
}

LegStats Leg::Snapshot() const {
  LegStats copy = stats_;
  copy.packets_lost = receive_stats_.cumulative_lost();
  copy.packets_expected =
      receive_stats_.received() + static_cast<uint32_t>(std::max<int64_t>(
                                      0, receive_stats_.cumulative_lost()));
  copy.jitter_ms = receive_stats_.jitter_ms();
  if (!copy.remote && config_.remote_rtp) copy.remote = config_.remote_rtp;
  return copy;
}

}  // namespace sotto::media
