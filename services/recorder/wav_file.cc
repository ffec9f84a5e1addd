#include "services/recorder/wav_file.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <array>
#include <cerrno>
#include <cstring>
#include <utility>

#include "absl/strings/str_cat.h"

namespace sotto::recorder {
namespace {

constexpr uint32_t kUnknownSize = 0xFFFFFFFFu;

void Put16(uint8_t* p, uint16_t v) {
  p[0] = static_cast<uint8_t>(v);
  p[1] = static_cast<uint8_t>(v >> 8);
}
void Put32(uint8_t* p, uint32_t v) {
  for (int i = 0; i < 4; ++i) p[i] = static_cast<uint8_t>(v >> (8 * i));
}
void Put64(uint8_t* p, uint64_t v) {
  for (int i = 0; i < 8; ++i) p[i] = static_cast<uint8_t>(v >> (8 * i));
}
uint16_t Get16(const uint8_t* p) {
  return static_cast<uint16_t>(p[0] | (p[1] << 8));
}
uint32_t Get32(const uint8_t* p) {
  uint32_t v = 0;
  for (int i = 3; i >= 0; --i) v = (v << 8) | p[i];
  return v;
}
uint64_t Get64(const uint8_t* p) {
  uint64_t v = 0;
  for (int i = 7; i >= 0; --i) v = (v << 8) | p[i];
  return v;
}

absl::Status Errno(absl::string_view what, const std::string& path) {
  const int error = errno;
  const absl::StatusCode code =
      error == ENOENT   ? absl::StatusCode::kNotFound
      : error == EEXIST ? absl::StatusCode::kAlreadyExists
      : error == ENOSPC ? absl::StatusCode::kResourceExhausted
                        : absl::StatusCode::kInternal;
  return absl::Status(
      code, absl::StrCat(what, " ", path, ": ", std::strerror(error)));
}

// Our 80-byte header for `data_bytes` of audio.
std::array<uint8_t, kWavHeaderBytes> EncodeHeader(uint16_t channels,
                                                  uint32_t rate,
                                                  uint64_t data_bytes,
                                                  bool rf64) {
  std::array<uint8_t, kWavHeaderBytes> h{};
  uint8_t* p = h.data();
  const uint64_t riff_size = kWavHeaderBytes - 8 + data_bytes;
  std::memcpy(p, rf64 ? "RF64" : "RIFF", 4);
  Put32(p + 4, rf64 ? kUnknownSize : static_cast<uint32_t>(riff_size));
  std::memcpy(p + 8, "WAVE", 4);
  std::memcpy(p + 12, rf64 ? "ds64" : "JUNK", 4);
  Put32(p + 16, 28);
  if (rf64) {
    Put64(p + 20, riff_size);
    Put64(p + 28, data_bytes);
    Put64(p + 36, data_bytes / (2u * channels));  // sample count
    Put32(p + 44, 0);                             // no table entries
  }
  std::memcpy(p + 48, "fmt ", 4);
  Put32(p + 52, 16);
  Put16(p + 56, 1);  // PCM
  Put16(p + 58, channels);
  Put32(p + 60, rate);
  Put32(p + 64, rate * 2u * channels);
  Put16(p + 68, static_cast<uint16_t>(2u * channels));
  Put16(p + 70, 16);
  std::memcpy(p + 72, "data", 4);
  Put32(p + 76, rf64 ? kUnknownSize : static_cast<uint32_t>(data_bytes));
  return h;
}

absl::Status PWriteAll(int fd, const void* data, size_t size, off_t offset,
                       const std::string& path) {
  const auto* p = static_cast<const uint8_t*>(data);
  while (size > 0) {
    const ssize_t n = ::pwrite(fd, p, size, offset);
    if (n < 0) {
      if (errno == EINTR) continue;
      return Errno("write", path);
    }
    p += n;
    size -= static_cast<size_t>(n);
    offset += n;
  }
  return absl::OkStatus();
}

// Parses the chunks up to "data". `file_size` bounds every read.
absl::StatusOr<WavInfo> ParseHeader(int fd, const std::string& path,
                                    uint64_t file_size) {
  uint8_t riff[12];
  if (file_size < 12 || ::pread(fd, riff, 12, 0) != 12) {
    return absl::FailedPreconditionError(
        absl::StrCat(path, ": shorter than a WAV header"));
  }
  WavInfo info;
  if (std::memcmp(riff, "RF64", 4) == 0) {
    info.rf64 = true;
  } else if (std::memcmp(riff, "RIFF", 4) != 0 ||
             std::memcmp(riff + 8, "WAVE", 4) != 0) {
    return absl::FailedPreconditionError(
        absl::StrCat(path, ": not a RIFF/RF64 WAVE file"));
  }
  uint64_t ds64_data = 0;
  bool have_fmt = false;
  uint64_t offset = 12;
  while (offset + 8 <= file_size) {
    uint8_t chunk[8];
    if (::pread(fd, chunk, 8, static_cast<off_t>(offset)) != 8) break;
    const uint32_t size = Get32(chunk + 4);
    if (std::memcmp(chunk, "ds64", 4) == 0 && size >= 24) {
      uint8_t ds64[24];
      if (::pread(fd, ds64, 24, static_cast<off_t>(offset + 8)) != 24) break;
      ds64_data = Get64(ds64 + 8);
    } else if (std::memcmp(chunk, "fmt ", 4) == 0 && size >= 16) {
      uint8_t fmt[16];
      if (::pread(fd, fmt, 16, static_cast<off_t>(offset + 8)) != 16) break;
      info.channels = Get16(fmt + 2);
      info.sample_rate_hz = Get32(fmt + 4);
      if (Get16(fmt + 14) != 16) {
        return absl::FailedPreconditionError(
            absl::StrCat(path, ": not 16-bit PCM"));
      }
      have_fmt = true;
    } else if (std::memcmp(chunk, "data", 4) == 0) {
      if (!have_fmt || info.channels == 0) {
        return absl::FailedPreconditionError(
            absl::StrCat(path, ": data chunk before a valid fmt chunk"));
      }
      info.data_offset = offset + 8;
      info.data_bytes =
          (info.rf64 && size == kUnknownSize) ? ds64_data : uint64_t{size};
      return info;
    }
    offset += 8 + size + (size & 1);
  }
  return absl::FailedPreconditionError(absl::StrCat(path, ": no data chunk"));
}

absl::StatusOr<uint64_t> FileSize(int fd, const std::string& path) {
  struct stat st;
  if (::fstat(fd, &st) != 0) return Errno("stat", path);
  return static_cast<uint64_t>(st.st_size);
}

}  // namespace

WavWriter::WavWriter(std::string path, int fd, uint16_t channels,
                     uint32_t sample_rate_hz, uint64_t rf64_threshold)
    : path_(std::move(path)),
      fd_(fd),
      channels_(channels),
      sample_rate_hz_(sample_rate_hz),
      rf64_threshold_(std::min(rf64_threshold, kWavMaxDataBytes)) {}

WavWriter::~WavWriter() {
  if (fd_ >= 0) ::close(fd_);
}

absl::StatusOr<std::unique_ptr<WavWriter>> WavWriter::Create(
    const std::string& path, uint16_t channels, uint32_t sample_rate_hz,
    uint64_t rf64_threshold) {
  if (channels == 0 || sample_rate_hz == 0) {
    return absl::InvalidArgumentError("a WAV file needs channels and a rate");
  }
  const int fd =
      ::open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0640);
  if (fd < 0) return Errno("create", path);
  std::unique_ptr<WavWriter> writer(
      new WavWriter(path, fd, channels, sample_rate_hz, rf64_threshold));
  if (absl::Status s = writer->Sync(); !s.ok()) return s;
  return writer;
}

