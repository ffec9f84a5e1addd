#include "services/broker/outbox_forwarder.h"

#include <algorithm>
#include <random>
#include <utility>

#include "absl/strings/str_cat.h"
#include "prometheus/counter.h"
#include "prometheus/gauge.h"
#include "prometheus/registry.h"
#include "services/common/logging.h"

namespace sotto::broker {

OutboxForwarder::OutboxForwarder(CallStore* store, EventSink* sink,
                                 EventBell* bell,
                                 OutboxForwarderOptions options,
                                 prometheus::Registry* registry)
    : store_(store), sink_(sink), bell_(bell), options_(std::move(options)) {
  if (registry == nullptr) return;
  delivered_ = &prometheus::BuildCounter()
                    .Name("sotto_broker_outbox_delivered_total")
                    .Help("Events delivered from the outbox to reporting.")
                    .Register(*registry)
                    .Add({});
  failures_ = &prometheus::BuildCounter()
                   .Name("sotto_broker_outbox_delivery_failures_total")
                   .Help("Failed attempts to deliver an outbox batch.")
                   .Register(*registry)
                   .Add({});
  pending_ = &prometheus::BuildGauge()
                  .Name("sotto_broker_outbox_pending")
                  .Help(
                      "Undelivered events seen in the last outbox read "
                      "(capped at the batch size).")
                  .Register(*registry)
                  .Add({});
}

OutboxForwarder::~OutboxForwarder() { Stop(); }

void OutboxForwarder::Start() {
  if (thread_.joinable()) return;
  stopping_ = false;
  thread_ = std::thread([this] { Run(); });
}

void OutboxForwarder::Stop(absl::Duration flush_deadline) {
  if (!thread_.joinable()) return;
  {
    std::lock_guard<std::mutex> lock(stop_mu_);
    stopping_ = true;
  }
  stop_cv_.notify_all();
  bell_->Ring();
  thread_.join();
  const absl::Time deadline = absl::Now() + flush_deadline;
  while (absl::Now() < deadline) {
    absl::StatusOr<int> delivered = DeliverBatch();
    if (!delivered.ok() || *delivered == 0) break;
  }
}

absl::Duration OutboxForwarder::Backoff(int attempt) const {
  absl::Duration ceiling = options_.initial_backoff;
  for (int i = 1; i < attempt && ceiling < options_.max_backoff; ++i) {
    ceiling *= 2;
  }
  ceiling = std::min(ceiling, options_.max_backoff);
  thread_local std::mt19937_64 random{std::random_device{}()};
  std::uniform_real_distribution<double> unit(0.0, 1.0);
  return ceiling / 2 + ceiling / 2 * unit(random);
}

absl::StatusOr<int> OutboxForwarder::DeliverBatch() {
  absl::StatusOr<std::vector<OutboxEntry>> pending =
      store_->PendingEvents(options_.batch_size);
  if (!pending.ok()) return pending.status();
  if (pending_ != nullptr) pending_->Set(static_cast<double>(pending->size()));
  if (pending->empty()) return 0;
  std::vector<v1::Event> events;
  std::vector<int64_t> sequences;
  events.reserve(pending->size());
  sequences.reserve(pending->size());
  for (OutboxEntry& entry : *pending) {
    sequences.push_back(entry.sequence);
    events.push_back(std::move(entry.event));
  }
  if (absl::Status sent = sink_->Deliver(events); !sent.ok()) {
    if (failures_ != nullptr) failures_->Increment();
    return sent;
  }
  // A crash here redelivers the batch: reporting ignores duplicates.
  if (absl::Status marked = store_->MarkDelivered(sequences); !marked.ok()) {
    if (failures_ != nullptr) failures_->Increment();
    return marked;
  }
  if (delivered_ != nullptr) delivered_->Increment(events.size());
  return static_cast<int>(events.size());
}

void OutboxForwarder::SleepUnlessStopped(absl::Duration d) {
  std::unique_lock<std::mutex> lock(stop_mu_);
  stop_cv_.wait_for(lock, absl::ToChronoNanoseconds(d),
                    [&] { return stopping_.load(); });
}

void OutboxForwarder::Run() {
  int failed_attempts = 0;
  absl::Time last_warning = absl::InfinitePast();
  while (!stopping_) {
    const uint64_t rings = bell_->rings();
    absl::StatusOr<int> delivered = DeliverBatch();
    if (!delivered.ok()) {
      ++failed_attempts;
      // One line a minute at most: reporting can be down for long.
      if (absl::Now() - last_warning > absl::Minutes(1)) {
        last_warning = absl::Now();
        service_kit::LogWarning(
            "outbox delivery to reporting failed; retrying with backoff",
            {{"error", std::string(delivered.status().message())},
             {"attempt", absl::StrCat(failed_attempts)}});
      }
      SleepUnlessStopped(Backoff(failed_attempts));
      continue;
    }
    if (failed_attempts > 0) {
      service_kit::LogInfo("outbox delivery to reporting recovered",
                           {{"attempts", absl::StrCat(failed_attempts)}});
      failed_attempts = 0;
    }
    if (*delivered == options_.batch_size) continue;  // more may be waiting
    bell_->WaitAfter(rings, options_.poll_interval);
  }
}

}  // namespace sotto::broker
