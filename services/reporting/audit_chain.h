// The tamper-evident audit trail's rules, apart from any store: how a
// record's hash is made and how a chain is checked link by link, so the
// store, the VerifyAuditChain RPC and the --verify_audit_chain command all
// judge a chain the same way.
#ifndef SOTTO_SERVICES_REPORTING_AUDIT_CHAIN_H_
#define SOTTO_SERVICES_REPORTING_AUDIT_CHAIN_H_

#include <cstdint>
#include <string>

#include "absl/strings/string_view.h"
#include "google/protobuf/message.h"

namespace sotto::reporting {

// Lower-case hex SHA-256 of `bytes`.
std::string Sha256Hex(absl::string_view bytes);

// The message's deterministic serialization: the bytes an event is stored
// and hashed as (its canonical encoding).
std::string CanonicalBytes(const google::protobuf::Message& message);

// Hex SHA-256 over the previous record's hash (hex, "" for the first) and
// the event's canonical encoding, separated by a newline so that no shift of
// bytes between the two gives the same input.
std::string ChainHash(absl::string_view previous_hash,
                      absl::string_view event_bytes);

// One stored link as the verifier sees it: the columns as stored, unparsed,
// so that a tampered column is judged, not a re-encoding of it.
struct StoredLink {
  uint64_t sequence = 0;
  std::string event_id;       // the indexed column
  int64_t event_type = 0;     // the indexed column
  int64_t event_time_us = 0;  // the indexed column
  std::string payload;        // the event's canonical encoding
  std::string previous_hash;
  std::string hash;
};

struct ChainVerification {
  bool intact = true;
  uint64_t records_checked = 0;
  // The first link that does not hold; 0 and "" while intact.
  uint64_t first_broken_sequence = 0;
  std::string first_broken_event_id;
  std::string detail;
};

// Checks links in sequence order, one at a time (the store pages through
// the chain). After the first break it ignores further links.
class ChainVerifier {
 public:
  void Check(const StoredLink& link);
  // The chain's head as recorded apart from the links (the store's
  // per-tenant head row): catches records deleted from the end.
  void Finish(uint64_t head_sequence, absl::string_view head_hash);
  const ChainVerification& result() const { return result_; }

 private:
  void Break(uint64_t sequence, absl::string_view event_id, std::string detail);

  ChainVerification result_;
  uint64_t last_sequence_ = 0;
  std::string last_hash_;
};

}  // namespace sotto::reporting

#endif  // SOTTO_SERVICES_REPORTING_AUDIT_CHAIN_H_
