// Zero-copy RTP (RFC 3550) header parser and writer for untrusted packets.
//
// Everything here is allocation-free and reentrant: a parsed RtpPacketView
// points into the caller's buffer and is valid only while that buffer is.
#ifndef SOTTO_MEDIA_ENGINE_RTP_RTP_PACKET_H_
#define SOTTO_MEDIA_ENGINE_RTP_RTP_PACKET_H_

#include <cstddef>
#include <cstdint>

#include "absl/strings/string_view.h"
#include "absl/types/span.h"

namespace sotto::media::rtp {

inline constexpr size_t kRtpFixedHeaderSize = 12;
inline constexpr int kRtpMaxCsrcs = 15;
// RFC 8285 header extension profiles ("defined by profile" field).
inline constexpr uint16_t kRtpOneByteExtensionProfile = 0xBEDE;
inline constexpr uint16_t kRtpTwoByteExtensionProfile = 0x1000;  // & 0xFFF0

// Why a packet was rejected. Values are dense from 0 so callers can keep one
// drop counter per reason in an array of kRtpParseErrorCount.
enum class RtpParseError : uint8_t {
  kOk = 0,
  kTooShort,            // fewer than 12 bytes
  kBadVersion,          // version field is not 2
  kBadCsrcCount,        // CSRC list runs past the end of the packet
  kBadExtensionLength,  // extension header or its body runs past the end
  kBadPadding,          // P bit set, pad count 0 or larger than the payload
};
inline constexpr size_t kRtpParseErrorCount = 6;
absl::string_view RtpParseErrorName(RtpParseError error);

// A validated RTP packet. Default-constructed views are empty.
class RtpPacketView {
 public:
  RtpPacketView() = default;

  bool marker() const { return marker_; }
  uint8_t payload_type() const { return payload_type_; }
  uint16_t sequence_number() const { return sequence_number_; }
  uint32_t timestamp() const { return timestamp_; }
  uint32_t ssrc() const { return ssrc_; }

  int csrc_count() const { return csrc_count_; }
  // Precondition: 0 <= index < csrc_count().
  uint32_t csrc(int index) const;

  bool has_extension() const { return has_extension_; }
  // The 16-bit "defined by profile" field of the extension header.
  uint16_t extension_profile() const { return extension_profile_; }
  // The extension body (length * 4 bytes), excluding its 4-byte header.
  absl::Span<const uint8_t> extension_data() const { return extension_data_; }

  // Bytes after header, CSRCs and extension, with padding removed.
  absl::Span<const uint8_t> payload() const { return payload_; }
  // Number of padding bytes at the end (including the count byte), or 0.
  size_t padding_size() const { return padding_size_; }
  // Fixed header + CSRC list + extension.
  size_t header_size() const { return header_size_; }
  // The whole packet as given to ParseRtp.
  absl::Span<const uint8_t> packet() const { return packet_; }

 private:
  friend RtpParseError ParseRtp(absl::Span<const uint8_t> packet,
                                RtpPacketView* view);

  absl::Span<const uint8_t> packet_;
  absl::Span<const uint8_t> extension_data_;
  absl::Span<const uint8_t> payload_;
  size_t header_size_ = 0;
  size_t padding_size_ = 0;
  uint32_t timestamp_ = 0;
  uint32_t ssrc_ = 0;
  uint16_t sequence_number_ = 0;
  uint16_t extension_profile_ = 0;
  uint8_t payload_type_ = 0;
  uint8_t csrc_count_ = 0;
  bool marker_ = false;
  bool has_extension_ = false;
};

// Validates `packet` and fills `*view` on kOk (untouched otherwise). Any
// extension profile is accepted and skipped by its length field; the
// elements inside are not validated here (see RtpExtensionIterator), because
// one malformed element must not cost the audio of the whole packet.
RtpParseError ParseRtp(absl::Span<const uint8_t> packet, RtpPacketView* view);

// One RFC 8285 header extension element.
struct RtpExtensionElement {
  uint8_t id = 0;
  absl::Span<const uint8_t> data;
};

// Walks the RFC 8285 elements of a packet's extension block (one-byte form
// 0xBEDE, two-byte form 0x100x). Padding bytes (id 0) are skipped; in the
// one-byte form id 15 is reserved and ends processing, as RFC 8285 s4.2
// requires. Other profiles yield no elements.
class RtpExtensionIterator {
 public:
  explicit RtpExtensionIterator(const RtpPacketView& packet);

  // Returns the next element, or false at the end of the block (or at a
  // malformed element, after which malformed() is true).
  bool Next(RtpExtensionElement* element);
  bool malformed() const { return malformed_; }

 private:
  absl::Span<const uint8_t> data_;
  size_t offset_ = 0;
  bool one_byte_ = false;
  bool two_byte_ = false;
  bool malformed_ = false;
};

// Finds the element with `id` in a packet's RFC 8285 extension block.
bool FindRtpExtension(const RtpPacketView& packet, uint8_t id,
                      absl::Span<const uint8_t>* data);

// What WriteRtpHeader writes. Spans are read during the call only.
struct RtpHeaderFields {
  bool marker = false;
  uint8_t payload_type = 0;  // 0..127
  uint16_t sequence_number = 0;
  uint32_t timestamp = 0;
  uint32_t ssrc = 0;
  absl::Span<const uint32_t> csrcs;  // at most kRtpMaxCsrcs
  bool has_extension = false;
  uint16_t extension_profile = 0;
  absl::Span<const uint8_t> extension_data;  // size a multiple of 4
};

// Size WriteRtpHeader needs for `fields`, or 0 if the fields are invalid.
size_t RtpHeaderSize(const RtpHeaderFields& fields);

// Writes the header into `out` and returns its size, or 0 (writing nothing)
// if the fields are invalid or `out` is too small. The payload goes right
// after it, so a codec can encode straight into the packet buffer.
size_t WriteRtpHeader(const RtpHeaderFields& fields, absl::Span<uint8_t> out);

// Header followed by a copy of `payload`; returns total size or 0.
size_t WriteRtpPacket(const RtpHeaderFields& fields,
                      absl::Span<const uint8_t> payload,
                      absl::Span<uint8_t> out);

}  // namespace sotto::media::rtp

#endif  // SOTTO_MEDIA_ENGINE_RTP_RTP_PACKET_H_
