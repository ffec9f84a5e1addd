// Engine-wide counters kept per worker (single writer) and summed on read.
#ifndef SOTTO_MEDIA_ENGINE_ENGINE_ENGINE_STATS_H_
#define SOTTO_MEDIA_ENGINE_ENGINE_ENGINE_STATS_H_

#include <array>
#include <cstdint>

#include "media_engine/base/clock.h"
#include "media_engine/engine/drop_reason.h"

namespace sotto::media {

// Upper bounds (microseconds) of the added-latency histogram's buckets; the
// last bucket is everything above.
inline constexpr std::array<Micros, 10> kLatencyBucketsUs = {
    100, 250, 500, 1000, 2000, 5000, 10000, 20000, 50000, 100000};

struct EngineCounters {
  uint64_t packets_received = 0;
  uint64_t packets_sent = 0;
  uint64_t frames_mixed = 0;
  uint64_t frames_concealed = 0;
  uint64_t tap_frames_dropped = 0;
  uint64_t loop_wakeups = 0;
  uint64_t loop_events = 0;
  std::array<uint64_t, kDropReasonCount> drops{};
  // Added latency per (input frame, sink) mixed: how long the input waited.
  std::array<uint64_t, kLatencyBucketsUs.size() + 1> latency_buckets{};
  uint64_t latency_count = 0;
  double latency_sum_us = 0;

  void RecordLatency(Micros wait) {
    size_t bucket = 0;
    while (bucket < kLatencyBucketsUs.size() &&
           wait > kLatencyBucketsUs[bucket]) {
      ++bucket;
    }
    ++latency_buckets[bucket];
    ++latency_count;
    latency_sum_us += static_cast<double>(wait);
  }

  void Add(const EngineCounters& other) {
    packets_received += other.packets_received;
    packets_sent += other.packets_sent;
    frames_mixed += other.frames_mixed;
    frames_concealed += other.frames_concealed;
    tap_frames_dropped += other.tap_frames_dropped;
    loop_wakeups += other.loop_wakeups;
    loop_events += other.loop_events;
    for (size_t i = 0; i < drops.size(); ++i) drops[i] += other.drops[i];
    for (size_t i = 0; i < latency_buckets.size(); ++i) {
      latency_buckets[i] += other.latency_buckets[i];
    }
    latency_count += other.latency_count;
    latency_sum_us += other.latency_sum_us;
  }
};

}  // namespace sotto::media

#endif  // SOTTO_MEDIA_ENGINE_ENGINE_ENGINE_STATS_H_
