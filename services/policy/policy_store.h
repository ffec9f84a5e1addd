// Holds the policy document in force and reloads it when its file changes.
//
// Readers take a snapshot (a shared_ptr to an immutable document and the
// token verifier built from its issuers) and decide on it without locks; a
// reload builds a complete new snapshot and swaps the pointer, so a
// decision never sees half of one document and half of another. A document
// that fails to load is rejected and the previous one stays in force; the
// error is kept for GetPolicyStatus and logged once per distinct failure.
#ifndef SOTTO_SERVICES_POLICY_POLICY_STORE_H_
#define SOTTO_SERVICES_POLICY_POLICY_STORE_H_

#include <condition_variable>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <thread>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "services/policy/policy_document.h"
#include "services/policy/token_verifier.h"

namespace sotto::policy {

// One loaded document and what is derived from it. Immutable.
struct PolicySnapshot {
  PolicySnapshot(PolicyDocument document_in, absl::Duration leeway,
                 std::string sha256_in, absl::Time load_time_in)
      : document(std::move(document_in)),
        verifier(document.issuers, leeway),
        sha256(std::move(sha256_in)),
        load_time(load_time_in) {}

  const PolicyDocument document;
  const TokenVerifier verifier;
  const std::string sha256;  // Of the document file, hex.
  const absl::Time load_time;
};

struct PolicyStatus {
  std::string source;
  std::string sha256;
  absl::Time load_time;
  std::string last_error;  // Empty when the last reload attempt succeeded.
  uint32_t tenants = 0;
  uint32_t rules = 0;
};

struct PolicyStoreOptions {
  std::string path;
  // How often the watcher thread checks the file (Start()).
  absl::Duration reload_interval = absl::Seconds(2);
  // Clock skew allowed on exp and nbf.
  absl::Duration token_leeway = absl::Seconds(60);
};

// Hex SHA-256 of `data`.
std::string Sha256Hex(absl::string_view data);

class PolicyStore {
 public:
  // Loads the document; fails (naming the file and line) if it does not
  // load, since a service without a policy can only deny.
  static absl::StatusOr<std::unique_ptr<PolicyStore>> Open(
      PolicyStoreOptions options);

  ~PolicyStore();  // Stops the watcher.
  PolicyStore(const PolicyStore&) = delete;
  PolicyStore& operator=(const PolicyStore&) = delete;

  // The document in force. Any thread; never null.
  std::shared_ptr<const PolicySnapshot> Current() const;

  // Reads the file and, if its contents changed, loads it: OK when the
  // document in force is current (loaded now or unchanged), the load
  // error otherwise (also kept in Status().last_error). Any thread; the
  // watcher calls it every reload_interval.
  absl::Status ReloadIfChanged();

  PolicyStatus Status() const;

  // Starts / stops the watcher thread. Stop() is idempotent and waits.
  void Start();
  void Stop();

 private:
  PolicyStore(PolicyStoreOptions options,
              std::shared_ptr<const PolicySnapshot> initial);

  const PolicyStoreOptions options_;

  mutable std::mutex mutex_;
  std::shared_ptr<const PolicySnapshot> current_;  // Guarded by mutex_.
  std::string last_error_;                         // Guarded by mutex_.
  // Serialises reloads (the watcher and tests may both call).
  std::mutex reload_mutex_;

  std::mutex watcher_mutex_;
  std::condition_variable watcher_wake_;
  bool stopping_ = false;  // Guarded by watcher_mutex_.
  std::thread watcher_;
};

}  // namespace sotto::policy

#endif  // SOTTO_SERVICES_POLICY_POLICY_STORE_H_
