// 16-bit PCM WAV files that stay valid while they grow, their RF64 form for
// files past the 4 GiB RIFF limit, and their repair after a crash.
//
// Every file is written with an 80-byte header: RIFF, a 28-byte JUNK chunk
// reserved for RF64's ds64, fmt, data. Sync() rewrites the RIFF and data
// sizes and fdatasync()s, so a reader (sox, ffmpeg) opening the file between
// two syncs sees a valid file of the audio synced so far. When the data
// would pass `rf64_threshold`, the header becomes RF64 (EBU Tech 3306): the
// JUNK chunk turns into ds64 carrying 64-bit sizes and the 32-bit sizes
// become 0xFFFFFFFF.
#ifndef SOTTO_SERVICES_RECORDER_WAV_FILE_H_
#define SOTTO_SERVICES_RECORDER_WAV_FILE_H_

#include <cstdint>
#include <memory>
#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/types/span.h"

namespace sotto::recorder {

// Bytes before the audio in files this writer makes.
inline constexpr uint64_t kWavHeaderBytes = 80;
// Most audio bytes a plain RIFF/WAVE file of ours can hold: its RIFF size
// (file size - 8) must fit in 32 bits, and 0xFFFFFFFF means "see ds64".
inline constexpr uint64_t kWavMaxDataBytes =
    0xFFFFFFFEull - (kWavHeaderBytes - 8);

struct WavInfo {
  uint16_t channels = 0;
  uint32_t sample_rate_hz = 0;
  uint64_t data_offset = 0;  // where the audio starts
  uint64_t data_bytes = 0;   // whole sample frames only
  bool rf64 = false;
  uint64_t frames() const {
    return channels == 0 ? 0 : data_bytes / (2u * channels);
  }
};

// One file being written. Not thread-safe (one session owns it).
class WavWriter {
 public:
  // Creates `path` (fails if it exists) with a valid empty file, synced.
  // `rf64_threshold`: data size past which the file turns RF64 (tests make
  // it small; at most kWavMaxDataBytes).
  static absl::StatusOr<std::unique_ptr<WavWriter>> Create(
      const std::string& path, uint16_t channels, uint32_t sample_rate_hz,
      uint64_t rf64_threshold = kWavMaxDataBytes);
  // Reopens a valid file of ours (e.g. just repaired) to append to it.
  static absl::StatusOr<std::unique_ptr<WavWriter>> OpenForAppend(
      const std::string& path, uint64_t rf64_threshold = kWavMaxDataBytes);
  ~WavWriter();
  WavWriter(const WavWriter&) = delete;
  WavWriter& operator=(const WavWriter&) = delete;

  // Appends interleaved samples (a multiple of channels()). Written to the
  // file at once; durable and visible in the header after the next Sync().
  absl::Status Append(absl::Span<const int16_t> interleaved);
  // Rewrites the header sizes and fdatasync()s.
  absl::Status Sync();
  // Sync() and close. Further calls fail.
  absl::Status Finish();

  uint16_t channels() const { return channels_; }
  uint32_t sample_rate_hz() const { return sample_rate_hz_; }
  uint64_t data_bytes() const { return data_bytes_; }
  uint64_t file_bytes() const { return kWavHeaderBytes + data_bytes_; }
  uint64_t frames() const { return data_bytes_ / (2u * channels_); }
  bool rf64() const { return rf64_; }
  const std::string& path() const { return path_; }

 private:
  WavWriter(std::string path, int fd, uint16_t channels,
            uint32_t sample_rate_hz, uint64_t rf64_threshold);
  absl::Status WriteHeader();

  const std::string path_;
  int fd_;
  const uint16_t channels_;
  const uint32_t sample_rate_hz_;
  const uint64_t rf64_threshold_;
  uint64_t data_bytes_ = 0;
  bool rf64_ = false;
};

// Reads the header of a WAV or RF64 file (any chunk order, as sox or ffmpeg
// write them too). data_bytes is what the header says, not the file size.
absl::StatusOr<WavInfo> ReadWavInfo(const std::string& path);

// Makes a file left by a crash valid: the audio is everything from the data
// chunk to the end of the file, cut to the last whole sample frame; the
// header sizes are rewritten to match (RF64 if the audio is past
// `rf64_threshold`) and the file synced. Idempotent. Returns the result.
absl::StatusOr<WavInfo> RepairWav(const std::string& path,
                                  uint64_t rf64_threshold = kWavMaxDataBytes);

}  // namespace sotto::recorder

#endif  // SOTTO_SERVICES_RECORDER_WAV_FILE_H_
