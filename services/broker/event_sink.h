// Where the broker's events go after the outbox: EventSink is the seam,
// GrpcEventSink sends them to sotto.v1.Reporting's IngestEvents.
#ifndef SOTTO_SERVICES_BROKER_EVENT_SINK_H_
#define SOTTO_SERVICES_BROKER_EVENT_SINK_H_

#include <memory>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/time/time.h"
#include "sotto/v1/events.pb.h"
#include "sotto/v1/reporting.grpc.pb.h"

namespace sotto::broker {

// Thread-compatible: the forwarder calls it from one thread.
class EventSink {
 public:
  virtual ~EventSink() = default;
  // OK only when every event is stored (or was already).
  virtual absl::Status Deliver(const std::vector<v1::Event>& events) = 0;
};

class GrpcEventSink final : public EventSink {
 public:
  // `bearer_token` (may be empty) is sent as `authorization: Bearer ...`
  // when reporting wants a service identity beyond mTLS.
  GrpcEventSink(std::unique_ptr<v1::Reporting::StubInterface> stub,
                absl::Duration timeout, std::string bearer_token)
      : stub_(std::move(stub)),
        timeout_(timeout),
        bearer_token_(std::move(bearer_token)) {}

  absl::Status Deliver(const std::vector<v1::Event>& events) override;

 private:
  std::unique_ptr<v1::Reporting::StubInterface> stub_;
  const absl::Duration timeout_;
  const std::string bearer_token_;
};

}  // namespace sotto::broker

#endif  // SOTTO_SERVICES_BROKER_EVENT_SINK_H_
