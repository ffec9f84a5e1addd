// Helpers of the recorder's tests: fresh folders, reading WAV samples
// back, asking sox and ffprobe (independent readers) about a file, and
// building tap messages.
#ifndef SOTTO_TESTS_SERVICES_RECORDER_RECORDER_TEST_UTIL_H_
#define SOTTO_TESTS_SERVICES_RECORDER_RECORDER_TEST_UTIL_H_

#include <unistd.h>

#include <atomic>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <string>
#include <vector>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/strip.h"
#include "absl/time/time.h"
#include "google/protobuf/util/time_util.h"
#include "services/recorder/wav_file.h"
#include "sotto/v1/media.pb.h"

namespace sotto::recorder::testing {

inline std::string FreshDir(const std::string& name) {
  static std::atomic<int> counter{0};
  const char* base = std::getenv("TEST_TMPDIR");
  const std::string dir = absl::StrCat(base ? base : "/tmp", "/", name, "-",
                                       getpid(), "-", counter++);
  std::filesystem::remove_all(dir);
  std::filesystem::create_directories(dir);
  return dir;
}

struct Audio {
  WavInfo info;
  std::vector<int16_t> interleaved;
  // Samples of one channel.
  std::vector<int16_t> Channel(int c) const {
    std::vector<int16_t> out;
    for (size_t i = static_cast<size_t>(c); i < interleaved.size();
         i += info.channels) {
      out.push_back(interleaved[i]);
    }
    return out;
  }
  double seconds() const {
    return static_cast<double>(info.frames()) / info.sample_rate_hz;
  }
};

inline Audio ReadAudio(const std::string& path) {
  Audio audio;
  auto info = ReadWavInfo(path);
  if (!info.ok()) return audio;
  audio.info = *info;
  std::ifstream in(path, std::ios::binary);
  in.seekg(static_cast<std::streamoff>(info->data_offset));
  audio.interleaved.resize(info->data_bytes / 2);
  in.read(reinterpret_cast<char*>(audio.interleaved.data()),
          static_cast<std::streamsize>(info->data_bytes));
  return audio;
}

// The first line a command prints, or "" if it failed.
inline std::string FirstLine(const std::string& command) {
  std::FILE* pipe = ::popen(command.c_str(), "r");
  if (pipe == nullptr) return "";
  char buffer[512] = {0};
  std::string line;
  if (std::fgets(buffer, sizeof(buffer), pipe) != nullptr) line = buffer;
  const int rc = ::pclose(pipe);
  if (rc != 0) return "";
  return std::string(absl::StripAsciiWhitespace(line));
}

// Duration in seconds as sox reads the file; -1 if sox cannot open it.
inline double SoxSeconds(const std::string& path) {
  double seconds = -1;
  const std::string out =
      FirstLine(absl::StrCat("sox --i -D '", path, "' 2>/dev/null"));
  if (!absl::SimpleAtod(out, &seconds)) return -1;
  return seconds;
}

// Duration in seconds as ffprobe reads the file; -1 if it cannot open it.
inline double FfprobeSeconds(const std::string& path) {
  double seconds = -1;
  const std::string out = FirstLine(absl::StrCat(
      "ffprobe -v error -show_entries stream=duration -of csv=p=0 '", path,
      "' 2>/dev/null"));
  if (!absl::SimpleAtod(out, &seconds)) return -1;
  return seconds;
}

inline v1::TapMessage Frame(const std::string& leg, int64_t media_slot,
                            const std::vector<int16_t>& samples,
                            bool concealed = false) {
  v1::TapMessage message;
  v1::TapFrame* frame = message.mutable_frame();
  frame->set_source_leg_id(leg);
  *frame->mutable_media_time() =
      google::protobuf::util::TimeUtil::MicrosecondsToDuration(media_slot *
                                                               20000);
  frame->set_sample_rate_hz(8000);
  std::string pcm;
  for (int16_t s : samples) {
    const uint16_t u = static_cast<uint16_t>(s);
    pcm.push_back(static_cast<char>(u & 0xff));
    pcm.push_back(static_cast<char>(u >> 8));
  }
  frame->set_pcm_s16le(pcm);
  frame->set_concealed(concealed);
  return message;
}

inline v1::TapMessage ConstantFrame(const std::string& leg, int64_t media_slot,
                                    int16_t value, bool concealed = false) {
  return Frame(leg, media_slot, std::vector<int16_t>(160, value), concealed);
}

}  // namespace sotto::recorder::testing

#endif  // SOTTO_TESTS_SERVICES_RECORDER_RECORDER_TEST_UTIL_H_
