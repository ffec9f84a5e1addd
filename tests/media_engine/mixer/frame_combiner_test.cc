// Mix-minus sums exactly when nothing clips and limits softly when it would.
#include "media_engine/mixer/frame_combiner.h"

#include <gtest/gtest.h>

#include <cmath>
#include <cstdlib>

namespace sotto::media {
namespace {

AudioFrame Sine(double hz, double amplitude, int phase = 0) {
  AudioFrame frame;
  for (int i = 0; i < kSamplesPerFrame; ++i) {
    frame[i] = static_cast<int16_t>(
        amplitude * std::sin(2 * M_PI * hz * (i + phase) / kSampleRateHz));
  }
  return frame;
}

TEST(FrameCombinerTest, SingleUnitySourcePassesBitForBit) {
  FrameCombiner combiner;
  AudioFrame in;
  for (int i = 0; i < kSamplesPerFrame; ++i) {
    in[i] = static_cast<int16_t>((i * 7919) % 65536 - 32768);
  }
  MixInput inputs[] = {{&in, 1.0f}};
  AudioFrame out;
  combiner.Mix(inputs, &out);
  EXPECT_EQ(out, in);
  EXPECT_EQ(combiner.gain(), 1.0f);
}

TEST(FrameCombinerTest, SumsExactlyWhenNothingWouldClip) {
  FrameCombiner combiner;
  const AudioFrame a = Sine(300, 6000), b = Sine(500, 7000), c = Sine(700, 50);
  MixInput inputs[] = {{&a, 1.0f}, {&b, 1.0f}, {&c, 0.0f}};
  AudioFrame out;
  combiner.Mix(inputs, &out);
  for (int i = 0; i < kSamplesPerFrame; ++i) EXPECT_EQ(out[i], a[i] + b[i]);
}

TEST(FrameCombinerTest, NoInputsIsSilence) {
  FrameCombiner combiner;
  AudioFrame out;
  out.fill(123);
  combiner.Mix({}, &out);
  for (int16_t s : out) EXPECT_EQ(s, 0);
}

TEST(FrameCombinerTest, FullScaleOverlapNeverWrapsAndRecoversSmoothly) {
  FrameCombiner combiner;
  AudioFrame square;
  for (int i = 0; i < kSamplesPerFrame; ++i) {
    square[i] = (i / 10) % 2 ? 32767 : -32768;
  }
  MixInput loud[] = {
      {&square, 1.0f}, {&square, 1.0f}, {&square, 1.0f}, {&square, 4.0f}};
  AudioFrame out;
  for (int frame = 0; frame < 20; ++frame) {
    combiner.Mix(loud, &out);
    for (int i = 0; i < kSamplesPerFrame; ++i) {
      // Same sign as the input (no wrap) and still loud.
      EXPECT_EQ(out[i] > 0, square[i] > 0) << i;
      if (i >= FrameCombiner::kAttackSamples) {
        EXPECT_GE(std::abs(static_cast<int>(out[i])), 30000);
      }
    }
  }
  EXPECT_LT(combiner.gain(), 0.2f);
  // Quiet again: the gain climbs back to 1 without jumps, then is exact.
  const AudioFrame quiet = Sine(400, 3000);
  MixInput soft[] = {{&quiet, 1.0f}};
  float previous = combiner.gain();
  for (int frame = 0; frame < 60; ++frame) {
    combiner.Mix(soft, &out);
    EXPECT_GE(combiner.gain(), previous);
    EXPECT_LE(combiner.gain(),
              previous * FrameCombiner::kReleasePerFrame + 1e-6f);
    previous = combiner.gain();
  }
  EXPECT_EQ(combiner.gain(), 1.0f);
  combiner.Mix(soft, &out);
  EXPECT_EQ(out, quiet);
}

}  // namespace
}  // namespace sotto::media
