#include "media_engine/base/clock.h"

#include <time.h>

namespace sotto::media {

Micros SteadyClock::Now() const {
  timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return static_cast<Micros>(ts.tv_sec) * 1'000'000 + ts.tv_nsec / 1000;
}

const SteadyClock& SteadyClock::Get() {
  static const SteadyClock clock;
  return clock;
}

}  // namespace sotto::media
