// Audio played into a sink on top of its mix: a repeated tone or a PCM clip.
#ifndef SOTTO_MEDIA_ENGINE_ENGINE_TONE_H_
#define SOTTO_MEDIA_ENGINE_ENGINE_TONE_H_

#include <cstdint>
#include <vector>

#include "media_engine/mixer/room_mixer.h"

namespace sotto::media {

// Precomputed when PlayAudio is called (control path); rendering copies.
class ClipPlayer final : public ExtraAudio {
 public:
  // A sine tone: `tone_ms` on, `gap_ms` off, `repeat` extra times.
  static ClipPlayer Tone(int frequency_hz, int tone_ms, double level_dbfs,
                         int repeat, int gap_ms);
  // 8 kHz mono samples.
  static ClipPlayer Pcm(std::vector<int16_t> samples);

  bool Render(int64_t slot, AudioFrame* out) override;
  int64_t duration_ms() const {
    return static_cast<int64_t>(samples_.size()) * 1000 / kSampleRateHz;
  }

 private:
  explicit ClipPlayer(std::vector<int16_t> samples)
      : samples_(std::move(samples)) {}
  std::vector<int16_t> samples_;
  size_t position_ = 0;
};

}  // namespace sotto::media

#endif  // SOTTO_MEDIA_ENGINE_ENGINE_TONE_H_
