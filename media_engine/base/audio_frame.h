// Fixed-size audio frames: the unit the mixer, jitter buffer and tap share.
#ifndef SOTTO_MEDIA_ENGINE_BASE_AUDIO_FRAME_H_
#define SOTTO_MEDIA_ENGINE_BASE_AUDIO_FRAME_H_

#include <array>
#include <cstdint>

namespace sotto::media {

// Everything inside the engine runs at 8 kHz (G.711) in 20 ms frames.
inline constexpr int kSampleRateHz = 8000;
inline constexpr int kFrameMs = 20;
inline constexpr int kSamplesPerFrame = kSampleRateHz * kFrameMs / 1000;  // 160
inline constexpr int64_t kFrameMicros = kFrameMs * 1000;
// RTP timestamp units (samples) per microsecond is 0.008; per sample 125 us.
inline constexpr int64_t kMicrosPerSample = 1000000 / kSampleRateHz;

using AudioFrame = std::array<int16_t, kSamplesPerFrame>;

}  // namespace sotto::media

#endif  // SOTTO_MEDIA_ENGINE_BASE_AUDIO_FRAME_H_
