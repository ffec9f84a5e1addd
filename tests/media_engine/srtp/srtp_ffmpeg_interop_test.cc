// SRTP interop with ffmpeg, whose SRTP implementation is independent of
// libsrtp: ffmpeg sends speech-like PCMU over SRTP (and SRTCP) that we
// unprotect and decode, and receives PCMU we encode and protect. Audio is
// compared by correlation, not byte equality. Needs /usr/bin/ffmpeg and
// /usr/bin/sox (tags requires-ffmpeg, requires-sox); loopback only.
#include <arpa/inet.h>
#include <fcntl.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cmath>
#include <cstdlib>
#include <fstream>
#include <iterator>
#include <map>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/strip.h"
#include "media_engine/codec/g711.h"
#include "media_engine/rtp/rtcp_packet.h"
#include "media_engine/rtp/rtp_packet.h"
#include "media_engine/srtp/inbound_srtp.h"
#include "media_engine/srtp/srtp_key.h"
#include "media_engine/srtp/srtp_session.h"

extern char** environ;

namespace sotto::media::srtp {
namespace {

using Clock = std::chrono::steady_clock;

// Each ffmpeg run must finish well within the test's 60 s timeout.
constexpr auto kProcessDeadline = std::chrono::seconds(12);

std::string TempPath(const std::string& name) {
  const char* dir = std::getenv("TEST_TMPDIR");
  return absl::StrCat(dir != nullptr ? dir : "/tmp", "/", name);
}

int64_t NowUs() {
  return std::chrono::duration_cast<std::chrono::microseconds>(
             Clock::now().time_since_epoch())
      .count();
}

// A child process with stdout/stderr in a log file; killed if still running
// when destroyed.
class Process {
 public:
  Process(const std::vector<std::string>& argv, const std::string& log) {
    std::vector<char*> args;
    for (const std::string& arg : argv)
      args.push_back(const_cast<char*>(arg.c_str()));
    args.push_back(nullptr);
    posix_spawn_file_actions_t actions;
    posix_spawn_file_actions_init(&actions);
    posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0);
    posix_spawn_file_actions_addopen(&actions, 1, log.c_str(),
                                     O_WRONLY | O_CREAT | O_TRUNC, 0644);
    posix_spawn_file_actions_adddup2(&actions, 1, 2);
    if (posix_spawn(&pid_, args[0], &actions, nullptr, args.data(), environ) !=
        0) {
      pid_ = -1;
    }
    posix_spawn_file_actions_destroy(&actions);
  }
  ~Process() {
    if (pid_ > 0 && !exited_) {
      kill(pid_, SIGKILL);
      waitpid(pid_, nullptr, 0);
    }
  }

  bool started() const { return pid_ > 0; }
  // True once the process has exited (non-blocking).
  bool Exited() {
    if (exited_ || pid_ <= 0) return true;
    int status = 0;
    if (waitpid(pid_, &status, WNOHANG) == pid_) {
      exited_ = true;
      exit_code_ = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
    }
    return exited_;
  }
  // Waits until exit or `deadline`; returns the exit code or -1.
  int Wait(Clock::time_point deadline) {
    while (!Exited() && Clock::now() < deadline) {
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    return exited_ ? exit_code_ : -1;
  }

 private:
  pid_t pid_ = -1;
  bool exited_ = false;
  int exit_code_ = -1;
};

class UdpSocket {
 public:
  // Binds 127.0.0.1:`port` (0 = any free port).
  explicit UdpSocket(uint16_t port = 0) {
    fd_ = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    sockaddr_in address{};
    address.sin_family = AF_INET;
    address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    address.sin_port = htons(port);
    if (bind(fd_, reinterpret_cast<sockaddr*>(&address), sizeof(address)) !=
        0) {
      close(fd_);
      fd_ = -1;
    }
  }
  ~UdpSocket() {
    if (fd_ >= 0) close(fd_);
  }
  UdpSocket(const UdpSocket&) = delete;
  UdpSocket& operator=(const UdpSocket&) = delete;

