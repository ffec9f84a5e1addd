#include "media_engine/control/broker_registration.h"

#include <algorithm>
#include <utility>

#include "grpcpp/client_context.h"
#include "services/common/logging.h"

namespace sotto::media {
namespace {

absl::Duration FromProto(const google::protobuf::Duration& d) {
  return absl::Seconds(d.seconds()) + absl::Nanoseconds(d.nanos());
}

}  // namespace

BrokerRegistration::BrokerRegistration(
    std::unique_ptr<v1::EngineRegistry::StubInterface> stub,
    BrokerRegistrationOptions options, std::function<EngineLoad()> status)
    : stub_(std::move(stub)),
      options_(std::move(options)),
      status_(std::move(status)),
      interval_(options_.heartbeat_interval) {}

BrokerRegistration::~BrokerRegistration() { Stop(); }

void BrokerRegistration::Start() {
  thread_ = std::thread([this] { Run(); });
}

void BrokerRegistration::Stop() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (stopping_) return;
    stopping_ = true;
  }
  cv_.notify_all();
  if (thread_.joinable()) thread_.join();
}

void BrokerRegistration::BeatNow() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    beat_now_ = true;
  }
  cv_.notify_all();
}

bool BrokerRegistration::Sleep(absl::Duration d) {
  std::unique_lock<std::mutex> lock(mu_);
  cv_.wait_for(lock, absl::ToChronoMilliseconds(d),
               [this] { return stopping_ || beat_now_; });
  beat_now_ = false;
  return !stopping_;
}

bool BrokerRegistration::Register() {
  const EngineLoad load = status_();
  v1::RegisterEngineRequest request;
  request.set_engine_id(options_.engine_id);
  request.set_control_address(options_.control_address);
  request.set_media_address(options_.media_address);
  request.set_capacity_rooms(static_cast<uint32_t>(options_.capacity_rooms));
  request.set_draining(load.draining);
  grpc::ClientContext context;
  context.set_deadline(absl::ToChronoTime(absl::Now() + options_.rpc_timeout));
  v1::RegisterEngineResponse response;
  grpc::Status status = stub_->RegisterEngine(&context, request, &response);
  if (!status.ok()) {
    service_kit::LogWarning(
        "cannot register with the broker; retrying",
        {{"code", static_cast<int64_t>(status.error_code())},
         {"error", status.error_message()}});
    return false;
  }
  const absl::Duration interval = FromProto(response.heartbeat_interval());
  if (interval > absl::ZeroDuration()) interval_ = interval;
  service_kit::LogInfo("registered with the broker",
                       {{"engine_id", options_.engine_id},
                        {"control_address", options_.control_address},
                        {"heartbeat_interval", interval_}});
  return true;
}

grpc::Status BrokerRegistration::Beat(bool draining) {
  const EngineLoad load = status_();
  v1::HeartbeatRequest request;
  request.set_engine_id(options_.engine_id);
  request.set_active_rooms(static_cast<uint32_t>(load.active_rooms));
  request.set_draining(draining || load.draining);
  request.set_load(std::clamp(load.load, 0.0, 1.0));
  grpc::ClientContext context;
  context.set_deadline(absl::ToChronoTime(absl::Now() + options_.rpc_timeout));
  v1::HeartbeatResponse response;
  return stub_->Heartbeat(&context, request, &response);
}

void BrokerRegistration::Run() {
  absl::Duration backoff = absl::Milliseconds(100);
  bool registered = false;
  while (true) {
    if (!registered) {
      registered = Register();
      if (!registered) {
        if (!Sleep(backoff)) return;
        backoff = std::min(backoff * 2, absl::Seconds(5));
        continue;
      }
      backoff = absl::Milliseconds(100);
    }
    if (!Sleep(interval_)) break;
    grpc::Status status = Beat(false);
    if (status.error_code() == grpc::StatusCode::NOT_FOUND) {
      registered = false;  // the broker forgot us: register again
    } else if (!status.ok()) {
      service_kit::LogDebug("heartbeat to the broker failed",
                            {{"error", status.error_message()}});
    }
  }
  // Stopping: tell the broker to place nothing new here.
  if (registered) (void)Beat(true);
}

}  // namespace sotto::media
