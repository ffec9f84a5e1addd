// Reading a room's PCM tap from a media engine (MediaEngine.StreamTap) and
// keeping it read: TapSource is the seam (GrpcTapSource for real engines,
// fakes in tests); TapReader runs one stream on its own thread, reconnects
// with backoff when it breaks (engine restart, network), and gives up only
// when the room has been gone for a while.
#ifndef SOTTO_SERVICES_RECORDER_TAP_READER_H_
#define SOTTO_SERVICES_RECORDER_TAP_READER_H_

#include <condition_variable>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <thread>

#include "absl/status/status.h"
#include "absl/time/time.h"
#include "grpcpp/channel.h"
#include "grpcpp/security/credentials.h"
#include "grpcpp/support/channel_arguments.h"
#include "services/common/stub_cache.h"
#include "sotto/v1/media.grpc.pb.h"

namespace sotto::recorder {

// One open StreamTap call.
class TapStream {
 public:
  virtual ~TapStream() = default;
  // Blocks for the next message; false once the stream has ended.
  virtual bool Read(v1::TapMessage* message) = 0;
  // Why it ended; call once Read returned false.
  virtual absl::Status Finish() = 0;
  // Thread-safe: makes a blocked Read return false soon.
  virtual void Cancel() = 0;
};

// Thread-safe.
class TapSource {
 public:
  virtual ~TapSource() = default;
  // Whether `engine` is reachable and carries `room`: UNAVAILABLE, or
  // NOT_FOUND naming the room.
  virtual absl::Status CheckRoom(const std::string& engine,
                                 const std::string& room) = 0;
  virtual std::unique_ptr<TapStream> Open(const std::string& engine,
                                          const std::string& room,
                                          bool telephone_events) = 0;
};

class GrpcTapSource final : public TapSource {
 public:
  GrpcTapSource(std::shared_ptr<grpc::ChannelCredentials> credentials,
                grpc::ChannelArguments arguments, absl::Duration rpc_timeout)
      : stubs_(std::move(credentials), std::move(arguments)),
        rpc_timeout_(rpc_timeout) {}

  absl::Status CheckRoom(const std::string& engine,
                         const std::string& room) override;
  std::unique_ptr<TapStream> Open(const std::string& engine,
                                  const std::string& room,
                                  bool telephone_events) override;

 private:
  service_kit::StubCache<v1::MediaEngine> stubs_;  // one per engine
  const absl::Duration rpc_timeout_;
};

struct TapReaderOptions {
  absl::Duration min_backoff = absl::Milliseconds(100);
  absl::Duration max_backoff = absl::Seconds(2);
  // The room answering NOT_FOUND this long means the call is over.
  absl::Duration room_gone_timeout = absl::Seconds(30);
};

// Callbacks run on the reader's thread.
struct TapCallbacks {
  std::function<void(absl::Time now)> connected;  // first message of a stream
  std::function<void(const v1::TapMessage&, absl::Time now)> message;
  std::function<void(const std::string& reason, absl::Time now)> broken;
  std::function<void(const absl::Status& why)> room_gone;  // then it stops
};

class TapReader {
 public:
  TapReader(TapSource* source, std::string engine, std::string room,
            bool telephone_events, TapCallbacks callbacks,
            TapReaderOptions options = {});
  // Stops.
  ~TapReader();
  TapReader(const TapReader&) = delete;
  TapReader& operator=(const TapReader&) = delete;

  void Start();
  // Cancels the stream and joins the thread; no callback runs after it.
  // Must not be called from a callback.
  void Stop();

 private:
  void Run();

  TapSource* const source_;
  const std::string engine_;
  const std::string room_;
  const bool telephone_events_;
  const TapCallbacks callbacks_;
  const TapReaderOptions options_;
  std::mutex mu_;
  std::condition_variable cv_;
  bool stopping_ = false;         // guarded by mu_
  TapStream* current_ = nullptr;  // guarded by mu_
  std::thread thread_;
};

}  // namespace sotto::recorder

#endif  // SOTTO_SERVICES_RECORDER_TAP_READER_H_
