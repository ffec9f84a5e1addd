// A test endpoint: a UDP socket that sends PCMU over SRTP (or plain RTP)
// to an engine leg and decodes what the engine sends back.
#ifndef SOTTO_TESTS_MEDIA_ENGINE_ENGINE_SRTP_PEER_H_
#define SOTTO_TESTS_MEDIA_ENGINE_ENGINE_SRTP_PEER_H_

#include <cstdint>
#include <optional>
#include <vector>

#include "media_engine/base/audio_frame.h"
#include "media_engine/codec/g711.h"
#include "media_engine/net/udp_socket.h"
#include "media_engine/rtp/rtcp_packet.h"
#include "media_engine/rtp/rtp_packet.h"
#include "media_engine/rtp/telephone_event.h"
#include "media_engine/srtp/srtp_key.h"
#include "media_engine/srtp/srtp_session.h"

namespace sotto::media::testing {

struct ReceivedPacket {
  uint16_t sequence = 0;
  uint32_t timestamp = 0;
  uint32_t ssrc = 0;
  bool marker = false;
  uint8_t payload_type = 0;
  std::vector<int16_t> samples;
};

class SrtpPeer {
 public:
  // `send_key` is what the engine was told as remote key; `receive_key` the
  // engine's local key (nullopt for plain RTP on both).
  SrtpPeer(std::optional<srtp::SrtpKeyMaterial> send_key,
           std::optional<srtp::SrtpKeyMaterial> receive_key)
      : socket_(
            *net::UdpSocket::Bind(*net::SocketAddress::Parse("127.0.0.1", 0))) {
    if (send_key) {
      out_.emplace(*srtp::SrtpSession::Create(srtp::SrtpDirection::kOutbound,
                                              *send_key));
    }
    if (receive_key) {
      in_.emplace(*srtp::SrtpSession::Create(srtp::SrtpDirection::kInbound,
                                             *receive_key));
    }
  }

  void SetKeys(std::optional<srtp::SrtpKeyMaterial> send_key,
               std::optional<srtp::SrtpKeyMaterial> receive_key) {
    out_.reset();
    in_.reset();
    if (send_key) {
      out_.emplace(*srtp::SrtpSession::Create(srtp::SrtpDirection::kOutbound,
                                              *send_key));
    }
    if (receive_key) {
      in_.emplace(*srtp::SrtpSession::Create(srtp::SrtpDirection::kInbound,
                                             *receive_key));
    }
  }

  void set_target(const net::SocketAddress& target) { target_ = target; }
  const net::SocketAddress& address() const { return socket_.local_address(); }
  net::UdpSocket& socket() { return socket_; }

  // Sends one packet of `samples` (PCMU) with the next sequence number.
  void Send(const std::vector<int16_t>& samples, int payload_type = -1) {
    rtp::RtpHeaderFields fields;
    fields.payload_type = static_cast<uint8_t>(
        payload_type >= 0 ? payload_type : (alaw_ ? 8 : 0));
    fields.sequence_number = sequence_++;
    fields.timestamp = timestamp_;
    fields.ssrc = ssrc_;
    timestamp_ += static_cast<uint32_t>(samples.size());
    uint8_t buffer[1500];
    const size_t header = rtp::WriteRtpHeader(fields, absl::MakeSpan(buffer));
    if (alaw_) {
      codec::EncodeAlaw(samples,
                        absl::MakeSpan(buffer + header, samples.size()));
    } else {
      codec::EncodeUlaw(samples,
                        absl::MakeSpan(buffer + header, samples.size()));
    }
    size_t length = header + samples.size();
    if (out_) out_->ProtectRtp(absl::MakeSpan(buffer), &length);
    socket_.SendTo(absl::MakeConstSpan(buffer, length), target_);
  }
  void SendRaw(absl::Span<const uint8_t> bytes) {
    socket_.SendTo(bytes, target_);
  }

