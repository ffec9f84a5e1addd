#include "services/policy/policy_store.h"

#include <openssl/sha.h>

#include <chrono>
#include <utility>

#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "services/common/logging.h"

namespace sotto::policy {

namespace kit = ::sotto::service_kit;

std::string Sha256Hex(absl::string_view data) {
  unsigned char digest[SHA256_DIGEST_LENGTH];
  SHA256(reinterpret_cast<const unsigned char*>(data.data()), data.size(),
         digest);
  return absl::BytesToHexString(
      absl::string_view(reinterpret_cast<const char*>(digest), sizeof(digest)));
}

absl::StatusOr<std::unique_ptr<PolicyStore>> PolicyStore::Open(
    PolicyStoreOptions options) {
  if (options.path.empty()) {
    return absl::InvalidArgumentError("--policy_file is required");
  }
  absl::StatusOr<std::string> text = ReadFileToString(options.path);
  if (!text.ok()) return text.status();
  absl::StatusOr<PolicyDocument> document =
      ParsePolicyDocument(*text, options.path);
  if (!document.ok()) return document.status();
  auto snapshot = std::make_shared<const PolicySnapshot>(
      *std::move(document), options.token_leeway, Sha256Hex(*text),
      absl::Now());
  return std::unique_ptr<PolicyStore>(
      new PolicyStore(std::move(options), std::move(snapshot)));
}

PolicyStore::PolicyStore(PolicyStoreOptions options,
                         std::shared_ptr<const PolicySnapshot> initial)
    : options_(std::move(options)), current_(std::move(initial)) {}

PolicyStore::~PolicyStore() { Stop(); }

std::shared_ptr<const PolicySnapshot> PolicyStore::Current() const {
  std::lock_guard<std::mutex> lock(mutex_);
  return current_;
}

absl::Status PolicyStore::ReloadIfChanged() {
  std::lock_guard<std::mutex> reload_lock(reload_mutex_);
  // The whole file is hashed every time: ConfigMap updates swap symlinks,
  // which can leave mtime and size unchanged, and the file is small.
  absl::StatusOr<std::string> text = ReadFileToString(options_.path);
  absl::Status status = text.status();
  std::string sha256;
  if (status.ok()) {
    sha256 = Sha256Hex(*text);
    if (sha256 == Current()->sha256) {
      std::lock_guard<std::mutex> lock(mutex_);
      last_error_.clear();
      return absl::OkStatus();
    }
    absl::StatusOr<PolicyDocument> document =
        ParsePolicyDocument(*text, options_.path);
    if (document.ok()) {
      auto snapshot = std::make_shared<const PolicySnapshot>(
          *std::move(document), options_.token_leeway, sha256, absl::Now());
      const size_t tenants = snapshot->document.tenants.size();
      const size_t rules = snapshot->document.RuleCount();
      {
        std::lock_guard<std::mutex> lock(mutex_);
        current_ = std::move(snapshot);
        last_error_.clear();
      }
      kit::LogInfo("policy reloaded", {{"file", options_.path},
                                       {"sha256", sha256},
                                       {"tenants", tenants},
                                       {"rules", rules}});
      return absl::OkStatus();
    }
    status = document.status();
  }
  const std::string error(status.message());
  bool changed = false;
  {
    std::lock_guard<std::mutex> lock(mutex_);
    changed = last_error_ != error;
    last_error_ = error;
  }
  if (changed) {
    kit::LogWarning(
        "policy reload rejected; the previous document stays in "
        "force",
        {{"file", options_.path},
         {"error", error},
         {"in_force_sha256", Current()->sha256}});
  }
  return status;
}

PolicyStatus PolicyStore::Status() const {
  std::shared_ptr<const PolicySnapshot> snapshot;
  PolicyStatus status;
  {
    std::lock_guard<std::mutex> lock(mutex_);
    snapshot = current_;
    status.last_error = last_error_;
  }
  status.source = options_.path;
  status.sha256 = snapshot->sha256;
  status.load_time = snapshot->load_time;
  status.tenants = static_cast<uint32_t>(snapshot->document.tenants.size());
  status.rules = static_cast<uint32_t>(snapshot->document.RuleCount());
  return status;
}

void PolicyStore::Start() {
  std::lock_guard<std::mutex> lock(watcher_mutex_);
  if (watcher_.joinable() || stopping_) return;
  watcher_ = std::thread([this] {
    const auto interval = absl::ToChronoMilliseconds(options_.reload_interval);
    std::unique_lock<std::mutex> lock(watcher_mutex_);
    while (
        !watcher_wake_.wait_for(lock, interval, [this] { return stopping_; })) {
      lock.unlock();
      ReloadIfChanged().IgnoreError();  // Kept in Status() and logged.
      lock.lock();
    }
  });
}

void PolicyStore::Stop() {
  std::thread watcher;
  {
    std::lock_guard<std::mutex> lock(watcher_mutex_);
    stopping_ = true;
    watcher = std::move(watcher_);
  }
  watcher_wake_.notify_all();
  if (watcher.joinable()) watcher.join();
}

}  // namespace sotto::policy