absl::StatusOr<std::unique_ptr<WavWriter>> WavWriter::OpenForAppend(
    const std::string& path, uint64_t rf64_threshold) {
  const int fd = ::open(path.c_str(), O_RDWR | O_CLOEXEC);
  if (fd < 0) return Errno("open", path);
  absl::StatusOr<uint64_t> size = FileSize(fd, path);
  absl::StatusOr<WavInfo> info =
      size.ok() ? ParseHeader(fd, path, *size) : size.status();
  if (!info.ok() || info->data_offset != kWavHeaderBytes ||
      info->data_offset + info->data_bytes != *size) {
    ::close(fd);
    if (!info.ok()) return info.status();
    return absl::FailedPreconditionError(absl::StrCat(
        path, ": not a complete file of the recorder's layout; repair it"));
  }
  std::unique_ptr<WavWriter> writer(new WavWriter(
      path, fd, info->channels, info->sample_rate_hz, rf64_threshold));
  writer->data_bytes_ = info->data_bytes;
  writer->rf64_ = info->rf64;
  return writer;
}

absl::Status WavWriter::Append(absl::Span<const int16_t> interleaved) {
  if (fd_ < 0) return absl::FailedPreconditionError(path_ + ": finished");
  if (interleaved.size() % channels_ != 0) {
    return absl::InvalidArgumentError("partial sample frame");
  }
  const size_t bytes = interleaved.size() * 2;
  // The host is little-endian (x86-64, arm64), as WAV is.
  if (absl::Status s =
          PWriteAll(fd_, interleaved.data(), bytes,
                    static_cast<off_t>(kWavHeaderBytes + data_bytes_), path_);
      !s.ok()) {
    return s;
  }
  data_bytes_ += bytes;
  if (!rf64_ && data_bytes_ > rf64_threshold_) rf64_ = true;
  return absl::OkStatus();
}

