// Tests for the G.711 codecs: known code points, table against algorithm,
// batch APIs.
#include "media_engine/codec/g711.h"

#include <gtest/gtest.h>

#include <array>
#include <cstdint>

namespace sotto::media::codec {
namespace {

TEST(G711Test, MuLawKnownCodePoints) {
  EXPECT_EQ(LinearToUlaw(0), 0xFF);
  EXPECT_EQ(LinearToUlaw(32767), 0x80);
  EXPECT_EQ(LinearToUlaw(-32768), 0x00);
  EXPECT_EQ(UlawToLinear(0xFF), 0);
  EXPECT_EQ(UlawToLinear(0x7F), 0);
  EXPECT_EQ(UlawToLinear(0x80), 32124);
  EXPECT_EQ(UlawToLinear(0x00), -32124);
}

TEST(G711Test, ALawKnownCodePoints) {
  EXPECT_EQ(LinearToAlaw(0), 0xD5);
  EXPECT_EQ(LinearToAlaw(32767), 0xAA);
  EXPECT_EQ(LinearToAlaw(-32768), 0x2A);
  EXPECT_EQ(AlawToLinear(0xD5), 8);
  EXPECT_EQ(AlawToLinear(0x55), -8);
  EXPECT_EQ(AlawToLinear(0xAA), 32256);
  EXPECT_EQ(AlawToLinear(0x2A), -32256);
}

TEST(G711Test, TablesAgreeWithSegmentAlgorithmForEverySample) {
  for (int s = -32768; s <= 32767; ++s) {
    const int16_t sample = static_cast<int16_t>(s);
    ASSERT_EQ(LinearToUlaw(sample), LinearToUlawBySegment(sample)) << s;
    ASSERT_EQ(LinearToAlaw(sample), LinearToAlawBySegment(sample)) << s;
  }
}

TEST(G711Test, EncodingADecodedValueGivesTheSameCode) {
  for (int code = 0; code < 256; ++code) {
    const uint8_t c = static_cast<uint8_t>(code);
    // mu-law has two zeros (0xFF, 0x7F); both decode to 0, encode to 0xFF.
    EXPECT_EQ(LinearToUlaw(UlawToLinear(c)), c == 0x7F ? 0xFF : c) << code;
    EXPECT_EQ(LinearToAlaw(AlawToLinear(c)), c) << code;
  }
}

TEST(G711Test, EncodingIsMonotonicInTheDecodedDomain) {
  int previous_u = UlawToLinear(LinearToUlaw(-32768));
  int previous_a = AlawToLinear(LinearToAlaw(-32768));
  for (int s = -32767; s <= 32767; ++s) {
    const int u = UlawToLinear(LinearToUlaw(static_cast<int16_t>(s)));
    const int a = AlawToLinear(LinearToAlaw(static_cast<int16_t>(s)));
    ASSERT_GE(u, previous_u) << s;
    ASSERT_GE(a, previous_a) << s;
    previous_u = u;
    previous_a = a;
  }
}

TEST(G711Test, BatchCodecsProcessWholeFrames) {
  std::array<int16_t, kG711FrameSamples> pcm;
  for (size_t i = 0; i < pcm.size(); ++i) {
    pcm[i] = static_cast<int16_t>(i * 409 - 32768);
  }
  std::array<uint8_t, kG711FrameSamples> ulaw;
  std::array<uint8_t, kG711FrameSamples> alaw;
  ASSERT_EQ(EncodeUlaw(pcm, absl::MakeSpan(ulaw)), kG711FrameSamples);
  ASSERT_EQ(EncodeAlaw(pcm, absl::MakeSpan(alaw)), kG711FrameSamples);
  std::array<int16_t, kG711FrameSamples> decoded_u;
  std::array<int16_t, kG711FrameSamples> decoded_a;
  ASSERT_EQ(DecodeUlaw(ulaw, absl::MakeSpan(decoded_u)), kG711FrameSamples);
  ASSERT_EQ(DecodeAlaw(alaw, absl::MakeSpan(decoded_a)), kG711FrameSamples);
  for (size_t i = 0; i < pcm.size(); ++i) {
    EXPECT_EQ(ulaw[i], LinearToUlaw(pcm[i]));
    EXPECT_EQ(alaw[i], LinearToAlaw(pcm[i]));
    EXPECT_EQ(decoded_u[i], UlawToLinear(ulaw[i]));
    EXPECT_EQ(decoded_a[i], AlawToLinear(alaw[i]));
  }
}

TEST(G711Test, BatchCodecsRefuseShortOutputAndWriteNothing) {
  std::array<int16_t, 160> pcm{};
  std::array<uint8_t, 159> out{};
  out.fill(0x11);
  EXPECT_EQ(EncodeUlaw(pcm, absl::MakeSpan(out)), 0u);
  EXPECT_EQ(EncodeAlaw(pcm, absl::MakeSpan(out)), 0u);
  EXPECT_EQ(out[0], 0x11);
  std::array<uint8_t, 160> codes{};
  std::array<int16_t, 10> small{};
  EXPECT_EQ(DecodeUlaw(codes, absl::MakeSpan(small)), 0u);
  EXPECT_EQ(DecodeAlaw(codes, absl::MakeSpan(small)), 0u);
}

}  // namespace
}  // namespace sotto::media::codec
