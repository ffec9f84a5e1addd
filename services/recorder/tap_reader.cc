#include "services/recorder/tap_reader.h"

#include <algorithm>
#include <optional>
#include <utility>

#include "absl/strings/str_cat.h"
#include "grpcpp/client_context.h"
#include "grpcpp/create_channel.h"
#include "services/common/policy_client.h"

namespace sotto::recorder {
namespace {

class GrpcTapStream final : public TapStream {
 public:
  GrpcTapStream(v1::MediaEngine::Stub* stub,
                const v1::StreamTapRequest& request, std::string engine)
      : engine_(std::move(engine)) {
    reader_ = stub->StreamTap(&context_, request);
  }
  bool Read(v1::TapMessage* message) override { return reader_->Read(message); }
  absl::Status Finish() override {
    return service_kit::FromGrpcStatus(
        reader_->Finish(),
        absl::StrCat("media engine ", engine_, " StreamTap"));
  }
  void Cancel() override { context_.TryCancel(); }

 private:
  const std::string engine_;
  grpc::ClientContext context_;
  std::unique_ptr<grpc::ClientReader<v1::TapMessage>> reader_;
};

}  // namespace

absl::Status GrpcTapSource::CheckRoom(const std::string& engine,
                                      const std::string& room) {
  grpc::ClientContext context;
  context.set_deadline(absl::ToChronoTime(absl::Now() + rpc_timeout_));
  v1::GetStatsRequest request;
  request.set_room_id(room);
  v1::GetStatsResponse response;
  const grpc::Status status =
      stubs_.For(engine)->GetStats(&context, request, &response);
  if (status.error_code() == grpc::StatusCode::NOT_FOUND) {
    return absl::NotFoundError(
        absl::StrCat("media engine ", engine, " has no room \"", room, "\""));
  }
  if (!status.ok()) {
    return absl::UnavailableError(absl::StrCat(
        "media engine ", engine, " unreachable: ", status.error_message()));
  }
  return absl::OkStatus();
}

std::unique_ptr<TapStream> GrpcTapSource::Open(const std::string& engine,
                                               const std::string& room,
                                               bool telephone_events) {
  v1::StreamTapRequest request;
  request.set_room_id(room);
  request.set_include_telephone_events(telephone_events);
  return std::make_unique<GrpcTapStream>(stubs_.For(engine), request, engine);
}

TapReader::TapReader(TapSource* source, std::string engine, std::string room,
                     bool telephone_events, TapCallbacks callbacks,
                     TapReaderOptions options)
    : source_(source),
      engine_(std::move(engine)),
      room_(std::move(room)),
      telephone_events_(telephone_events),
      callbacks_(std::move(callbacks)),
      options_(options) {}

TapReader::~TapReader() { Stop(); }

void TapReader::Start() {
  thread_ = std::thread([this] { Run(); });
}

void TapReader::Stop() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    stopping_ = true;
    if (current_ != nullptr) current_->Cancel();
  }
  cv_.notify_all();
  if (thread_.joinable()) thread_.join();
}

void TapReader::Run() {
  absl::Duration backoff = options_.min_backoff;
  std::optional<absl::Time> gone_since;
  while (true) {
    std::unique_ptr<TapStream> stream =
        source_->Open(engine_, room_, telephone_events_);
    {
      std::lock_guard<std::mutex> lock(mu_);
      if (stopping_) return;
      current_ = stream.get();
    }
    bool any = false;
    v1::TapMessage message;
    while (stream->Read(&message)) {
      const absl::Time now = absl::Now();
      if (!any) {
        any = true;
        backoff = options_.min_backoff;
        gone_since.reset();
        callbacks_.connected(now);
      }
      callbacks_.message(message, now);
    }
    const absl::Status status = stream->Finish();
    {
      std::lock_guard<std::mutex> lock(mu_);
      current_ = nullptr;
      if (stopping_) return;
    }
    const absl::Time now = absl::Now();
    callbacks_.broken(
        status.ok() ? std::string("tap stream ended")
                    : absl::StrCat("tap stream broke: ", status.message()),
        now);
    if (absl::IsNotFound(status)) {
      if (!gone_since) gone_since = now;
      if (now - *gone_since >= options_.room_gone_timeout) {
        callbacks_.room_gone(status);
        return;
      }
    } else if (any) {
      gone_since.reset();
    }
    std::unique_lock<std::mutex> lock(mu_);
    cv_.wait_for(lock, absl::ToChronoMilliseconds(backoff),
                 [this] { return stopping_; });
    if (stopping_) return;
    backoff = std::min(backoff * 2, options_.max_backoff);
  }
}

}  // namespace sotto::recorder
