// One gRPC stub (and channel) per target address, made on first use and
// kept: for clients that talk to many peers of one service, e.g. the broker
// and the recorder to every media engine.
#ifndef SOTTO_SERVICES_COMMON_STUB_CACHE_H_
#define SOTTO_SERVICES_COMMON_STUB_CACHE_H_

#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <utility>

#include "grpcpp/create_channel.h"
#include "grpcpp/security/credentials.h"
#include "grpcpp/support/channel_arguments.h"

namespace sotto::service_kit {

// Thread-safe. Stubs live as long as the cache.
template <typename Service>
class StubCache {
 public:
  StubCache(std::shared_ptr<grpc::ChannelCredentials> credentials,
            grpc::ChannelArguments arguments)
      : credentials_(std::move(credentials)),
        arguments_(std::move(arguments)) {}

  typename Service::Stub* For(const std::string& target) {
    std::lock_guard<std::mutex> lock(mu_);
    auto found = stubs_.find(target);
    if (found == stubs_.end()) {
      found = stubs_
                  .emplace(target, Service::NewStub(grpc::CreateCustomChannel(
                                       target, credentials_, arguments_)))
                  .first;
    }
    return found->second.get();
  }

 private:
  const std::shared_ptr<grpc::ChannelCredentials> credentials_;
  const grpc::ChannelArguments arguments_;
  std::mutex mu_;
  std::map<std::string, std::unique_ptr<typename Service::Stub>>
      stubs_;  // guarded by mu_
};

}  // namespace sotto::service_kit

#endif  // SOTTO_SERVICES_COMMON_STUB_CACHE_H_
