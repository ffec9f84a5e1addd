// RFC 4733 telephone-event (DTMF) payload parser and writer.
#ifndef SOTTO_MEDIA_ENGINE_RTP_TELEPHONE_EVENT_H_
#define SOTTO_MEDIA_ENGINE_RTP_TELEPHONE_EVENT_H_

#include <cstddef>
#include <cstdint>

#include "absl/strings/string_view.h"
#include "absl/types/span.h"

namespace sotto::media::rtp {

inline constexpr size_t kTelephoneEventSize = 4;
inline constexpr uint8_t kTelephoneEventMaxVolume = 63;

// RFC 4733 s2.3: one event block.
struct TelephoneEvent {
  uint8_t event = 0;      // 0-9, 10 = '*', 11 = '#', 12-15 = A-D, ...
  bool end = false;       // E bit: last packets of the event
  uint8_t volume = 0;     // 0..63, in -dBm0 (larger is quieter)
  uint16_t duration = 0;  // timestamp units since the event began
};

// Dense from 0: one drop counter per reason.
enum class TelephoneEventParseError : uint8_t {
  kOk = 0,
  kTooShort,   // fewer than 4 bytes
  kBadLength,  // not a whole number of 4-byte blocks
};
inline constexpr size_t kTelephoneEventParseErrorCount = 3;
absl::string_view TelephoneEventParseErrorName(TelephoneEventParseError error);

// Parses the first event block of `payload`. Several blocks only occur with
// RFC 2198 redundancy, which is unwrapped before this; trailing whole blocks
// are accepted and ignored. The reserved R bit is ignored, as s2.3 requires.
TelephoneEventParseError ParseTelephoneEvent(absl::Span<const uint8_t> payload,
                                             TelephoneEvent* event);

// Writes one block (R bit zero); returns 4, or 0 if `out` is too small or
// the volume is above 63.
size_t WriteTelephoneEvent(const TelephoneEvent& event,
                           absl::Span<uint8_t> out);

// '0'-'9', '*', '#', 'A'-'D' for events 0-15; '\0' for any other event.
char DtmfCharFromEvent(uint8_t event);

}  // namespace sotto::media::rtp

#endif  // SOTTO_MEDIA_ENGINE_RTP_TELEPHONE_EVENT_H_
