// RTP header parsing and writing (RFC 3550 s5.1, RFC 8285).
#include "media_engine/rtp/rtp_packet.h"

#include <cstring>

#include "media_engine/rtp/byte_io.h"

namespace sotto::media::rtp {

absl::string_view RtpParseErrorName(RtpParseError error) {
  switch (error) {
    case RtpParseError::kOk:
      return "ok";
    case RtpParseError::kTooShort:
      return "too_short";
    case RtpParseError::kBadVersion:
      return "bad_version";
    case RtpParseError::kBadCsrcCount:
      return "bad_csrc_count";
    case RtpParseError::kBadExtensionLength:
      return "bad_extension_length";
    case RtpParseError::kBadPadding:
      return "bad_padding";
  }
  return "unknown";
}

uint32_t RtpPacketView::csrc(int index) const {
  return ReadBe32(packet_.data() + kRtpFixedHeaderSize + 4 * index);
}

RtpParseError ParseRtp(absl::Span<const uint8_t> packet, RtpPacketView* view) {
  const size_t size = packet.size();
  if (size < kRtpFixedHeaderSize) return RtpParseError::kTooShort;
  const uint8_t* p = packet.data();
  if ((p[0] >> 6) != 2) return RtpParseError::kBadVersion;
  const bool has_padding = (p[0] & 0x20) != 0;
  const bool has_extension = (p[0] & 0x10) != 0;
  const uint8_t csrc_count = p[0] & 0x0F;

  size_t header_size = kRtpFixedHeaderSize + 4u * csrc_count;
  if (header_size > size) return RtpParseError::kBadCsrcCount;

  uint16_t extension_profile = 0;
  absl::Span<const uint8_t> extension_data;
  if (has_extension) {
    if (header_size + 4 > size) return RtpParseError::kBadExtensionLength;
    extension_profile = ReadBe16(p + header_size);
    const size_t extension_size = 4u * ReadBe16(p + header_size + 2);
    header_size += 4;
    if (extension_size > size - header_size) {
      return RtpParseError::kBadExtensionLength;
    }
    extension_data = packet.subspan(header_size, extension_size);
    header_size += extension_size;
  }

  size_t padding_size = 0;
  if (has_padding) {
    // The count includes itself, so 0 is invalid; it may consume the whole
    // payload (padding-only packets are legal, e.g. for bandwidth probes).
    padding_size = p[size - 1];
    if (padding_size == 0 || padding_size > size - header_size) {
      return RtpParseError::kBadPadding;
    }
  }

  view->packet_ = packet;
  view->extension_data_ = extension_data;
  view->payload_ =
      packet.subspan(header_size, size - header_size - padding_size);
  view->header_size_ = header_size;
  view->padding_size_ = padding_size;
  view->marker_ = (p[1] & 0x80) != 0;
  view->payload_type_ = p[1] & 0x7F;
  view->sequence_number_ = ReadBe16(p + 2);
  view->timestamp_ = ReadBe32(p + 4);
  view->ssrc_ = ReadBe32(p + 8);
  view->csrc_count_ = csrc_count;
  view->has_extension_ = has_extension;
  view->extension_profile_ = extension_profile;
  return RtpParseError::kOk;
}

RtpExtensionIterator::RtpExtensionIterator(const RtpPacketView& packet)
    : data_(packet.extension_data()) {
  if (!packet.has_extension()) return;
  one_byte_ = packet.extension_profile() == kRtpOneByteExtensionProfile;
  two_byte_ =
      (packet.extension_profile() & 0xFFF0) == kRtpTwoByteExtensionProfile;
}

bool RtpExtensionIterator::Next(RtpExtensionElement* element) {
  if (!one_byte_ && !two_byte_) return false;
  while (offset_ < data_.size()) {
    const uint8_t first = data_[offset_];
    if (first == 0) {  // Padding byte between or after elements.
      ++offset_;
      continue;
    }
    uint8_t id;
    size_t length;
    size_t header;
    if (one_byte_) {
      id = first >> 4;
      // Id 15 is reserved: stop, the rest of the block is not ours to read.
      if (id == 15) {
        offset_ = data_.size();
        return false;
      }
      length = (first & 0x0F) + 1u;
      header = 1;
    } else {
      if (offset_ + 2 > data_.size()) {
        malformed_ = true;
        offset_ = data_.size();
        return false;
      }
      id = first;
      length = data_[offset_ + 1];
      header = 2;
    }
    if (length > data_.size() - offset_ - header) {
      malformed_ = true;
      offset_ = data_.size();
      return false;
    }
    element->id = id;
    element->data = data_.subspan(offset_ + header, length);
    offset_ += header + length;
    return true;
  }
  return false;
}

bool FindRtpExtension(const RtpPacketView& packet, uint8_t id,
                      absl::Span<const uint8_t>* data) {
  RtpExtensionIterator it(packet);
  RtpExtensionElement element;
  while (it.Next(&element)) {
    if (element.id == id) {
      *data = element.data;
      return true;
    }
  }
  return false;
}

size_t RtpHeaderSize(const RtpHeaderFields& fields) {
  if (fields.payload_type > 127 || fields.csrcs.size() > kRtpMaxCsrcs) {
    return 0;
  }
  size_t size = kRtpFixedHeaderSize + 4 * fields.csrcs.size();
  if (fields.has_extension) {
    if (fields.extension_data.size() % 4 != 0 ||
        fields.extension_data.size() / 4 > 0xFFFF) {
      return 0;
    }
    size += 4 + fields.extension_data.size();
  }
  return size;
}

size_t WriteRtpHeader(const RtpHeaderFields& fields, absl::Span<uint8_t> out) {
  const size_t size = RtpHeaderSize(fields);
  if (size == 0 || size > out.size()) return 0;
  uint8_t* p = out.data();
  p[0] = static_cast<uint8_t>(0x80 | (fields.has_extension ? 0x10 : 0) |
                              fields.csrcs.size());
  p[1] = static_cast<uint8_t>((fields.marker ? 0x80 : 0) | fields.payload_type);
  WriteBe16(p + 2, fields.sequence_number);
  WriteBe32(p + 4, fields.timestamp);
  WriteBe32(p + 8, fields.ssrc);
  size_t offset = kRtpFixedHeaderSize;
  for (uint32_t csrc : fields.csrcs) {
    WriteBe32(p + offset, csrc);
    offset += 4;
  }
  if (fields.has_extension) {
    WriteBe16(p + offset, fields.extension_profile);
    WriteBe16(p + offset + 2,
              static_cast<uint16_t>(fields.extension_data.size() / 4));
    offset += 4;
    if (!fields.extension_data.empty()) {
      std::memcpy(p + offset, fields.extension_data.data(),
                  fields.extension_data.size());
    }
  }
  return size;
}

size_t WriteRtpPacket(const RtpHeaderFields& fields,
                      absl::Span<const uint8_t> payload,
                      absl::Span<uint8_t> out) {
  const size_t header_size = RtpHeaderSize(fields);
  if (header_size == 0 || header_size + payload.size() > out.size()) return 0;
  WriteRtpHeader(fields, out);
  if (!payload.empty()) {
    std::memcpy(out.data() + header_size, payload.data(), payload.size());
  }
  return header_size + payload.size();
}

}  // namespace sotto::media::rtp