  bool ok() const { return fd_ >= 0; }
  int fd() const { return fd_; }
  uint16_t port() const {
    sockaddr_in address{};
    socklen_t size = sizeof(address);
    getsockname(fd_, reinterpret_cast<sockaddr*>(&address), &size);
    return ntohs(address.sin_port);
  }
  void SendTo(uint16_t port, absl::Span<const uint8_t> data) {
    sockaddr_in address{};
    address.sin_family = AF_INET;
    address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    address.sin_port = htons(port);
    sendto(fd_, data.data(), data.size(), 0,
           reinterpret_cast<sockaddr*>(&address), sizeof(address));
  }

 private:
  int fd_ = -1;
};

std::vector<uint8_t> ReadFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return std::vector<uint8_t>(std::istreambuf_iterator<char>(in), {});
}

// 16-bit mono samples of a WAV file's "data" chunk.
std::vector<int16_t> ReadWavSamples(const std::string& path) {
  const std::vector<uint8_t> bytes = ReadFile(path);
  size_t offset = 12;
  while (offset + 8 <= bytes.size()) {
    const uint32_t size = bytes[offset + 4] | (bytes[offset + 5] << 8) |
                          (bytes[offset + 6] << 16) |
                          (uint32_t{bytes[offset + 7]} << 24);
    if (std::string(bytes.begin() + offset, bytes.begin() + offset + 4) ==
        "data") {
      std::vector<int16_t> samples;
      const size_t end = std::min<size_t>(bytes.size(), offset + 8 + size);
      for (size_t i = offset + 8; i + 1 < end; i += 2) {
        samples.push_back(static_cast<int16_t>(bytes[i] | (bytes[i + 1] << 8)));
      }
      return samples;
    }
    offset += 8 + size + (size & 1);
  }
  return {};
}

// Largest normalised cross-correlation over lags up to +-`max_lag`.
double BestCorrelation(const std::vector<int16_t>& a,
                       const std::vector<int16_t>& b, int max_lag) {
  double best = 0;
  for (int lag = -max_lag; lag <= max_lag; ++lag) {
    double sum_ab = 0, sum_aa = 0, sum_bb = 0;
    for (size_t i = 0; i < a.size(); ++i) {
      const int64_t j = static_cast<int64_t>(i) + lag;
      if (j < 0 || j >= static_cast<int64_t>(b.size())) continue;
      sum_ab += static_cast<double>(a[i]) * b[j];
      sum_aa += static_cast<double>(a[i]) * a[i];
      sum_bb += static_cast<double>(b[j]) * b[j];
    }
    if (sum_aa > 0 && sum_bb > 0) {
      best = std::max(best, sum_ab / std::sqrt(sum_aa * sum_bb));
    }
  }
  return best;
}

class SrtpFfmpegInteropTest : public ::testing::TestWithParam<SrtpCryptoSuite> {
 protected:
  static void SetUpTestSuite() {
    // Two syllable-like gliding tones, 4 Hz tremolo: speech-like enough for
    // a codec and SRTP check, and deterministic.
    const std::string wav = TempPath("speech.wav");
    const std::string command = absl::StrCat(
        "/usr/bin/sox -n -r 8000 -b 16 -c 1 ", wav,
        " synth 2 sine 200-800 sine 500-1500 remix - tremolo 4 80 gain -3");
    ASSERT_EQ(std::system(command.c_str()), 0);
    speech_ = new std::vector<int16_t>(ReadWavSamples(wav));
    ASSERT_EQ(speech_->size(), 16000u);
  }
  static void TearDownTestSuite() {
    delete speech_;
    speech_ = nullptr;
  }

  static std::string Base64Key(const SrtpKeyMaterial& key) {
    return std::string(absl::StripPrefix(key.ToSdesKeyParams(), "inline:"));
  }

