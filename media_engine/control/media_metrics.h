// Publishes the engine's counters to Prometheus (engine-wide, bounded
// labels: drop reason only) once a second from a background thread, so the
// media path never touches a metric object.
#ifndef SOTTO_MEDIA_ENGINE_CONTROL_MEDIA_METRICS_H_
#define SOTTO_MEDIA_ENGINE_CONTROL_MEDIA_METRICS_H_

#include <array>
#include <chrono>
#include <condition_variable>
#include <memory>
#include <mutex>
#include <thread>

#include "media_engine/engine/engine.h"
#include "prometheus/counter.h"
#include "prometheus/gauge.h"
#include "prometheus/histogram.h"
#include "prometheus/registry.h"

namespace sotto::media {

class MediaMetrics {
 public:
  MediaMetrics(Engine* engine, prometheus::Registry& registry);
  ~MediaMetrics();  // stops the thread

  // Copies the engine's counters into the metrics now (the thread calls it
  // every second; tests call it directly).
  void Publish();

 private:
  Engine* engine_;
  prometheus::Counter* packets_received_;
  prometheus::Counter* packets_sent_;
  prometheus::Counter* frames_mixed_;
  prometheus::Counter* frames_concealed_;
  prometheus::Counter* tap_frames_dropped_;
  prometheus::Counter* loop_wakeups_;
  prometheus::Counter* loop_events_;
  std::array<prometheus::Counter*, kDropReasonCount> drops_;
  prometheus::Histogram* added_latency_;
  prometheus::Gauge* rooms_;
  prometheus::Gauge* legs_;
  prometheus::Gauge* draining_;
  EngineCounters published_;
  static constexpr std::chrono::seconds kDropLogInterval{10};
  EngineCounters logged_;
  std::chrono::steady_clock::time_point last_drop_log_{};

  std::mutex mutex_;
  std::condition_variable wake_;
  bool stop_ = false;
  std::thread thread_;
};

}  // namespace sotto::media

#endif  // SOTTO_MEDIA_ENGINE_CONTROL_MEDIA_METRICS_H_
