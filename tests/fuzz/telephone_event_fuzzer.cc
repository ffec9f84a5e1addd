// libFuzzer target: RFC 4733 telephone-event parser and writer round trip.
#include <array>
#include <cstddef>
#include <cstdint>

#include "media_engine/rtp/telephone_event.h"
#include "tests/fuzz/fuzz_check.h"

using namespace sotto::media::rtp;  // NOLINT: fuzz target, one function

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  TelephoneEvent event;
  const TelephoneEventParseError error =
      ParseTelephoneEvent(absl::MakeConstSpan(data, size), &event);
  FUZZ_CHECK(static_cast<size_t>(error) < kTelephoneEventParseErrorCount);
  if (error != TelephoneEventParseError::kOk) return 0;
  FUZZ_CHECK(size >= kTelephoneEventSize && size % kTelephoneEventSize == 0);
  FUZZ_CHECK(event.volume <= kTelephoneEventMaxVolume);
  DtmfCharFromEvent(event.event);

  std::array<uint8_t, kTelephoneEventSize> out;
  FUZZ_CHECK(WriteTelephoneEvent(event, absl::MakeSpan(out)) ==
             kTelephoneEventSize);
  // Identical except the reserved R bit, which is written as zero.
  FUZZ_CHECK(out[0] == data[0] && out[1] == (data[1] & 0xBF) &&
             out[2] == data[2] && out[3] == data[3]);
  return 0;
}
