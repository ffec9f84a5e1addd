#include "services/reporting/audit_chain.h"

#include <openssl/sha.h>

#include <utility>

#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "google/protobuf/io/coded_stream.h"
#include "google/protobuf/io/zero_copy_stream_impl_lite.h"
#include "google/protobuf/util/time_util.h"
#include "sotto/v1/events.pb.h"

namespace sotto::reporting {

std::string Sha256Hex(absl::string_view bytes) {
  unsigned char digest[SHA256_DIGEST_LENGTH];
  SHA256(reinterpret_cast<const unsigned char*>(bytes.data()), bytes.size(),
         digest);
  return absl::BytesToHexString(
      absl::string_view(reinterpret_cast<const char*>(digest), sizeof(digest)));
}

std::string CanonicalBytes(const google::protobuf::Message& message) {
  std::string bytes;
  {
    google::protobuf::io::StringOutputStream stream(&bytes);
    google::protobuf::io::CodedOutputStream coded(&stream);
    coded.SetSerializationDeterministic(true);
    message.SerializeToCodedStream(&coded);
  }
  return bytes;
}

std::string ChainHash(absl::string_view previous_hash,
                      absl::string_view event_bytes) {
  return Sha256Hex(absl::StrCat(previous_hash, "\n", event_bytes));
}

void ChainVerifier::Break(uint64_t sequence, absl::string_view event_id,
                          std::string detail) {
  result_.intact = false;
  result_.first_broken_sequence = sequence;
  result_.first_broken_event_id = std::string(event_id);
  result_.detail = std::move(detail);
}

void ChainVerifier::Check(const StoredLink& link) {
  if (!result_.intact) return;
  ++result_.records_checked;
  const std::string where =
      absl::StrCat("record ", link.sequence, " (event ", link.event_id, ")");
  if (link.sequence != last_sequence_ + 1) {
    // A gap: the missing record is the first broken link.
    Break(last_sequence_ + 1, "",
          absl::StrCat("record ", last_sequence_ + 1,
                       " is missing: the chain jumps from ", last_sequence_,
                       " to ", link.sequence));
    return;
  }
  if (link.previous_hash != last_hash_) {
    Break(link.sequence, link.event_id,
          absl::StrCat(where,
                       ": previous_hash does not match the hash of "
                       "the record before it"));
    return;
  }
  if (ChainHash(link.previous_hash, link.payload) != link.hash) {
    Break(link.sequence, link.event_id,
          absl::StrCat(where,
                       ": the stored event does not match its hash "
                       "(the event was changed after it was chained)"));
    return;
  }
  // The indexed columns that reports and filters read must agree with the
  // hashed event, or a report could be falsified without touching it.
  v1::Event event;
  if (!event.ParseFromString(link.payload) ||
      event.event_id() != link.event_id ||
      static_cast<int64_t>(event.type()) != link.event_type ||
      (event.has_time() &&
       google::protobuf::util::TimeUtil::TimestampToMicroseconds(
           event.time()) != link.event_time_us)) {
    Break(link.sequence, link.event_id,
          absl::StrCat(where,
                       ": the indexed columns (event id, type, time) "
                       "do not match the chained event"));
    return;
  }
  last_sequence_ = link.sequence;
  last_hash_ = link.hash;
}

void ChainVerifier::Finish(uint64_t head_sequence,
                           absl::string_view head_hash) {
  if (!result_.intact) return;
  if (head_sequence != last_sequence_ || head_hash != last_hash_) {
    Break(last_sequence_ + 1, "",
          absl::StrCat("the chain ends at record ", last_sequence_,
                       " but its head says ", head_sequence,
                       ": records were removed from the end"));
  }
}

}  // namespace sotto::reporting
