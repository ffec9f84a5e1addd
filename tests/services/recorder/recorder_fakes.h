// Fakes of the recorder's seams: a tap source whose streams the test feeds
// (and breaks), and a policy service with a grant table.
#ifndef SOTTO_TESTS_SERVICES_RECORDER_RECORDER_FAKES_H_
#define SOTTO_TESTS_SERVICES_RECORDER_RECORDER_FAKES_H_

#include <condition_variable>
#include <deque>
#include <map>
#include <memory>
#include <mutex>
#include <set>
#include <string>

#include "services/common/policy_client.h"
#include "services/recorder/tap_reader.h"

namespace sotto::recorder::testing {

class FakeTapSource final : public TapSource {
 public:
  // Rooms the "engine" carries; others are NOT_FOUND.
  void AddRoom(const std::string& room) {
    std::lock_guard<std::mutex> lock(mu_);
    rooms_.insert(room);
  }
  void RemoveRoom(const std::string& room) {
    std::lock_guard<std::mutex> lock(mu_);
    rooms_.erase(room);
    cv_.notify_all();
  }
  void SetReachable(bool reachable) {
    std::lock_guard<std::mutex> lock(mu_);
    reachable_ = reachable;
  }
  // Delivered to the room's open stream (or the next one opened).
  void Push(const std::string& room, const v1::TapMessage& message) {
    std::lock_guard<std::mutex> lock(mu_);
    queues_[room].push_back(message);
    cv_.notify_all();
  }
  // Ends the room's current stream with `status`.
  void Break(const std::string& room, absl::Status status) {
    std::lock_guard<std::mutex> lock(mu_);
    breaks_[room] = std::move(status);
    cv_.notify_all();
  }
  int opens(const std::string& room) {
    std::lock_guard<std::mutex> lock(mu_);
    return opens_[room];
  }

  absl::Status CheckRoom(const std::string& engine,
                         const std::string& room) override {
    std::lock_guard<std::mutex> lock(mu_);
    if (!reachable_) return absl::UnavailableError(engine + " unreachable");
    if (rooms_.count(room) == 0) return absl::NotFoundError("no room " + room);
    return absl::OkStatus();
  }

  std::unique_ptr<TapStream> Open(const std::string&, const std::string& room,
                                  bool) override {
    std::lock_guard<std::mutex> lock(mu_);
    ++opens_[room];
    return std::make_unique<Stream>(this, room);
  }

 private:
  class Stream final : public TapStream {
   public:
    Stream(FakeTapSource* source, std::string room)
        : source_(source), room_(std::move(room)) {}
    bool Read(v1::TapMessage* message) override {
      std::unique_lock<std::mutex> lock(source_->mu_);
      while (true) {
        if (cancelled_) {
          status_ = absl::CancelledError("cancelled");
          return false;
        }
        if (!source_->reachable_) {
          status_ = absl::UnavailableError("engine unreachable");
          return false;
        }
        if (source_->rooms_.count(room_) == 0) {
          status_ = absl::NotFoundError("no room " + room_);
          return false;
        }
        auto broken = source_->breaks_.find(room_);
        if (broken != source_->breaks_.end()) {
          status_ = broken->second;
          source_->breaks_.erase(broken);
          return false;
        }
        auto& queue = source_->queues_[room_];
        if (!queue.empty()) {
          *message = queue.front();
          queue.pop_front();
          return true;
        }
        source_->cv_.wait(lock);
      }
    }
    absl::Status Finish() override {
      std::lock_guard<std::mutex> lock(source_->mu_);
      return status_;
    }
    void Cancel() override {
      std::lock_guard<std::mutex> lock(source_->mu_);
      cancelled_ = true;
      source_->cv_.notify_all();
    }

   private:
    FakeTapSource* const source_;
    const std::string room_;
    bool cancelled_ = false;  // guarded by source_->mu_
    absl::Status status_;     // guarded by source_->mu_
  };

  std::mutex mu_;
  std::condition_variable cv_;
  std::set<std::string> rooms_;
  bool reachable_ = true;
  std::map<std::string, std::deque<v1::TapMessage>> queues_;
  std::map<std::string, absl::Status> breaks_;
  std::map<std::string, int> opens_;
};

// Tokens are looked up, not verified. A reader may read recordings of the
// teams it is granted ("*" = any).
class FakePolicy final : public service_kit::PolicyClient {
 public:
  void AddReader(const std::string& token, const std::string& tenant,
                 const std::string& subject, std::set<std::string> teams) {
    std::lock_guard<std::mutex> lock(mu_);
    v1::Principal p;
    p.set_tenant(tenant);
    p.set_subject(subject);
    tokens_[token] = p;
    teams_[subject] = std::move(teams);
  }
  void SetRetention(absl::Duration retention) {
    std::lock_guard<std::mutex> lock(mu_);
    retention_ = retention;
  }

  absl::StatusOr<v1::Principal> Authenticate(
      const std::string& token) override {
    std::lock_guard<std::mutex> lock(mu_);
    auto found = tokens_.find(token);
    if (found == tokens_.end()) {
      return absl::UnauthenticatedError("bad signature");
    }
    return found->second;
  }
  absl::StatusOr<v1::Decision> Authorize(
      const v1::AuthorizeRequest& request) override {
    std::lock_guard<std::mutex> lock(mu_);
    v1::Decision decision;
    const auto& teams = teams_[request.principal().subject()];
    decision.set_allowed(
        request.action() == v1::ACTION_RECORDINGS_READ &&
        (teams.count("*") > 0 || teams.count(request.resource().team()) > 0));
    decision.set_rule(decision.allowed() ? "grant" : "default-deny");
    if (!decision.allowed()) {
      decision.set_reason("no rule grants recordings.read on this team");
    }
    return decision;
  }
  absl::StatusOr<v1::RecordingPolicy> GetRecordingPolicy(
      const std::string&, const std::string&) override {
    std::lock_guard<std::mutex> lock(mu_);
    v1::RecordingPolicy policy;
    policy.set_enabled(true);
    policy.mutable_retention()->set_seconds(absl::ToInt64Seconds(retention_));
    return policy;
  }

 private:
  std::mutex mu_;
  std::map<std::string, v1::Principal> tokens_;
  std::map<std::string, std::set<std::string>> teams_;
  absl::Duration retention_ = absl::Hours(24);
};

}  // namespace sotto::recorder::testing

#endif  // SOTTO_TESTS_SERVICES_RECORDER_RECORDER_FAKES_H_
