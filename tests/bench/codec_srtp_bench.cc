// Per-packet costs of the media path's foundations: G.711 encode/decode of
// one 160-sample (20 ms) frame by each encoder design, and SRTP protect /
// unprotect of a 172-byte RTP packet (12-byte header + 160 bytes PCMU) for
// each crypto suite. Run: bazel run -c opt //tests/bench:codec_srtp_bench
#include <benchmark/benchmark.h>

#include <array>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <string>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/strip.h"
#include "media_engine/codec/g711.h"
#include "media_engine/rtp/rtp_packet.h"
#include "media_engine/srtp/srtp_library.h"
#include "media_engine/srtp/srtp_session.h"

namespace sotto::media {
namespace {

using codec::kG711FrameSamples;

// Speech-like frames: a gliding tone with varying level, so table lookups
// land where real audio lands (a constant would sit in one cache line).
std::vector<int16_t> MakePcm(size_t frames) {
  std::vector<int16_t> pcm(frames * kG711FrameSamples);
  const double pi = std::acos(-1.0);
  for (size_t i = 0; i < pcm.size(); ++i) {
    const double t = i / 8000.0;
    const double level = 4000 + 12000 * (0.5 + 0.5 * std::sin(2 * pi * 3 * t));
    pcm[i] =
        static_cast<int16_t>(level * std::sin(2 * pi * (200 + 300 * t) * t));
  }
  return pcm;
}

constexpr size_t kFrames = 64;

void BM_EncodeUlawTable(benchmark::State& state) {
  const std::vector<int16_t> pcm = MakePcm(kFrames);
  std::array<uint8_t, kG711FrameSamples> out;
  size_t frame = 0;
  for (auto _ : state) {
    codec::EncodeUlaw(absl::MakeConstSpan(pcm).subspan(
                          frame * kG711FrameSamples, kG711FrameSamples),
                      absl::MakeSpan(out));
    benchmark::DoNotOptimize(out.data());
    frame = (frame + 1) % kFrames;
  }
}
BENCHMARK(BM_EncodeUlawTable);

void BM_EncodeUlawSegmentSearch(benchmark::State& state) {
  const std::vector<int16_t> pcm = MakePcm(kFrames);
  std::array<uint8_t, kG711FrameSamples> out;
  size_t frame = 0;
  for (auto _ : state) {
    const int16_t* in = pcm.data() + frame * kG711FrameSamples;
    for (size_t i = 0; i < kG711FrameSamples; ++i) {
      out[i] = codec::LinearToUlawBySegment(in[i]);
    }
    benchmark::DoNotOptimize(out.data());
    frame = (frame + 1) % kFrames;
  }
}
BENCHMARK(BM_EncodeUlawSegmentSearch);

// The design we did not take: one 64K-entry table indexed by the raw
// sample. Built here only to compare.
void BM_EncodeUlaw64KTable(benchmark::State& state) {
  static const std::vector<uint8_t>* table = [] {
    auto* t = new std::vector<uint8_t>(65536);
    for (int s = -32768; s < 32768; ++s) {
      (*t)[static_cast<uint16_t>(s)] =
          codec::LinearToUlaw(static_cast<int16_t>(s));
    }
    return t;
  }();
  const std::vector<int16_t> pcm = MakePcm(kFrames);
  std::array<uint8_t, kG711FrameSamples> out;
  size_t frame = 0;
  for (auto _ : state) {
    const int16_t* in = pcm.data() + frame * kG711FrameSamples;
    for (size_t i = 0; i < kG711FrameSamples; ++i) {
      out[i] = (*table)[static_cast<uint16_t>(in[i])];
    }
    benchmark::DoNotOptimize(out.data());
    frame = (frame + 1) % kFrames;
  }
}
BENCHMARK(BM_EncodeUlaw64KTable);

void BM_EncodeAlawTable(benchmark::State& state) {
  const std::vector<int16_t> pcm = MakePcm(kFrames);
  std::array<uint8_t, kG711FrameSamples> out;
  size_t frame = 0;
  for (auto _ : state) {
    codec::EncodeAlaw(absl::MakeConstSpan(pcm).subspan(
                          frame * kG711FrameSamples, kG711FrameSamples),
                      absl::MakeSpan(out));
    benchmark::DoNotOptimize(out.data());
    frame = (frame + 1) % kFrames;
  }
}
BENCHMARK(BM_EncodeAlawTable);

void BM_DecodeUlaw(benchmark::State& state) {
  const std::vector<int16_t> pcm = MakePcm(1);
  std::array<uint8_t, kG711FrameSamples> codes;
  codec::EncodeUlaw(pcm, absl::MakeSpan(codes));
  std::array<int16_t, kG711FrameSamples> out;
  for (auto _ : state) {
    codec::DecodeUlaw(codes, absl::MakeSpan(out));
    benchmark::DoNotOptimize(out.data());
  }
}
BENCHMARK(BM_DecodeUlaw);

void BM_DecodeAlaw(benchmark::State& state) {
  const std::vector<int16_t> pcm = MakePcm(1);
  std::array<uint8_t, kG711FrameSamples> codes;
  codec::EncodeAlaw(pcm, absl::MakeSpan(codes));
  std::array<int16_t, kG711FrameSamples> out;
  for (auto _ : state) {
    codec::DecodeAlaw(codes, absl::MakeSpan(out));
    benchmark::DoNotOptimize(out.data());
  }
}
BENCHMARK(BM_DecodeAlaw);

srtp::SrtpKeyMaterial BenchKey(srtp::SrtpCryptoSuite suite) {
  return *srtp::SrtpKeyMaterial::Generate(suite);
}

// 172-byte PCMU packet with sequence number `seq`, into `buffer`.
size_t WritePacket(uint16_t seq, absl::Span<uint8_t> buffer) {
  rtp::RtpHeaderFields fields;
  fields.ssrc = 0x50770001;
  fields.sequence_number = seq;
  fields.timestamp = seq * 160u;
  const size_t header = rtp::WriteRtpHeader(fields, buffer);
  for (size_t i = 0; i < kG711FrameSamples; ++i) buffer[header + i] = 0xD5;
  return header + kG711FrameSamples;
}

void BM_Protect(benchmark::State& state, srtp::SrtpCryptoSuite suite) {
  if (suite == srtp::SrtpCryptoSuite::kAeadAes128Gcm &&
      !srtp::SrtpAeadAes128GcmSupported()) {
    state.SkipWithError("no GCM in this libsrtp");
    return;
  }
  srtp::SrtpSession session = *srtp::SrtpSession::Create(
      srtp::SrtpDirection::kOutbound, BenchKey(suite));
  std::array<uint8_t, 256> buffer;
  uint16_t seq = 0;
  for (auto _ : state) {
    // Rewriting the header is part of sending a packet anyway (~5 ns).
    size_t length = WritePacket(seq++, absl::MakeSpan(buffer));
    if (session.ProtectRtp(absl::MakeSpan(buffer), &length) !=
        srtp::SrtpResult::kOk) {
      state.SkipWithError("protect failed");
      break;
    }
    benchmark::DoNotOptimize(buffer.data());
  }
}

void BM_Unprotect(benchmark::State& state, srtp::SrtpCryptoSuite suite) {
  if (suite == srtp::SrtpCryptoSuite::kAeadAes128Gcm &&
      !srtp::SrtpAeadAes128GcmSupported()) {
    state.SkipWithError("no GCM in this libsrtp");
    return;
  }
  const srtp::SrtpKeyMaterial key = BenchKey(suite);
  srtp::SrtpSession sender =
      *srtp::SrtpSession::Create(srtp::SrtpDirection::kOutbound, key);
  srtp::SrtpSession receiver =
      *srtp::SrtpSession::Create(srtp::SrtpDirection::kInbound, key);
  // Pre-protect a window of consecutive packets; each iteration unprotects
  // the next one (a replayed packet would be rejected before any crypto).
  constexpr size_t kPackets = 65536;
  std::vector<std::array<uint8_t, 256>> packets(kPackets);
  std::vector<size_t> lengths(kPackets);
  for (size_t i = 0; i < kPackets; ++i) {
    lengths[i] =
        WritePacket(static_cast<uint16_t>(i), absl::MakeSpan(packets[i]));
    sender.ProtectRtp(absl::MakeSpan(packets[i]), &lengths[i]);
  }
  std::array<uint8_t, 256> buffer;
  size_t i = 0;
  for (auto _ : state) {
    if (i == kPackets) {
      state.PauseTiming();
      receiver = *srtp::SrtpSession::Create(srtp::SrtpDirection::kInbound, key);
      i = 0;
      state.ResumeTiming();
    }
    buffer = packets[i];  // the copy stands in for recvfrom (~10 ns)
    size_t length = lengths[i++];
    if (receiver.UnprotectRtp(absl::MakeSpan(buffer), &length) !=
        srtp::SrtpResult::kOk) {
      state.SkipWithError("unprotect failed");
      break;
    }
    benchmark::DoNotOptimize(buffer.data());
  }
}

BENCHMARK_CAPTURE(BM_Protect, AES_CM_128_HMAC_SHA1_80,
                  srtp::SrtpCryptoSuite::kAesCm128HmacSha1_80);
BENCHMARK_CAPTURE(BM_Protect, AES_CM_128_HMAC_SHA1_32,
                  srtp::SrtpCryptoSuite::kAesCm128HmacSha1_32);
BENCHMARK_CAPTURE(BM_Protect, AEAD_AES_128_GCM,
                  srtp::SrtpCryptoSuite::kAeadAes128Gcm);
BENCHMARK_CAPTURE(BM_Unprotect, AES_CM_128_HMAC_SHA1_80,
                  srtp::SrtpCryptoSuite::kAesCm128HmacSha1_80);
BENCHMARK_CAPTURE(BM_Unprotect, AES_CM_128_HMAC_SHA1_32,
                  srtp::SrtpCryptoSuite::kAesCm128HmacSha1_32);
BENCHMARK_CAPTURE(BM_Unprotect, AEAD_AES_128_GCM,
                  srtp::SrtpCryptoSuite::kAeadAes128Gcm);

// Protect round-robin over many sessions, as an engine with many legs does:
// shows whether the per-packet cost grows with the number of live contexts
// (cache footprint, NSS context handling) beyond the one-session figure.
void BM_ProtectManySessions(benchmark::State& state) {
  const int sessions = static_cast<int>(state.range(0));
  std::vector<srtp::SrtpSession> pool;
  pool.reserve(sessions);
  for (int i = 0; i < sessions; ++i) {
    pool.push_back(*srtp::SrtpSession::Create(
        srtp::SrtpDirection::kOutbound,
        BenchKey(srtp::SrtpCryptoSuite::kAesCm128HmacSha1_80)));
  }
  std::array<uint8_t, 256> buffer;
  uint16_t seq = 0;
  int next = 0;
  for (auto _ : state) {
    size_t length = WritePacket(seq, absl::MakeSpan(buffer));
    if (pool[next].ProtectRtp(absl::MakeSpan(buffer), &length) !=
        srtp::SrtpResult::kOk) {
      state.SkipWithError("protect failed");
      break;
    }
    benchmark::DoNotOptimize(buffer.data());
    if (++next == sessions) {
      next = 0;
      ++seq;
    }
  }
}
BENCHMARK(BM_ProtectManySessions)->Arg(1)->Arg(64)->Arg(512);

}  // namespace
}  // namespace sotto::media

