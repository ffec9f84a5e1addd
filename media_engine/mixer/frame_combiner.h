// Mix-minus for one sink: sum of gain x source frames, then a soft limiter.
#ifndef SOTTO_MEDIA_ENGINE_MIXER_FRAME_COMBINER_H_
#define SOTTO_MEDIA_ENGINE_MIXER_FRAME_COMBINER_H_

#include "absl/types/span.h"
#include "media_engine/base/audio_frame.h"

namespace sotto::media {

// One input to a sink's mix.
struct MixInput {
  const AudioFrame* frame;
  float gain;
};

// Per-sink limiter state. The limiter only acts when the sum would leave
// the int16 range, so a sink with a single unity source gets its samples
// bit-for-bit (the privacy invariant depends on it). When it acts, the gain
// drops at once for the frame that needs it (ramped over the first
// kAttackSamples) and recovers by kReleasePerFrame per frame, so loud
// overlaps are turned down smoothly rather than clipped; a final saturation
// guarantees no integer wrap whatever the input.
class FrameCombiner {
 public:
  static constexpr int kAttackSamples = 40;         // 5 ms
  static constexpr float kReleasePerFrame = 1.06f;  // ~0.5 dB per 20 ms
  static constexpr float kCeiling = 32767.0f;

  // Mixes `inputs` (plus nothing else) into `out`. Inputs with gain 0 are
  // skipped. With no inputs, `out` is silence.
  void Mix(absl::Span<const MixInput> inputs, AudioFrame* out);

  // Adds `extra` (e.g. a cue tone) at unity before limiting. Same as Mix
  // with one more input; kept separate so callers need not build a span.
  void MixWithExtra(absl::Span<const MixInput> inputs, const AudioFrame* extra,
                    AudioFrame* out);

  // Current limiter gain (1 = transparent). For tests and metrics.
  float gain() const { return gain_; }

 private:
  float gain_ = 1.0f;
};

}  // namespace sotto::media

#endif  // SOTTO_MEDIA_ENGINE_MIXER_FRAME_COMBINER_H_
