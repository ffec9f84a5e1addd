// G.711 mu-law (PCMU) and A-law (PCMA) codecs, bit-exact with ITU-T G.711
// and byte-for-byte identical to sox.
//
// G.711 quantises 14-bit (mu-law) or 13-bit (A-law) linear samples. Our
// 16-bit samples are reduced to that by rounding to nearest with clipping,
// as sox does; ffmpeg and Asterisk truncate instead, which picks the
// neighbouring code for inputs within 2 (mu) or 4 (A) of a decision value
// (0.8 % and 1.6 % of all inputs). Rounding halves the bias of the reduction.
//
// Encoding is one lookup in a table indexed by the reduced sample, 16 KiB
// (mu) + 8 KiB (A), rather than a 64K-entry table per law holding each code
// 4 or 8 times over. In a hot-cache microbenchmark the 64K table is ~0.2 ns
// per sample faster (one add and shift less; tests/bench/codec_srtp_bench),
// about 30 ns per 20 ms frame -- noise next to SRTP's ~2 us per packet --
// while the small tables leave 100 KiB more L1/L2 to the rest of the mixer.
// All functions are pure, thread-safe and allocation-free.
#ifndef SOTTO_MEDIA_ENGINE_CODEC_G711_H_
#define SOTTO_MEDIA_ENGINE_CODEC_G711_H_

#include <array>
#include <cstddef>
#include <cstdint>

#include "absl/types/span.h"

namespace sotto::media::codec {

// Samples in one 20 ms frame at 8 kHz, the telephony default packet.
inline constexpr size_t kG711FrameSamples = 160;

namespace g711_internal {
// Indexed by the rounded sample plus an offset; the one extra entry at the
// top holds the clipped code for inputs that round past the maximum.
extern const std::array<uint8_t, (1 << 14) + 1> kLinearToUlaw;
extern const std::array<uint8_t, (1 << 13) + 1> kLinearToAlaw;
extern const std::array<int16_t, 256> kUlawToLinear;
extern const std::array<int16_t, 256> kAlawToLinear;
}  // namespace g711_internal

inline uint8_t LinearToUlaw(int16_t sample) {
  // ((s + 2) >> 2) + 8192 -- round to the nearest 14-bit value, then offset
  // to an index -- folded into one add and one unsigned shift.
  return g711_internal::kLinearToUlaw[static_cast<uint32_t>(sample + 32770) >>
                                      2];
}
inline uint8_t LinearToAlaw(int16_t sample) {
  // ((s + 4) >> 3) + 4096, likewise.
  return g711_internal::kLinearToAlaw[static_cast<uint32_t>(sample + 32772) >>
                                      3];
}
inline int16_t UlawToLinear(uint8_t code) {
  return g711_internal::kUlawToLinear[code];
}
inline int16_t AlawToLinear(uint8_t code) {
  return g711_internal::kAlawToLinear[code];
}

// The classic segment-search encoders (what the tables are built from);
// kept for the benchmark and as the tests' second opinion.
uint8_t LinearToUlawBySegment(int16_t sample);
uint8_t LinearToAlawBySegment(int16_t sample);

// Batch codecs, typically over one 160-sample frame. Each returns the number
// of samples processed: in.size(), or 0 (writing nothing) if `out` is
// smaller than `in`.
size_t EncodeUlaw(absl::Span<const int16_t> in, absl::Span<uint8_t> out);
size_t EncodeAlaw(absl::Span<const int16_t> in, absl::Span<uint8_t> out);
size_t DecodeUlaw(absl::Span<const uint8_t> in, absl::Span<int16_t> out);
size_t DecodeAlaw(absl::Span<const uint8_t> in, absl::Span<int16_t> out);

}  // namespace sotto::media::codec

#endif  // SOTTO_MEDIA_ENGINE_CODEC_G711_H_
