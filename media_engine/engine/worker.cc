#include "media_engine/engine/worker.h"

#include <pthread.h>

#include "absl/strings/str_cat.h"

namespace sotto::media {

Worker::Worker(int index, const Clock& clock) : index_(index), loop_(clock) {}

Worker::~Worker() { Stop(); }

void Worker::Start() {
  thread_ = std::thread([this] {
    const std::string name = absl::StrCat("media-", index_);
    pthread_setname_np(pthread_self(), name.c_str());
    loop_.Run();
  });
}

void Worker::Stop() {
  if (!thread_.joinable()) return;
  Call([this] {
    for (auto& [id, room] : rooms_) room->Close();
    rooms_.clear();
    return true;
  });
  loop_.Stop();
  thread_.join();
}

}  // namespace sotto::media
