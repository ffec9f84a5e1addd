// Monotonic time for the media path, injectable so timing logic is testable.
#ifndef SOTTO_MEDIA_ENGINE_BASE_CLOCK_H_
#define SOTTO_MEDIA_ENGINE_BASE_CLOCK_H_

#include <cstdint>

namespace sotto::media {

// Microseconds on a monotonic clock. Plain integers keep the per-packet path
// free of conversions; the origin is arbitrary.
using Micros = int64_t;

// Time source. Implementations must be cheap and thread-safe to read.
class Clock {
 public:
  virtual ~Clock() = default;
  virtual Micros Now() const = 0;
};

// CLOCK_MONOTONIC.
class SteadyClock final : public Clock {
 public:
  Micros Now() const override;
  static const SteadyClock& Get();
};

// A clock tests move by hand. Not thread-safe: one test thread drives it.
class SimulatedClock final : public Clock {
 public:
  explicit SimulatedClock(Micros start = 1'000'000'000) : now_(start) {}
  Micros Now() const override { return now_; }
  void Advance(Micros delta) { now_ += delta; }
  void Set(Micros now) { now_ = now; }

 private:
  Micros now_;
};

}  // namespace sotto::media

#endif  // SOTTO_MEDIA_ENGINE_BASE_CLOCK_H_
