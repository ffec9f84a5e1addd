// G.711 tables, built at compile time from the segment algorithm so the
// table and the algorithm cannot disagree.
#include "media_engine/codec/g711.h"

namespace sotto::media::codec {
namespace {

// Segment end points (G.711 Tables 1a/2a) in 14-bit (mu) and 13-bit (A)
// magnitude units.
constexpr int kUlawSegmentEnd[8] = {0x3F,  0x7F,  0xFF,  0x1FF,
                                    0x3FF, 0x7FF, 0xFFF, 0x1FFF};
constexpr int kAlawSegmentEnd[8] = {0x1F,  0x3F,  0x7F,  0xFF,
                                    0x1FF, 0x3FF, 0x7FF, 0xFFF};
constexpr int kUlawBias = 0x21;  // 33: mu-law's offset in 14-bit units
constexpr int kUlawClip = 8159;  // largest 14-bit magnitude before bias

constexpr int Segment(int magnitude, const int (&ends)[8]) {
  int segment = 0;
  while (segment < 8 && magnitude > ends[segment]) ++segment;
  return segment;
}

// 14-bit two's complement sample -> mu-law code (all bits inverted).
constexpr uint8_t Ulaw14(int sample) {
  int mask = 0xFF;
  if (sample < 0) {
    sample = -sample;
    mask = 0x7F;
  }
  if (sample > kUlawClip) sample = kUlawClip;
  sample += kUlawBias;
  const int segment = Segment(sample, kUlawSegmentEnd);
  if (segment >= 8) return static_cast<uint8_t>(0x7F ^ mask);
  const int code = (segment << 4) | ((sample >> (segment + 1)) & 0x0F);
  return static_cast<uint8_t>(code ^ mask);
}

// 13-bit two's complement sample -> A-law code (even bits inverted). The
// negative side uses one's complement magnitude, as G.711 A-law is
// symmetric around -0.5 of the 13-bit step.
constexpr uint8_t Alaw13(int sample) {
  int mask = 0xD5;
  if (sample < 0) {
    mask = 0x55;
    sample = -sample - 1;
  }
  const int segment = Segment(sample, kAlawSegmentEnd);
  if (segment >= 8) return static_cast<uint8_t>(0x7F ^ mask);
  int code = segment << 4;
  code |= (segment < 2 ? (sample >> 1) : (sample >> segment)) & 0x0F;
  return static_cast<uint8_t>(code ^ mask);
}

constexpr int16_t UlawDecode(uint8_t code) {
  const int inverted = static_cast<uint8_t>(~code);
  int t = ((inverted & 0x0F) << 3) + 0x84;
  t <<= (inverted & 0x70) >> 4;
  return static_cast<int16_t>((inverted & 0x80) ? (0x84 - t) : (t - 0x84));
}

constexpr int16_t AlawDecode(uint8_t code) {
  const int a = code ^ 0x55;
  int t = (a & 0x0F) << 4;
  const int segment = (a & 0x70) >> 4;
  if (segment == 0) {
    t += 8;
  } else {
    t += 0x108;
    t <<= segment - 1;
  }
  return static_cast<int16_t>((a & 0x80) ? t : -t);
}

// Rounds a 16-bit sample to `bits` with clipping at the top, as sox does.
constexpr int RoundToBits(int sample, int bits) {
  const int shift = 16 - bits;
  const int max = (1 << (bits - 1)) - 1;
  const int rounded = (sample + (1 << (shift - 1))) >> shift;
  return rounded > max ? max : rounded;
}

constexpr std::array<uint8_t, (1 << 14) + 1> MakeUlawTable() {
  std::array<uint8_t, (1 << 14) + 1> table{};
  for (int i = 0; i <= (1 << 14); ++i) {
    table[i] = Ulaw14(i - (1 << 13) > 8191 ? 8191 : i - (1 << 13));
  }
  return table;
}
constexpr std::array<uint8_t, (1 << 13) + 1> MakeAlawTable() {
  std::array<uint8_t, (1 << 13) + 1> table{};
  for (int i = 0; i <= (1 << 13); ++i) {
    table[i] = Alaw13(i - (1 << 12) > 4095 ? 4095 : i - (1 << 12));
  }
  return table;
}
constexpr std::array<int16_t, 256> MakeUlawDecodeTable() {
  std::array<int16_t, 256> table{};
  for (int i = 0; i < 256; ++i) table[i] = UlawDecode(static_cast<uint8_t>(i));
  return table;
}
constexpr std::array<int16_t, 256> MakeAlawDecodeTable() {
  std::array<int16_t, 256> table{};
  for (int i = 0; i < 256; ++i) table[i] = AlawDecode(static_cast<uint8_t>(i));
  return table;
}

}  // namespace

namespace g711_internal {
constexpr std::array<uint8_t, (1 << 14) + 1> kLinearToUlaw = MakeUlawTable();
constexpr std::array<uint8_t, (1 << 13) + 1> kLinearToAlaw = MakeAlawTable();
constexpr std::array<int16_t, 256> kUlawToLinear = MakeUlawDecodeTable();
constexpr std::array<int16_t, 256> kAlawToLinear = MakeAlawDecodeTable();
}  // namespace g711_internal

uint8_t LinearToUlawBySegment(int16_t sample) {
  return Ulaw14(RoundToBits(sample, 14));
}
uint8_t LinearToAlawBySegment(int16_t sample) {
  return Alaw13(RoundToBits(sample, 13));
}

size_t EncodeUlaw(absl::Span<const int16_t> in, absl::Span<uint8_t> out) {
  if (out.size() < in.size()) return 0;
  for (size_t i = 0; i < in.size(); ++i) out[i] = LinearToUlaw(in[i]);
  return in.size();
}

size_t EncodeAlaw(absl::Span<const int16_t> in, absl::Span<uint8_t> out) {
  if (out.size() < in.size()) return 0;
  for (size_t i = 0; i < in.size(); ++i) out[i] = LinearToAlaw(in[i]);
  return in.size();
}

size_t DecodeUlaw(absl::Span<const uint8_t> in, absl::Span<int16_t> out) {
  if (out.size() < in.size()) return 0;
  for (size_t i = 0; i < in.size(); ++i) out[i] = UlawToLinear(in[i]);
  return in.size();
}

size_t DecodeAlaw(absl::Span<const uint8_t> in, absl::Span<int16_t> out) {
  if (out.size() < in.size()) return 0;
  for (size_t i = 0; i < in.size(); ++i) out[i] = AlawToLinear(in[i]);
  return in.size();
}

}  // namespace sotto::media::codec