  static std::vector<int16_t>* speech_;
};
std::vector<int16_t>* SrtpFfmpegInteropTest::speech_ = nullptr;

TEST_P(SrtpFfmpegInteropTest, WeDecryptAndDecodeWhatFfmpegSends) {
  const SrtpKeyMaterial key = *SrtpKeyMaterial::Generate(GetParam());
  // RTP on an even port and SRTCP on the next one, where ffmpeg sends it.
  std::unique_ptr<UdpSocket> rtp_socket, rtcp_socket;
  for (int attempt = 0; attempt < 20 && rtcp_socket == nullptr; ++attempt) {
    rtp_socket = std::make_unique<UdpSocket>();
    if (rtp_socket->port() % 2 != 0 || rtp_socket->port() == 65535) continue;
    auto next = std::make_unique<UdpSocket>(rtp_socket->port() + 1);
    if (next->ok()) rtcp_socket = std::move(next);
  }
  ASSERT_NE(rtcp_socket, nullptr);

  Process ffmpeg({"/usr/bin/ffmpeg",
                  "-hide_banner",
                  "-loglevel",
                  "error",
                  "-re",
                  "-i",
                  TempPath("speech.wav"),
                  "-af",
                  "asetnsamples=n=160:p=0",
                  "-ac",
                  "1",
                  "-ar",
                  "8000",
                  "-c:a",
                  "pcm_mulaw",
                  "-f",
                  "rtp",
                  "-srtp_out_suite",
                  std::string(SrtpCryptoSuiteName(GetParam())),
                  "-srtp_out_params",
                  Base64Key(key),
                  absl::StrCat("srtp://127.0.0.1:", rtp_socket->port())},
                 TempPath("ffmpeg_send.log"));
  ASSERT_TRUE(ffmpeg.started());

  InboundSrtp inbound = *InboundSrtp::Create(key);
  InboundSrtp stranger =
      *InboundSrtp::Create(*SrtpKeyMaterial::Generate(GetParam()));
  std::map<uint16_t, std::vector<uint8_t>> payloads;  // by sequence number
  uint32_t rtp_ssrc = 0;
  int sender_reports = 0;
  uint32_t sr_ssrc = 0;
  int rtcp_failures = 0;
  std::vector<size_t> rtcp_sizes;
  const auto deadline = Clock::now() + kProcessDeadline;
  auto quiet_since = Clock::now();
  while (Clock::now() < deadline) {
    pollfd fds[2] = {{rtp_socket->fd(), POLLIN, 0},
                     {rtcp_socket->fd(), POLLIN, 0}};
    if (poll(fds, 2, 50) <= 0) {
      // Done once ffmpeg has exited and the sockets stayed quiet a while.
      if (ffmpeg.Exited() &&
          Clock::now() - quiet_since > std::chrono::milliseconds(300)) {
        break;
      }
      continue;
    }
    quiet_since = Clock::now();
    for (int i = 0; i < 2; ++i) {
      if ((fds[i].revents & POLLIN) == 0) continue;
      std::vector<uint8_t> buffer(2048);
      const ssize_t n = recv(fds[i].fd, buffer.data(), buffer.size(), 0);
      if (n <= 0) continue;
      size_t length = static_cast<size_t>(n);
      if (i == 0) {
        std::vector<uint8_t> copy(buffer.begin(), buffer.begin() + n);
        size_t copy_length = copy.size();
        EXPECT_EQ(
            stranger.UnprotectRtp(absl::MakeSpan(copy), &copy_length, NowUs()),
            SrtpResult::kAuthFail);
        ASSERT_EQ(
            inbound.UnprotectRtp(absl::MakeSpan(buffer), &length, NowUs()),
            SrtpResult::kOk);
        rtp::RtpPacketView view;
        ASSERT_EQ(
            rtp::ParseRtp(absl::MakeConstSpan(buffer.data(), length), &view),
            rtp::RtpParseError::kOk);
        EXPECT_EQ(view.payload_type(), 0);
        rtp_ssrc = view.ssrc();
        payloads[view.sequence_number()].assign(view.payload().begin(),
                                                view.payload().end());
      } else {
        rtcp_sizes.push_back(length);
        const SrtpResult result =
            inbound.UnprotectRtcp(absl::MakeSpan(buffer), &length, NowUs());
        if (result != SrtpResult::kOk) {
          ++rtcp_failures;
          continue;
        }
        struct : rtp::RtcpVisitor {
          void OnSenderReport(const rtp::RtcpSenderReportView& sr) override {
            ++*count;
            *ssrc = sr.sender.ssrc;
          }
          int* count;
          uint32_t* ssrc;
        } visitor;
        visitor.count = &sender_reports;
        visitor.ssrc = &sr_ssrc;
        EXPECT_EQ(rtp::ParseRtcpCompound(
                      absl::MakeConstSpan(buffer.data(), length), &visitor),
                  rtp::RtcpParseError::kOk);
      }
    }
  }
  ASSERT_TRUE(ffmpeg.Exited()) << "ffmpeg did not finish in time";

  // 2 s of 20 ms packets; loopback loses nothing.
  EXPECT_GE(payloads.size(), 99u);
  ASSERT_FALSE(rtcp_sizes.empty());
  if (GetParam() == SrtpCryptoSuite::kAesCm128HmacSha1_80) {
    EXPECT_GE(sender_reports, 1);
    EXPECT_EQ(sr_ssrc, rtp_ssrc);
    EXPECT_EQ(rtcp_failures, 0);
  } else {
    // RFC 3711 s5.2 forbids HMAC-SHA1 tags under 80 bits on SRTCP, so _32
    // shortens only the SRTP tag (libsrtp, pjsip, and we). ffmpeg uses a
    // 32-bit SRTCP tag for the SDES name: its SR (28 bytes) + E/index (4) +
    // tag (4) = 36 bytes, and it cannot authenticate here. RTP is unaffected.
    EXPECT_EQ(rtcp_sizes[0], 36u);
    EXPECT_EQ(rtcp_failures, static_cast<int>(rtcp_sizes.size()));
  }
  // Sequence numbers are contiguous (mod 2^16) from a random start.
  std::vector<int16_t> heard;
  uint16_t first = payloads.begin()->first;
  if (payloads.count(0) != 0 && payloads.rbegin()->first > 65000) {
    first = payloads.upper_bound(32768)->first;  // stream wrapped
  }
  for (uint16_t seq = first; payloads.count(seq) != 0; ++seq) {
    const std::vector<uint8_t>& payload = payloads[seq];
    std::vector<int16_t> pcm(payload.size());
    codec::DecodeUlaw(payload, absl::MakeSpan(pcm));
    heard.insert(heard.end(), pcm.begin(), pcm.end());
  }
  EXPECT_GE(heard.size(), 15800u);
  const double correlation = BestCorrelation(*speech_, heard, 1600);
  EXPECT_GT(correlation, 0.9);
  RecordProperty("correlation", std::to_string(correlation));
}

TEST_P(SrtpFfmpegInteropTest, FfmpegDecryptsAndDecodesWhatWeSend) {
  const SrtpKeyMaterial key = *SrtpKeyMaterial::Generate(GetParam());
  // A free even port pair for ffmpeg to listen on.
  uint16_t port = 0;
  for (int attempt = 0; attempt < 20 && port == 0; ++attempt) {
    UdpSocket probe;
    if (probe.port() % 2 != 0 || probe.port() == 65535) continue;
    UdpSocket next(probe.port() + 1);
    if (next.ok()) port = probe.port();
  }
  ASSERT_NE(port, 0);
  const std::string sdp = TempPath("leg.sdp");
  std::ofstream(sdp) << "v=0\r\no=- 0 0 IN IP4 127.0.0.1\r\ns=leg\r\n"
                     << "c=IN IP4 127.0.0.1\r\nt=0 0\r\n"
                     << "m=audio " << port << " RTP/SAVP 0\r\n"
                     << "a=rtpmap:0 PCMU/8000\r\n"
                     << "a=crypto:1 " << SrtpCryptoSuiteName(GetParam()) << " "
                     << key.ToSdesKeyParams() << "\r\n";
  const std::string heard_wav = TempPath("heard.wav");
  // -t stops ffmpeg after 1.9 s of audio; we send 2 s plus some silence.
  Process ffmpeg({"/usr/bin/ffmpeg", "-hide_banner", "-loglevel", "error",
                  "-protocol_whitelist", "file,udp,rtp,srtp,crypto", "-i", sdp,
                  "-t", "1.9", "-c:a", "pcm_s16le", "-y", heard_wav},
                 TempPath("ffmpeg_receive.log"));
  ASSERT_TRUE(ffmpeg.started());
  // Wait until ffmpeg has bound the port (our bind then fails).
  const auto deadline = Clock::now() + kProcessDeadline;
  while (UdpSocket(port).ok() && Clock::now() < deadline && !ffmpeg.Exited()) {
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  ASSERT_FALSE(ffmpeg.Exited()) << "ffmpeg exited early, see its log";

  SrtpSession outbound = *SrtpSession::Create(SrtpDirection::kOutbound, key);
  UdpSocket socket;
  rtp::RtpHeaderFields fields;
  fields.ssrc = 0x50770001;
  fields.sequence_number = 65500;  // wraps during the call
  fields.timestamp = 12345;
  const size_t frames = speech_->size() / codec::kG711FrameSamples + 25;
  for (size_t frame = 0; frame < frames && !ffmpeg.Exited(); ++frame) {
    std::array<int16_t, codec::kG711FrameSamples> pcm{};
    if ((frame + 1) * codec::kG711FrameSamples <= speech_->size()) {
      std::copy_n(speech_->begin() + frame * codec::kG711FrameSamples,
                  pcm.size(), pcm.begin());
    }
    std::array<uint8_t, 256> packet{};
    const size_t header = rtp::WriteRtpHeader(fields, absl::MakeSpan(packet));
    codec::EncodeUlaw(pcm, absl::MakeSpan(packet).subspan(header));
    size_t length = header + pcm.size();
    ASSERT_EQ(outbound.ProtectRtp(absl::MakeSpan(packet), &length),
              SrtpResult::kOk);
    socket.SendTo(port, absl::MakeConstSpan(packet.data(), length));
    ++fields.sequence_number;
    fields.timestamp += codec::kG711FrameSamples;
    // Twice real time: ffmpeg's demuxer does not need wall-clock pacing,
    // only not to be flooded.
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  ASSERT_EQ(ffmpeg.Wait(deadline), 0) << "ffmpeg failed, see its log";

  const std::vector<int16_t> heard = ReadWavSamples(heard_wav);
  EXPECT_GE(heard.size(), 15000u);
  const double correlation = BestCorrelation(*speech_, heard, 1600);
  EXPECT_GT(correlation, 0.9);
  RecordProperty("correlation", std::to_string(correlation));
}

INSTANTIATE_TEST_SUITE_P(
    SdesSuites, SrtpFfmpegInteropTest,
    ::testing::Values(SrtpCryptoSuite::kAesCm128HmacSha1_80,
                      SrtpCryptoSuite::kAesCm128HmacSha1_32),
    [](const ::testing::TestParamInfo<SrtpCryptoSuite>& info) {
      return info.param == SrtpCryptoSuite::kAesCm128HmacSha1_80
                 ? "AesCm128HmacSha1_80"
                 : "AesCm128HmacSha1_32";
    });

}  // namespace
}  // namespace sotto::media::srtp