// --srtp_crypto=openssl|library picks libsrtp's crypto backend (default
// openssl); it must be chosen before the first session.
int main(int argc, char** argv) {
  namespace srtp = sotto::media::srtp;
  srtp::SrtpCryptoBackend backend = srtp::kDefaultSrtpCryptoBackend;
  int kept = 1;
  for (int i = 1; i < argc; ++i) {
    absl::string_view arg = argv[i];
    if (absl::ConsumePrefix(&arg, "--srtp_crypto=")) {
      const absl::optional<srtp::SrtpCryptoBackend> parsed =
          srtp::ParseSrtpCryptoBackend(arg);
      if (!parsed.has_value()) {
        std::fprintf(stderr, "--srtp_crypto must be openssl or library\n");
        return 2;
      }
      backend = *parsed;
    } else {
      argv[kept++] = argv[i];
    }
  }
  argc = kept;
  if (const absl::Status status = srtp::InitSrtpLibrary(backend);
      !status.ok()) {
    std::fprintf(stderr, "%s\n", std::string(status.message()).c_str());
    return 1;
  }
  std::printf("srtp crypto backend: %s\n",
              std::string(srtp::SrtpCryptoBackendName(backend)).c_str());
  benchmark::Initialize(&argc, argv);
  if (benchmark::ReportUnrecognizedArguments(argc, argv)) return 1;
  benchmark::RunSpecifiedBenchmarks();
  return 0;
}
