// WavWriter and RepairWav: the header is valid after every sync (sox and
// ffprobe agree with us), RF64 past the limit, and a file cut short by a
// crash is made whole to its last complete sample frame.
#include "services/recorder/wav_file.h"

#include <fstream>
#include <vector>

#include "gtest/gtest.h"
#include "tests/services/recorder/recorder_test_util.h"

namespace sotto::recorder {
namespace {

using testing::FfprobeSeconds;
using testing::FreshDir;
using testing::ReadAudio;
using testing::SoxSeconds;

std::vector<int16_t> Ramp(size_t frames, uint16_t channels) {
  std::vector<int16_t> out(frames * channels);
  for (size_t i = 0; i < out.size(); ++i) {
    out[i] = static_cast<int16_t>((i * 37) % 20000 - 10000);
  }
  return out;
}

TEST(WavFileTest, HeaderIsValidAfterEverySync) {
  const std::string path = FreshDir("wav") + "/grow.wav";
  auto writer = WavWriter::Create(path, 3, 8000);
  ASSERT_TRUE(writer.ok()) << writer.status();
  EXPECT_DOUBLE_EQ(SoxSeconds(path), 0.0);
  for (int second = 1; second <= 3; ++second) {
    ASSERT_TRUE((*writer)->Append(Ramp(8000, 3)).ok());
    ASSERT_TRUE((*writer)->Sync().ok());
    auto info = ReadWavInfo(path);
    ASSERT_TRUE(info.ok()) << info.status();
    EXPECT_EQ(info->channels, 3);
    EXPECT_EQ(info->frames(), 8000u * second);
    EXPECT_FALSE(info->rf64);
    EXPECT_NEAR(SoxSeconds(path), second, 1e-6) << "sox at " << second << "s";
    EXPECT_NEAR(FfprobeSeconds(path), second, 1e-3)
        << "ffprobe at " << second << "s";
  }
  ASSERT_TRUE((*writer)->Finish().ok());
  EXPECT_EQ(ReadAudio(path).interleaved, [] {
    std::vector<int16_t> all;
    for (int i = 0; i < 3; ++i) {
      auto part = Ramp(8000, 3);
      all.insert(all.end(), part.begin(), part.end());
    }
    return all;
  }());
}

TEST(WavFileTest, TurnsRf64PastTheLimitAndStaysReadable) {
  const std::string path = FreshDir("wav") + "/big.wav";
  // 1 s of stereo is 32000 bytes; the limit is passed in the second second.
  auto writer = WavWriter::Create(path, 2, 8000, /*rf64_threshold=*/40000);
  ASSERT_TRUE(writer.ok());
  ASSERT_TRUE((*writer)->Append(Ramp(8000, 2)).ok());
  ASSERT_TRUE((*writer)->Sync().ok());
  EXPECT_FALSE(ReadWavInfo(path)->rf64);
  ASSERT_TRUE((*writer)->Append(Ramp(8000, 2)).ok());
  ASSERT_TRUE((*writer)->Finish().ok());
  auto info = ReadWavInfo(path);
  ASSERT_TRUE(info.ok()) << info.status();
  EXPECT_TRUE(info->rf64);
  EXPECT_EQ(info->frames(), 16000u);
  std::ifstream in(path, std::ios::binary);
  char magic[4];
  in.read(magic, 4);
  EXPECT_EQ(std::string(magic, 4), "RF64");
  EXPECT_NEAR(SoxSeconds(path), 2.0, 1e-6);
  EXPECT_NEAR(FfprobeSeconds(path), 2.0, 1e-3);
}

TEST(WavFileTest, RepairCutsToTheLastWholeFrameAndFixesTheSizes) {
  const std::string path = FreshDir("wav") + "/crash.wav";
  {
    auto writer = WavWriter::Create(path, 2, 8000);
    ASSERT_TRUE(writer.ok());
    ASSERT_TRUE((*writer)->Append(Ramp(8000, 2)).ok());
    ASSERT_TRUE((*writer)->Sync().ok());
    // Written but never synced: the header still says 1 s.
    ASSERT_TRUE((*writer)->Append(Ramp(4000, 2)).ok());
  }  // the process "dies": no Finish
  {
    std::ofstream torn(path, std::ios::binary | std::ios::app);
    torn.write("\x01\x02\x03", 3);  // a torn last sample frame
  }
  EXPECT_EQ(ReadWavInfo(path)->frames(), 8000u);
  auto repaired = RepairWav(path);
  ASSERT_TRUE(repaired.ok()) << repaired.status();
  EXPECT_EQ(repaired->frames(), 12000u);
  EXPECT_EQ(ReadWavInfo(path)->frames(), 12000u);
  EXPECT_EQ(std::filesystem::file_size(path), kWavHeaderBytes + 12000u * 4);
  EXPECT_NEAR(SoxSeconds(path), 1.5, 1e-6);
  EXPECT_NEAR(FfprobeSeconds(path), 1.5, 1e-3);
  // Idempotent, and the file can grow on.
  ASSERT_TRUE(RepairWav(path).ok());
  auto writer = WavWriter::OpenForAppend(path);
  ASSERT_TRUE(writer.ok()) << writer.status();
  ASSERT_TRUE((*writer)->Append(Ramp(4000, 2)).ok());
  ASSERT_TRUE((*writer)->Finish().ok());
  EXPECT_NEAR(SoxSeconds(path), 2.0, 1e-6);
}

TEST(WavFileTest, RepairOfAnRf64SizedFileWritesDs64) {
  const std::string path = FreshDir("wav") + "/crash64.wav";
  {
    auto writer = WavWriter::Create(path, 1, 8000, 1000);
    ASSERT_TRUE(writer.ok());
    ASSERT_TRUE((*writer)->Append(Ramp(8000, 1)).ok());
  }
  auto repaired = RepairWav(path, 1000);
  ASSERT_TRUE(repaired.ok()) << repaired.status();
  EXPECT_TRUE(repaired->rf64);
  EXPECT_NEAR(SoxSeconds(path), 1.0, 1e-6);
  EXPECT_NEAR(FfprobeSeconds(path), 1.0, 1e-3);
}

TEST(WavFileTest, ForeignOrBrokenFilesAreRefusedWithAReason) {
  const std::string dir = FreshDir("wav");
  {
    std::ofstream junk(dir + "/junk.wav", std::ios::binary);
    junk << "not a wav file at all";
  }
  auto repaired = RepairWav(dir + "/junk.wav");
  EXPECT_EQ(repaired.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_NE(repaired.status().message().find("RIFF"), std::string::npos);
  EXPECT_EQ(RepairWav(dir + "/missing.wav").status().code(),
            absl::StatusCode::kNotFound);
  ASSERT_TRUE(WavWriter::Create(dir + "/a.wav", 1, 8000).ok());
  EXPECT_EQ(WavWriter::Create(dir + "/a.wav", 1, 8000).status().code(),
            absl::StatusCode::kAlreadyExists);
}

}  // namespace
}  // namespace sotto::recorder
