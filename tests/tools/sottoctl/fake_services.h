// In-process fakes of every Sotto service sottoctl calls: each records the
// requests it received (with their `authorization` metadata) and answers
// with canned responses or a canned error, so the CLI is exercised end to
// end through real gRPC without the real services.
#ifndef SOTTO_TESTS_TOOLS_SOTTOCTL_FAKE_SERVICES_H_
#define SOTTO_TESTS_TOOLS_SOTTOCTL_FAKE_SERVICES_H_

#include <deque>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "google/protobuf/message.h"
#include "grpcpp/server.h"
#include "grpcpp/server_context.h"
#include "sotto/v1/broker.grpc.pb.h"
#include "sotto/v1/media.grpc.pb.h"
#include "sotto/v1/policy.grpc.pb.h"
#include "sotto/v1/recorder.grpc.pb.h"
#include "sotto/v1/reporting.grpc.pb.h"

namespace sotto::sottoctl::fakes {

// One request as the server saw it.
struct Received {
  std::string method;  // "GetCall"
  std::unique_ptr<google::protobuf::Message> request;
  std::string authorization;  // The metadata value; empty if none.
};

// What every fake shares: the log of requests and the canned answers.
class Script {
 public:
  // Responses for `method`, answered in order; the last one repeats.
  void Respond(const std::string& method,
               const google::protobuf::Message& response);
  // Every call of `method` fails with this status.
  void Fail(const std::string& method, grpc::Status status);

  std::vector<std::string> methods() const;
  // The last request of `method`; nullptr if none.
  const Received* Last(const std::string& method) const;
  std::vector<const Received*> All(const std::string& method) const;
  size_t count() const;

  // Used by the fakes: logs the request and answers it.
  grpc::Status Answer(const std::string& method, grpc::ServerContext* context,
                      const google::protobuf::Message& request,
                      google::protobuf::Message* response);
  void Log(const std::string& method, grpc::ServerContext* context,
           const google::protobuf::Message& request);
  // The canned responses of a streaming method, all of them.
  std::vector<std::unique_ptr<google::protobuf::Message>> StreamOf(
      const std::string& method);
  grpc::Status FailureOf(const std::string& method) const;

  // Streams stay open after their canned messages until the client cancels.
  bool hold_streams_open = false;

 private:
  mutable std::mutex mu_;
  std::vector<std::unique_ptr<Received>> received_;
  std::map<std::string, std::deque<std::unique_ptr<google::protobuf::Message>>>
      responses_;
  std::map<std::string, grpc::Status> failures_;
};

// Every service on one loopback port.
class FakeServer {
 public:
  FakeServer();
  ~FakeServer();
  const std::string& address() const { return address_; }
  Script& script() { return *script_; }

 private:
  std::unique_ptr<Script> script_;
  std::vector<std::unique_ptr<grpc::Service>> services_;
  std::unique_ptr<grpc::Server> server_;
  std::string address_;
};

}  // namespace sotto::sottoctl::fakes

#endif  // SOTTO_TESTS_TOOLS_SOTTOCTL_FAKE_SERVICES_H_
