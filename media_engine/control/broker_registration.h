// Announces a media engine to the broker (sotto.v1.EngineRegistry): one
// RegisterEngine at start, then a Heartbeat every interval the broker asked
// for, re-registering when the broker has forgotten the engine (NOT_FOUND)
// and retrying with backoff while it is unreachable. Runs on its own thread
// and never touches the engine except through the `status` callback.
#ifndef SOTTO_MEDIA_ENGINE_CONTROL_BROKER_REGISTRATION_H_
#define SOTTO_MEDIA_ENGINE_CONTROL_BROKER_REGISTRATION_H_

#include <condition_variable>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <thread>

#include "absl/time/time.h"
#include "sotto/v1/broker.grpc.pb.h"

namespace sotto::media {

struct BrokerRegistrationOptions {
  std::string engine_id;
  std::string control_address;  // host:port of this engine's MediaEngine API
  std::string media_address;    // where remote endpoints send media
  int capacity_rooms = 0;
  // Used until the broker's RegisterEngineResponse says otherwise.
  absl::Duration heartbeat_interval = absl::Seconds(3);
  absl::Duration rpc_timeout = absl::Seconds(3);
};

// What a heartbeat reports; called on the registration thread.
struct EngineLoad {
  int active_rooms = 0;
  bool draining = false;
  double load = 0;
};

class BrokerRegistration {
 public:
  BrokerRegistration(std::unique_ptr<v1::EngineRegistry::StubInterface> stub,
                     BrokerRegistrationOptions options,
                     std::function<EngineLoad()> status);
  // Stops the thread.
  ~BrokerRegistration();

  // Starts the thread. Call once.
  void Start();
  // Sends the next heartbeat now instead of at the end of the interval
  // (e.g. the moment the engine starts draining, so the broker places no
  // new call here). Heartbeats go on until Stop(): a draining engine with
  // live calls must not look dead to the broker. Thread-safe.
  void BeatNow();

  // Stops and joins the thread; a last heartbeat says draining.
  void Stop();

 private:
  void Run();
  bool Register();
  grpc::Status Beat(bool draining);
  // Waits up to `d`, until BeatNow() or until Stop(); false when stopping.
  bool Sleep(absl::Duration d);

  std::unique_ptr<v1::EngineRegistry::StubInterface> stub_;
  const BrokerRegistrationOptions options_;
  const std::function<EngineLoad()> status_;
  absl::Duration interval_;  // only the thread touches it after Start()
  std::thread thread_;
  std::mutex mu_;
  std::condition_variable cv_;
  bool stopping_ = false;  // guarded by mu_
  bool beat_now_ = false;  // guarded by mu_
};

}  // namespace sotto::media

#endif  // SOTTO_MEDIA_ENGINE_CONTROL_BROKER_REGISTRATION_H_