  // Sends an RFC 4733 telephone-event packet of the event that started at
  // `start_timestamp` (RFC 4733 repeats it in every packet of the event).
  void SendTelephoneEvent(const rtp::TelephoneEvent& event,
                          uint8_t payload_type, bool marker,
                          uint32_t start_timestamp) {
    rtp::RtpHeaderFields fields;
    fields.marker = marker;
    fields.payload_type = payload_type;
    fields.sequence_number = sequence_++;
    fields.timestamp = start_timestamp;
    fields.ssrc = ssrc_;
    uint8_t buffer[1500];
    const size_t header = rtp::WriteRtpHeader(fields, absl::MakeSpan(buffer));
    const size_t body = rtp::WriteTelephoneEvent(
        event, absl::MakeSpan(buffer + header, sizeof(buffer) - header));
    size_t length = header + body;
    if (out_) out_->ProtectRtp(absl::MakeSpan(buffer), &length);
    socket_.SendTo(absl::MakeConstSpan(buffer, length), target_);
  }

  // Reads every datagram waiting; returns the decoded RTP packets.
  std::vector<ReceivedPacket> Drain() {
    std::vector<ReceivedPacket> packets;
    uint8_t buffer[2048];
    net::SocketAddress from;
    for (;;) {
      ptrdiff_t n = socket_.ReceiveFrom(absl::MakeSpan(buffer), &from);
      if (n < 0) break;
      size_t length = static_cast<size_t>(n);
      if (buffer[1] >= 192 && buffer[1] <= 223) {  // RTCP (muxed)
        if (in_ && in_->UnprotectRtcp(absl::MakeSpan(buffer, sizeof(buffer)),
                                      &length) != srtp::SrtpResult::kOk) {
          ++undecryptable;
          continue;
        }
        rtcp.emplace_back(buffer, buffer + length);
        continue;
      }
      if (in_ && in_->UnprotectRtp(absl::MakeSpan(buffer, sizeof(buffer)),
                                   &length) != srtp::SrtpResult::kOk) {
        ++undecryptable;
        continue;
      }
      rtp::RtpPacketView view;
      if (rtp::ParseRtp(absl::MakeConstSpan(buffer, length), &view) !=
          rtp::RtpParseError::kOk) {
        continue;
      }
      ReceivedPacket packet;
      packet.sequence = view.sequence_number();
      packet.timestamp = view.timestamp();
      packet.ssrc = view.ssrc();
      packet.marker = view.marker();
      packet.payload_type = view.payload_type();
      packet.samples.resize(view.payload().size());
      if (alaw_) {
        codec::DecodeAlaw(view.payload(), absl::MakeSpan(packet.samples));
      } else {
        codec::DecodeUlaw(view.payload(), absl::MakeSpan(packet.samples));
      }
      packets.push_back(std::move(packet));
    }
    return packets;
  }

  // Protects (SRTCP) and sends an RTCP compound packet.
  void SendRtcp(std::vector<uint8_t> compound) {
    size_t length = compound.size();
    compound.resize(length + 64);
    if (out_) out_->ProtectRtcp(absl::MakeSpan(compound), &length);
    socket_.SendTo(absl::MakeConstSpan(compound.data(), length), target_);
  }

  // PCMA instead of PCMU, both ways.
  void set_alaw(bool alaw) { alaw_ = alaw; }
  void set_ssrc(uint32_t ssrc) { ssrc_ = ssrc; }
  uint32_t ssrc() const { return ssrc_; }
  // RTCP compounds received (decrypted), oldest first.
  std::vector<std::vector<uint8_t>> rtcp;
  void set_sequence(uint16_t sequence) { sequence_ = sequence; }
  uint16_t sequence() const { return sequence_; }
  void set_timestamp(uint32_t timestamp) { timestamp_ = timestamp; }
  uint32_t timestamp() const { return timestamp_; }
  int undecryptable = 0;

 private:
  net::UdpSocket socket_;
  net::SocketAddress target_;
  std::optional<srtp::SrtpSession> out_;
  std::optional<srtp::SrtpSession> in_;
  bool alaw_ = false;
  uint16_t sequence_ = 1000;
  uint32_t timestamp_ = 50000;
  uint32_t ssrc_ = 0x1234;
};

}  // namespace sotto::media::testing

#endif  // SOTTO_TESTS_MEDIA_ENGINE_ENGINE_SRTP_PEER_H_
