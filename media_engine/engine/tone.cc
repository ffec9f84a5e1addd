#include "media_engine/engine/tone.h"

#include <algorithm>
#include <cmath>

namespace sotto::media {

ClipPlayer ClipPlayer::Tone(int frequency_hz, int tone_ms, double level_dbfs,
                            int repeat, int gap_ms) {
  const double amplitude = 32767.0 * std::pow(10.0, level_dbfs / 20.0);
  const int tone_samples = tone_ms * kSampleRateHz / 1000;
  const int gap_samples = gap_ms * kSampleRateHz / 1000;
  // 5 ms ramps at both ends: a tone that starts at full level clicks.
  const int ramp = std::min(40, tone_samples / 2);
  std::vector<int16_t> samples;
  for (int r = 0; r <= repeat; ++r) {
    if (r > 0) samples.insert(samples.end(), gap_samples, 0);
    for (int i = 0; i < tone_samples; ++i) {
      double envelope = 1.0;
      if (i < ramp) envelope = static_cast<double>(i) / ramp;
      if (tone_samples - i < ramp) {
        envelope = static_cast<double>(tone_samples - i) / ramp;
      }
      samples.push_back(static_cast<int16_t>(
          envelope * amplitude *
          std::sin(2 * M_PI * frequency_hz * i / kSampleRateHz)));
    }
  }
  return ClipPlayer(std::move(samples));
}

ClipPlayer ClipPlayer::Pcm(std::vector<int16_t> samples) {
  return ClipPlayer(std::move(samples));
}

bool ClipPlayer::Render(int64_t slot, AudioFrame* out) {
  (void)slot;
  if (position_ >= samples_.size()) return false;
  out->fill(0);
  const size_t n =
      std::min<size_t>(kSamplesPerFrame, samples_.size() - position_);
  std::copy_n(samples_.begin() + static_cast<ptrdiff_t>(position_), n,
              out->begin());
  position_ += n;
  return true;
}

}  // namespace sotto::media
