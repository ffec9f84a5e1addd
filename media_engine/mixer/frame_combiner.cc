#include "media_engine/mixer/frame_combiner.h"

#include <algorithm>
#include <cmath>

namespace sotto::media {

void FrameCombiner::Mix(absl::Span<const MixInput> inputs, AudioFrame* out) {
  MixWithExtra(inputs, nullptr, out);
}

void FrameCombiner::MixWithExtra(absl::Span<const MixInput> inputs,
                                 const AudioFrame* extra, AudioFrame* out) {
  // Float holds every sum of up to 16 int16 sources times gains <= 4 with
  // integer precision for unity gains (|sum| < 2^24), so unity mixes are
  // exact.
  std::array<float, kSamplesPerFrame> sum{};
  for (const MixInput& input : inputs) {
    if (input.gain <= 0.0f || input.frame == nullptr) continue;
    const AudioFrame& frame = *input.frame;
    if (input.gain == 1.0f) {
      for (int i = 0; i < kSamplesPerFrame; ++i) sum[i] += frame[i];
    } else {
      for (int i = 0; i < kSamplesPerFrame; ++i) {
        sum[i] += input.gain * frame[i];
      }
    }
  }
  if (extra != nullptr) {
    for (int i = 0; i < kSamplesPerFrame; ++i) sum[i] += (*extra)[i];
  }

  // Scale needed to keep the sum inside int16 (asymmetric: -32768 fits).
  float needed = 1.0f;
  for (float v : sum) {
    if (v > kCeiling) needed = std::min(needed, kCeiling / v);
    if (v < -kCeiling - 1.0f) needed = std::min(needed, (kCeiling + 1.0f) / -v);
  }

  const float previous_gain = gain_;
  float target = std::min(1.0f, previous_gain * kReleasePerFrame);
  target = std::min(target, needed);
  gain_ = target;

  if (previous_gain == 1.0f && target == 1.0f) {
    // Transparent: nothing would clip and the limiter is at rest.
    for (int i = 0; i < kSamplesPerFrame; ++i) {
      (*out)[i] = static_cast<int16_t>(sum[i]);
    }
    return;
  }
  for (int i = 0; i < kSamplesPerFrame; ++i) {
    // Glide from the previous gain to the target over the first few ms (a
    // step in gain is audible); the clamp below catches what the glide lets
    // through on an attack.
    float gain = target;
    if (i < kAttackSamples) {
      gain = previous_gain +
             (target - previous_gain) * static_cast<float>(i) / kAttackSamples;
    }
    float y = std::nearbyint(sum[i] * gain);
    y = std::clamp(y, -kCeiling - 1.0f, kCeiling);  // the guard: never wrap
    (*out)[i] = static_cast<int16_t>(y);
  }
}

}  // namespace sotto::media
