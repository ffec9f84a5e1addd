// RFC 4733 telephone-event payloads.
#include "media_engine/rtp/telephone_event.h"

#include "media_engine/rtp/byte_io.h"

namespace sotto::media::rtp {

absl::string_view TelephoneEventParseErrorName(TelephoneEventParseError error) {
  switch (error) {
    case TelephoneEventParseError::kOk:
      return "ok";
    case TelephoneEventParseError::kTooShort:
      return "too_short";
    case TelephoneEventParseError::kBadLength:
      return "bad_length";
  }
  return "unknown";
}

TelephoneEventParseError ParseTelephoneEvent(absl::Span<const uint8_t> payload,
                                             TelephoneEvent* event) {
  if (payload.size() < kTelephoneEventSize) {
    return TelephoneEventParseError::kTooShort;
  }
  if (payload.size() % kTelephoneEventSize != 0) {
    return TelephoneEventParseError::kBadLength;
  }
  event->event = payload[0];
  event->end = (payload[1] & 0x80) != 0;
  event->volume = payload[1] & 0x3F;
  event->duration = ReadBe16(payload.data() + 2);
  return TelephoneEventParseError::kOk;
}

size_t WriteTelephoneEvent(const TelephoneEvent& event,
                           absl::Span<uint8_t> out) {
  if (out.size() < kTelephoneEventSize ||
      event.volume > kTelephoneEventMaxVolume) {
    return 0;
  }
  out[0] = event.event;
  out[1] = static_cast<uint8_t>((event.end ? 0x80 : 0) | event.volume);
  WriteBe16(out.data() + 2, event.duration);
  return kTelephoneEventSize;
}

char DtmfCharFromEvent(uint8_t event) {
  static constexpr char kChars[] = "0123456789*#ABCD";
  return event < 16 ? kChars[event] : '\0';
}

}  // namespace sotto::media::rtp
