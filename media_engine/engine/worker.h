// A media worker thread: one event loop and the rooms placed on it.
#ifndef SOTTO_MEDIA_ENGINE_ENGINE_WORKER_H_
#define SOTTO_MEDIA_ENGINE_ENGINE_WORKER_H_

#include <atomic>
#include <future>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <thread>
#include <utility>

#include "media_engine/engine/engine_stats.h"
#include "media_engine/engine/room.h"
#include "media_engine/net/event_loop.h"

namespace sotto::media {

class Worker {
 public:
  Worker(int index, const Clock& clock);
  ~Worker();
  Worker(const Worker&) = delete;
  Worker& operator=(const Worker&) = delete;

  void Start();
  // Closes every room and stops the thread.
  void Stop();

  // Runs `fn` on the worker thread and returns its result. Control path
  // only (it blocks the caller until the worker gets to it, which is
  // within one loop iteration).
  template <typename Fn>
  auto Call(Fn fn) -> decltype(fn()) {
    using Result = decltype(fn());
    std::promise<Result> promise;
    std::future<Result> future = promise.get_future();
    loop_.Post([&] { promise.set_value(fn()); });
    return future.get();
  }

  int index() const { return index_; }
  net::EventLoop* loop() { return &loop_; }
  // Worker thread only.
  std::map<std::string, std::unique_ptr<Room>>& rooms() { return rooms_; }
  EngineCounters& counters() { return counters_; }
  // Any thread (placement).
  std::atomic<int>& room_count() { return room_count_; }

 private:
  const int index_;
  net::EventLoop loop_;
  std::thread thread_;
  std::map<std::string, std::unique_ptr<Room>> rooms_;
  EngineCounters counters_;
  std::atomic<int> room_count_{0};
};

}  // namespace sotto::media

#endif  // SOTTO_MEDIA_ENGINE_ENGINE_WORKER_H_
