// Simplified G.107 E-model for G.711; the formula is in the header.
#include "media_engine/codec/e_model.h"

#include <algorithm>

namespace sotto::media::codec {
namespace {

constexpr double kDefaultR = 93.2;
constexpr double kPacketizationMs = 20;
constexpr double kJitterBufferFactor = 2;
constexpr double kG711Ie = 0;
constexpr double kG711BplWithPlc = 25.1;
constexpr double kG711BplWithoutPlc = 4.3;

double DelayImpairment(double one_way_ms) {
  double id = 0.024 * one_way_ms;
  if (one_way_ms > 177.3) id += 0.11 * (one_way_ms - 177.3);
  return id;
}

}  // namespace

double MosFromRFactor(double r) {
  if (r <= 0) return 1.0;
  if (r >= 100) return 4.5;
  // The cubic dips to 0.97 for R below about 6.5; MOS has no meaning under
  // 1, and clamping keeps the score monotonic in R.
  return std::max(1.0, 1 + 0.035 * r + r * (r - 60) * (100 - r) * 7e-6);
}

EModelResult EstimateG711Quality(const EModelInput& input) {
  const double loss = std::clamp(input.packet_loss_percent, 0.0, 100.0);
  const double jitter = std::max(input.jitter_ms, 0.0);
  const double rtt = std::max(input.round_trip_ms, 0.0);
  const double burst_ratio = std::max(input.burst_ratio, 1.0);
  const double bpl =
      input.packet_loss_concealment ? kG711BplWithPlc : kG711BplWithoutPlc;

  const double one_way_ms =
      rtt / 2 + kJitterBufferFactor * jitter + kPacketizationMs;
  const double ie_eff =
      kG711Ie + (95 - kG711Ie) * loss / (loss / burst_ratio + bpl);

  EModelResult result;
  result.r_factor =
      std::clamp(kDefaultR - DelayImpairment(one_way_ms) - ie_eff, 0.0, 100.0);
  result.mos = MosFromRFactor(result.r_factor);
  return result;
}

}  // namespace sotto::media::codec
