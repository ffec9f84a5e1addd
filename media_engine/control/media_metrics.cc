#include "media_engine/control/media_metrics.h"

#include <chrono>
#include <numeric>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "services/common/logging.h"

namespace sotto::media {

MediaMetrics::MediaMetrics(Engine* engine, prometheus::Registry& registry)
    : engine_(engine) {
  auto counter = [&](const std::string& name, const std::string& help) {
    return &prometheus::BuildCounter()
                .Name(name)
                .Help(help)
                .Register(registry)
                .Add({});
  };
  packets_received_ = counter("sotto_media_packets_received_total",
                              "RTP packets accepted (authenticated, parsed).");
  packets_sent_ =
      counter("sotto_media_packets_sent_total", "RTP packets sent.");
  frames_mixed_ = counter("sotto_media_frames_mixed_total",
                          "20 ms frames mixed, summed over sinks.");
  frames_concealed_ = counter(
      "sotto_media_frames_concealed_total",
      "Source frames concealed because their packets were lost or late.");
  tap_frames_dropped_ =
      counter("sotto_media_tap_frames_dropped_total",
              "Tap frames dropped because a reader (recorder) fell behind.");
  loop_wakeups_ = counter("sotto_media_loop_wakeups_total",
                          "Media worker event-loop iterations (wake-ups).");
  loop_events_ = counter("sotto_media_loop_io_events_total",
                         "Socket readiness events handled by media workers.");
  auto& drops = prometheus::BuildCounter()
                    .Name("sotto_media_packets_dropped_total")
                    .Help("Received packets dropped, by reason.")
                    .Register(registry);
  for (int i = 0; i < kDropReasonCount; ++i) {
    drops_[i] = &drops.Add(
        {{"reason", std::string(DropReasonName(static_cast<DropReason>(i)))}});
  }
  std::vector<double> bounds;
  for (Micros b : kLatencyBucketsUs)
    bounds.push_back(static_cast<double>(b) / 1e6);
  added_latency_ =
      &prometheus::BuildHistogram()
           .Name("sotto_media_added_latency_seconds")
           .Help(
               "Time an input frame waited in the mixer before the mix "
               "that carries it (per input and sink).")
           .Register(registry)
           .Add({}, prometheus::Histogram::BucketBoundaries(bounds));
  auto gauge = [&](const std::string& name, const std::string& help) {
    return &prometheus::BuildGauge()
                .Name(name)
                .Help(help)
                .Register(registry)
                .Add({});
  };
  rooms_ = gauge("sotto_media_active_rooms", "Rooms on this engine.");
  legs_ = gauge("sotto_media_active_legs", "Legs on this engine.");
  draining_ = gauge("sotto_media_draining", "1 while the engine drains.");

  thread_ = std::thread([this] {
    std::unique_lock<std::mutex> lock(mutex_);
    while (!stop_) {
      lock.unlock();
      Publish();
      lock.lock();
      wake_.wait_for(lock, std::chrono::seconds(1), [this] { return stop_; });
    }
  });
}

MediaMetrics::~MediaMetrics() {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    stop_ = true;
  }
  wake_.notify_all();
  thread_.join();
}

void MediaMetrics::Publish() {
  const EngineCounters now = engine_->Counters();
  auto delta = [](uint64_t a, uint64_t b) {
    return static_cast<double>(a - b);
  };
  packets_received_->Increment(
      delta(now.packets_received, published_.packets_received));
  packets_sent_->Increment(delta(now.packets_sent, published_.packets_sent));
  frames_mixed_->Increment(delta(now.frames_mixed, published_.frames_mixed));
  frames_concealed_->Increment(
      delta(now.frames_concealed, published_.frames_concealed));
  tap_frames_dropped_->Increment(
      delta(now.tap_frames_dropped, published_.tap_frames_dropped));
  loop_wakeups_->Increment(delta(now.loop_wakeups, published_.loop_wakeups));
  loop_events_->Increment(delta(now.loop_events, published_.loop_events));
  for (int i = 0; i < kDropReasonCount; ++i) {
    drops_[i]->Increment(delta(now.drops[i], published_.drops[i]));
  }
  std::vector<double> buckets(now.latency_buckets.size());
  for (size_t i = 0; i < buckets.size(); ++i) {
    buckets[i] = delta(now.latency_buckets[i], published_.latency_buckets[i]);
  }
  added_latency_->ObserveMultiple(
      buckets, (now.latency_sum_us - published_.latency_sum_us) / 1e6);
  // Dropped packets are never logged one by one (hostile traffic must not
  // flood the logs); at most one summary line per kDropLogInterval.
  const auto wall = std::chrono::steady_clock::now();
  if (wall - last_drop_log_ >= kDropLogInterval) {
    std::vector<service_kit::LogField> fields;
    for (int i = 0; i < kDropReasonCount; ++i) {
      const uint64_t d = now.drops[i] - logged_.drops[i];
      if (d > 0) {
        fields.emplace_back(DropReasonName(static_cast<DropReason>(i)),
                            std::to_string(d));
      }
    }
    if (!fields.empty()) {
      service_kit::LogWarning("packets dropped since the last report", fields);
    }
    logged_ = now;
    last_drop_log_ = wall;
  }
  published_ = now;
  const EngineStatus status = engine_->Status();
  rooms_->Set(status.active_rooms);
  legs_->Set(status.active_legs);
  draining_->Set(status.draining ? 1 : 0);
}

}  // namespace sotto::media
