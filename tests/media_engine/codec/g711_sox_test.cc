// G.711 bit-exactness against sox, an independent implementation: every
// int16 value and a speech-like sweep are encoded by both and compared byte
// for byte; all 256 codes are decoded by both and compared sample for
// sample. Needs /usr/bin/sox (tag requires-sox).
#include <gtest/gtest.h>

#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <iterator>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "media_engine/codec/g711.h"

namespace sotto::media::codec {
namespace {

std::string TempPath(const std::string& name) {
  const char* dir = std::getenv("TEST_TMPDIR");
  return absl::StrCat(dir != nullptr ? dir : "/tmp", "/", name);
}

void PutLe(std::string& out, uint32_t value, int bytes) {
  for (int i = 0; i < bytes; ++i)
    out.push_back(static_cast<char>(value >> (8 * i)));
}

// A canonical 44-byte header, 8 kHz mono 16-bit PCM.
void WriteWav(const std::string& path, const std::vector<int16_t>& samples) {
  std::string data;
  const uint32_t data_size = static_cast<uint32_t>(samples.size() * 2);
  data += "RIFF";
  PutLe(data, 36 + data_size, 4);
  data += "WAVEfmt ";
  PutLe(data, 16, 4);
  PutLe(data, 1, 2);  // PCM
  PutLe(data, 1, 2);  // mono
  PutLe(data, 8000, 4);
  PutLe(data, 16000, 4);
  PutLe(data, 2, 2);
  PutLe(data, 16, 2);
  data += "data";
  PutLe(data, data_size, 4);
  for (int16_t s : samples) PutLe(data, static_cast<uint16_t>(s), 2);
  std::ofstream(path, std::ios::binary) << data;
}

std::vector<uint8_t> ReadFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return std::vector<uint8_t>(std::istreambuf_iterator<char>(in), {});
}

void RunSox(const std::string& args) {
  // -D: no dither. sox dithers by default when it lowers the bit depth,
  // which would make the comparison random.
  const std::string command = absl::StrCat("/usr/bin/sox -D ", args);
  ASSERT_EQ(std::system(command.c_str()), 0) << command;
}

std::vector<uint8_t> SoxEncode(const std::vector<int16_t>& samples,
                               const std::string& encoding) {
  const std::string wav = TempPath("in.wav");
  const std::string out = TempPath(absl::StrCat("out.", encoding));
  WriteWav(wav, samples);
  RunSox(absl::StrCat(wav, " -t raw -e ", encoding, " -b 8 ", out));
  return ReadFile(out);
}

std::vector<int16_t> SoxDecodeAllCodes(const std::string& encoding) {
  const std::string in = TempPath(absl::StrCat("codes.", encoding));
  const std::string out = TempPath(absl::StrCat("decoded.", encoding));
  std::string codes;
  for (int c = 0; c < 256; ++c) codes.push_back(static_cast<char>(c));
  std::ofstream(in, std::ios::binary) << codes;
  RunSox(absl::StrCat("-t raw -r 8000 -c 1 -e ", encoding, " -b 8 ", in,
                      " -t raw -e signed -b 16 -L ", out));
  const std::vector<uint8_t> bytes = ReadFile(out);
  std::vector<int16_t> samples;
  for (size_t i = 0; i + 1 < bytes.size(); i += 2) {
    samples.push_back(static_cast<int16_t>(bytes[i] | (bytes[i + 1] << 8)));
  }
  return samples;
}

std::vector<int16_t> EveryInt16() {
  std::vector<int16_t> samples;
  for (int s = -32768; s <= 32767; ++s)
    samples.push_back(static_cast<int16_t>(s));
  return samples;
}

// 3 s chirp 100 Hz -> 3.4 kHz with a 4 Hz syllable-like envelope.
std::vector<int16_t> SpeechLikeSweep() {
  std::vector<int16_t> samples;
  const double seconds = 3;
  const double pi = std::acos(-1.0);
  for (int i = 0; i < 8000 * seconds; ++i) {
    const double t = i / 8000.0;
    const double phase = 2 * pi * (100 * t + (3300 / (2 * seconds)) * t * t);
    const double envelope = 0.55 + 0.45 * std::sin(2 * pi * 4 * t);
    samples.push_back(static_cast<int16_t>(30000 * envelope * std::sin(phase)));
  }
  return samples;
}

TEST(G711SoxTest, MuLawEncodingOfEveryInt16MatchesSoxByteForByte) {
  const std::vector<int16_t> samples = EveryInt16();
  const std::vector<uint8_t> sox = SoxEncode(samples, "u-law");
  ASSERT_EQ(sox.size(), samples.size());
  std::vector<uint8_t> ours(samples.size());
  EncodeUlaw(samples, absl::MakeSpan(ours));
  for (size_t i = 0; i < samples.size(); ++i) {
    ASSERT_EQ(ours[i], sox[i]) << "sample " << samples[i];
  }
}

TEST(G711SoxTest, ALawEncodingOfEveryInt16MatchesSoxByteForByte) {
  const std::vector<int16_t> samples = EveryInt16();
  const std::vector<uint8_t> sox = SoxEncode(samples, "a-law");
  ASSERT_EQ(sox.size(), samples.size());
  std::vector<uint8_t> ours(samples.size());
  EncodeAlaw(samples, absl::MakeSpan(ours));
  for (size_t i = 0; i < samples.size(); ++i) {
    ASSERT_EQ(ours[i], sox[i]) << "sample " << samples[i];
  }
}

TEST(G711SoxTest, SpeechLikeSweepEncodesIdenticallyToSox) {
  const std::vector<int16_t> samples = SpeechLikeSweep();
  for (const std::string encoding : {"u-law", "a-law"}) {
    const std::vector<uint8_t> sox = SoxEncode(samples, encoding);
    std::vector<uint8_t> ours(samples.size());
    if (encoding == "u-law") {
      EncodeUlaw(samples, absl::MakeSpan(ours));
    } else {
      EncodeAlaw(samples, absl::MakeSpan(ours));
    }
    EXPECT_EQ(ours, sox) << encoding;
  }
}

TEST(G711SoxTest, DecodingAll256CodesMatchesSox) {
  const std::vector<int16_t> ulaw = SoxDecodeAllCodes("u-law");
  const std::vector<int16_t> alaw = SoxDecodeAllCodes("a-law");
  ASSERT_EQ(ulaw.size(), 256u);
  ASSERT_EQ(alaw.size(), 256u);
  for (int c = 0; c < 256; ++c) {
    EXPECT_EQ(UlawToLinear(static_cast<uint8_t>(c)), ulaw[c]) << "code " << c;
    EXPECT_EQ(AlawToLinear(static_cast<uint8_t>(c)), alaw[c]) << "code " << c;
  }
}

}  // namespace
}  // namespace sotto::media::codec