absl::Status WavWriter::WriteHeader() {
  const auto header =
      EncodeHeader(channels_, sample_rate_hz_, data_bytes_, rf64_);
  return PWriteAll(fd_, header.data(), header.size(), 0, path_);
}

absl::Status WavWriter::Sync() {
  if (fd_ < 0) return absl::FailedPreconditionError(path_ + ": finished");
  if (absl::Status s = WriteHeader(); !s.ok()) return s;
  if (::fdatasync(fd_) != 0) return Errno("fdatasync", path_);
  return absl::OkStatus();
}

absl::Status WavWriter::Finish() {
  absl::Status status = Sync();
  if (fd_ >= 0 && ::close(fd_) != 0 && status.ok()) {
    status = Errno("close", path_);
  }
  fd_ = -1;
  return status;
}

absl::StatusOr<WavInfo> ReadWavInfo(const std::string& path) {
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return Errno("open", path);
  absl::StatusOr<uint64_t> size = FileSize(fd, path);
  absl::StatusOr<WavInfo> info =
      size.ok() ? ParseHeader(fd, path, *size) : size.status();
  ::close(fd);
  return info;
}

absl::StatusOr<WavInfo> RepairWav(const std::string& path,
                                  uint64_t rf64_threshold) {
  const int fd = ::open(path.c_str(), O_RDWR | O_CLOEXEC);
  if (fd < 0) return Errno("open", path);
  absl::StatusOr<uint64_t> size = FileSize(fd, path);
  absl::StatusOr<WavInfo> info =
      size.ok() ? ParseHeader(fd, path, *size) : size.status();
  if (!info.ok()) {
    ::close(fd);
    return info.status();
  }
  if (info->data_offset != kWavHeaderBytes) {
    ::close(fd);
    return absl::FailedPreconditionError(
        absl::StrCat(path, ": not written by the recorder; not repaired"));
  }
  const uint64_t block = 2u * info->channels;
  info->data_bytes = (*size - info->data_offset) / block * block;
  info->rf64 = info->data_bytes > std::min(rf64_threshold, kWavMaxDataBytes);
  const auto header = EncodeHeader(info->channels, info->sample_rate_hz,
                                   info->data_bytes, info->rf64);
  absl::Status status;
  if (::ftruncate(
          fd, static_cast<off_t>(info->data_offset + info->data_bytes)) != 0) {
    status = Errno("truncate", path);
  }
  if (status.ok())
    status = PWriteAll(fd, header.data(), header.size(), 0, path);
  if (status.ok() && ::fsync(fd) != 0) status = Errno("fsync", path);
  ::close(fd);
  if (!status.ok()) return status;
  return *info;
}

}  // namespace sotto::recorder
