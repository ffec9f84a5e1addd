#include "services/broker/broker.h"

#include <openssl/sha.h>

#include <algorithm>
#include <map>
#include <set>
#include <tuple>
#include <utility>

#include "absl/strings/escaping.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "google/protobuf/io/coded_stream.h"
#include "google/protobuf/io/zero_copy_stream_impl_lite.h"
#include "services/broker/call_proto.h"
#include "services/broker/event_tail.h"
#include "services/common/logging.h"

namespace sotto::broker {
namespace {

constexpr int kDefaultPageSize = 50;
constexpr int kMaxPageSize = 500;
constexpr int kMaxAttributes = 32;
constexpr size_t kMaxAttributeBytes = 256;

bool ValidId(absl::string_view id) {
  if (id.empty() || id.size() > 128) return false;
  return std::all_of(id.begin(), id.end(), [](char c) {
    return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') ||
           (c >= '0' && c <= '9') || c == '.' || c == '_' || c == '~' ||
           c == '-';
  });
}

absl::Status BadName(absl::string_view field, absl::string_view pattern) {
  return absl::InvalidArgumentError(
      absl::StrCat(field, " must be ", pattern,
                   " with ids of 1-128 characters [A-Za-z0-9._~-]"));
}

absl::StatusOr<std::string> ParseParent(absl::string_view field,
                                        absl::string_view parent) {
  std::vector<absl::string_view> parts = absl::StrSplit(parent, '/');
  if (parts.size() != 2 || parts[0] != "tenants" || !ValidId(parts[1])) {
    return BadName(field, "tenants/{tenant}");
  }
  return std::string(parts[1]);
}

std::string ActionName(v1::Action action) {
  switch (action) {
    case v1::ACTION_CALLS_MANAGE:
      return "calls.manage";
    case v1::ACTION_CALLS_VIEW:
      return "calls.view";
    case v1::ACTION_CALLS_SUPERVISE:
      return "calls.supervise";
    default:
      return "unspecified";
  }
}

// A digest of the request that ignores field order in maps.
std::string Fingerprint(const v1::Principal& principal,
                        absl::string_view method,
                        const google::protobuf::Message& request) {
  std::string bytes;
  {
    google::protobuf::io::StringOutputStream stream(&bytes);
    google::protobuf::io::CodedOutputStream coded(&stream);
    coded.SetSerializationDeterministic(true);
    request.SerializeToCodedStream(&coded);
  }
  unsigned char digest[SHA256_DIGEST_LENGTH];
  SHA256(reinterpret_cast<const unsigned char*>(bytes.data()), bytes.size(),
         digest);
  return absl::StrCat(
      principal.subject(), "|", method, "|",
      absl::BytesToHexString(absl::string_view(
          reinterpret_cast<const char*>(digest), sizeof(digest))));
}

// The engine's idempotency key for one media step of one broker attempt.
// Fresh per attempt (an undone attempt's legs must not be replayed by the
// engine to a retry); the request id is kept in it for tracing.
std::string MediaRequestId(const std::string& tenant,
                           const std::string& request_id,
                           absl::string_view step) {
  return absl::StrCat(tenant, "/", request_id, "/", step, "/", NewEventId());
}

absl::Status ValidateOffer(absl::string_view field,
                           const v1::MediaOffer& offer) {
  if (offer.codec() == v1::CODEC_UNSPECIFIED) {
    return absl::InvalidArgumentError(
        absl::StrCat(field, ".codec is required: CODEC_PCMU or CODEC_PCMA"));
  }
  if (offer.remote_key().suite() == v1::CRYPTO_SUITE_UNSPECIFIED) {
    return absl::InvalidArgumentError(absl::StrCat(
        field,
        ".remote_key.suite is required (CRYPTO_SUITE_PLAIN_RTP for "
        "unencrypted legs)"));
  }
  return absl::OkStatus();
}

// An engine's INVALID_ARGUMENT about an offer, in the caller's terms: the
// engine names "offer.remote_key.inline_key", the caller sent it as
// "customer.media.remote_key.inline_key".
absl::Status InCallersTerms(const absl::Status& status,
                            absl::string_view field) {
  if (!absl::IsInvalidArgument(status)) return status;
  const absl::string_view message = status.message();
  const size_t at = message.find("offer.");
  if (at == absl::string_view::npos) return status;
  return absl::InvalidArgumentError(
      absl::StrCat(field, ".", message.substr(at + 6), " (",
                   absl::StripSuffix(message.substr(0, at), ": "), ")"));
}

absl::Status ValidateAttributes(
    const google::protobuf::Map<std::string, std::string>& attributes) {
  if (attributes.size() > kMaxAttributes) {
    return absl::InvalidArgumentError(
        absl::StrCat("attributes: at most ", kMaxAttributes, " entries"));
  }
  for (const auto& [key, value] : attributes) {
    if (key.size() + value.size() > kMaxAttributeBytes) {
      return absl::InvalidArgumentError(absl::StrCat(
          "attributes: each entry at most ", kMaxAttributeBytes, " bytes"));
    }
  }
  return absl::OkStatus();
}

std::string Serialize(const google::protobuf::Message& message) {
  std::string out;
  message.SerializeToString(&out);
  return out;
}

template <typename T>
absl::StatusOr<T> Parse(const std::string& bytes) {
  T message;
  if (!message.ParseFromString(bytes)) {
    return absl::InternalError("a stored response does not parse");
  }
  return message;
}

bool IsEnded(const CallRecord& call) {
  return call.state == CallState::kEnded || call.state == CallState::kFailed;
}

// The view of a caller: keys of the call's legs when it manages calls,
// its own supervisor leg's key always.
CallView ViewFor(const v1::Principal& principal, bool manager, absl::Time now) {
  CallView view;
  view.call_leg_keys = manager;
  view.supervisor = principal.subject();
  view.now = now;
  return view;
}

// The principal a supervision was last asked for (see RememberPrincipal);
// its bare subject if none was kept.
v1::Principal SupervisorOf(const CallRecord& call, const SupervisionRecord& s) {
  v1::Principal supervisor;
  if (!supervisor.ParseFromString(s.principal) ||
      supervisor.subject().empty()) {
    supervisor.Clear();
    supervisor.set_tenant(call.tenant);
    supervisor.set_subject(s.supervisor);
  }
  return supervisor;
}

}  // namespace

Broker::Broker(PolicyClient* policy, MediaClient* media, CallStore* store,
               EngineRegistry* engines, BrokerOptions options)
    : policy_(policy),
      media_(media),
      store_(store),
      engines_(engines),
      options_(std::move(options)) {}

std::mutex& Broker::LockFor(const std::string& tenant,
                            const std::string& call_id) {
  const size_t h = std::hash<std::string>()(absl::StrCat(tenant, "/", call_id));
  return call_locks_[h % call_locks_.size()];
}

absl::StatusOr<v1::Principal> Broker::Authenticate(const std::string& token) {
  if (token.empty()) {
    return absl::UnauthenticatedError(
        "no bearer token: send `authorization: Bearer <JWT>` metadata");
  }
  return policy_->Authenticate(token);
}

absl::StatusOr<v1::Decision> Broker::Ask(const v1::Principal& principal,
                                         v1::Action action,
                                         const CallRecord& call, v1::Mode mode,
                                         const std::string& reason,
                                         bool audit) {
  v1::AuthorizeRequest request;
  *request.mutable_principal() = principal;
  request.set_action(action);
  request.set_mode(mode);
  request.set_reason(reason);
  v1::ResourceAttributes* resource = request.mutable_resource();
  resource->set_tenant(call.tenant);
  resource->set_call(call.name());
  resource->set_queue(call.queue);
  const ParticipantRecord* agent = call.Agent();
  if (agent == nullptr) {
    for (const ParticipantRecord& p : call.participants) {
      if (p.role == v1::ROLE_AGENT) agent = &p;  // the last one
    }
  }
  if (agent != nullptr) {
    resource->set_agent_id(agent->user_id);
    resource->set_team(agent->team);
  }
  for (const auto& [key, value] : call.attributes) {
    (*resource->mutable_attributes())[key] = value;
  }
  resource->set_monitoring_disclosed(call.monitoring_disclosed);
  resource->set_agent_declined_whisper(call.agent_declined_whisper);
  absl::StatusOr<v1::Decision> decision = policy_->Authorize(request);
  if (decision.ok() && audit) {
    Audit(principal, action, call, mode, reason, *decision);
  }
  return decision;
}

absl::StatusOr<v1::Decision> Broker::Require(const v1::Principal& principal,
                                             v1::Action action,
                                             const CallRecord& call,
                                             v1::Mode mode,
                                             const std::string& reason) {
  absl::StatusOr<v1::Decision> decision =
      Ask(principal, action, call, mode, reason);
  if (!decision.ok()) return decision.status();
  if (!decision->allowed()) {
    return absl::PermissionDeniedError(
        decision->reason().empty()
            ? absl::StrCat("policy does not allow ", ActionName(action))
            : decision->reason());
  }
  return decision;
}

void Broker::Audit(const v1::Principal& principal, v1::Action action,
                   const CallRecord& call, v1::Mode mode,
                   const std::string& reason, const v1::Decision& decision) {
  CallRecord copy = call;  // no sequence number is consumed on the call
  v1::Event event =
      MakeCallEvent(copy,
                    decision.allowed() ? v1::EVENT_TYPE_ACCESS_GRANTED
                                       : v1::EVENT_TYPE_ACCESS_DENIED,
                    options_.clock());
  event.set_call_sequence(0);
  event.set_actor(principal.subject());
  event.set_action(ActionName(action));
  event.set_mode(mode);
  event.set_policy_rule(decision.rule());
  // A denial says why; a grant keeps the reason the principal gave.
  event.set_reason(decision.allowed() ? reason : decision.reason());
  // Best effort, in its own transaction: the decision stands whether or
  // not its audit is stored (the store being down fails the request
  // anyway).
  if (store_->AppendEvents({event}).ok()) bell_.Ring();
}

absl::Status Broker::RequireViewer(const v1::Principal& principal,
                                   const CallRecord& call, bool* manager) {
  // "May it manage?" only picks the view (keys or not): audited when it
  // decides, and otherwise the view decision is.
  absl::StatusOr<v1::Decision> manage =
      Ask(principal, v1::ACTION_CALLS_MANAGE, call, v1::MODE_UNSPECIFIED, "",
          /*audit=*/false);
  if (!manage.ok()) return manage.status();
  *manager = manage->allowed();
  if (*manager) {
    Audit(principal, v1::ACTION_CALLS_MANAGE, call, v1::MODE_UNSPECIFIED, "",
          *manage);
    return absl::OkStatus();
  }
  return Require(principal, v1::ACTION_CALLS_VIEW, call, v1::MODE_UNSPECIFIED)
      .status();
}

absl::StatusOr<StoredCall> Broker::LoadVisible(const v1::Principal& principal,
                                               const CallName& name) {
  const std::string not_found =
      absl::StrCat("no call tenants/", name.tenant, "/calls/", name.call_id);
  if (name.tenant != principal.tenant()) {
    return absl::NotFoundError(not_found);
  }
  absl::StatusOr<StoredCall> call = store_->Get(name.tenant, name.call_id);
  if (absl::IsNotFound(call.status())) return absl::NotFoundError(not_found);
  return call;
}

absl::StatusOr<std::optional<std::string>> Broker::Replay(
    const v1::Principal& principal, const std::string& request_id,
    const std::string& fingerprint) {
  if (request_id.empty()) return std::optional<std::string>();
  absl::StatusOr<std::optional<IdempotencyRecord>> record =
      store_->GetIdempotency(principal.tenant(), request_id);
  if (!record.ok()) return record.status();
  if (!record->has_value()) return std::optional<std::string>();
  if ((*record)->fingerprint != fingerprint) {
    return absl::InvalidArgumentError(absl::StrCat(
        "request_id '", request_id,
        "' was already used for a different request; use a new request_id"));
  }
  return std::optional<std::string>((*record)->response);
}

std::optional<IdempotencyRecord> Broker::Remember(
    const v1::Principal& principal, const std::string& request_id,
    const std::string& fingerprint, const std::string& response) {
  if (request_id.empty()) return std::nullopt;
  return IdempotencyRecord{principal.tenant(), request_id, fingerprint,
                           response};
}

std::string Broker::EngineAddress(const StoredCall& call) const {
  absl::StatusOr<EngineRecord> engine = engines_->Get(call.engine_id);
  if (engine.ok()) return engine->control_address;
  return call.engine_control_address;
}

absl::Status Broker::ApplyRouting(StoredCall& call) {
  absl::StatusOr<std::vector<Route>> routing = CurrentRouting(call.record);
  if (!routing.ok()) return routing.status();
  v1::SetRoutingRequest request;
  request.set_room_id(call.record.name());
  request.set_request_id(MediaRequestId(call.record.tenant, "", "routing"));
  for (const Route& route : *routing) {
    v1::RoutingEntry* entry = request.add_entries();
    entry->set_source_leg_id(route.source);
    entry->set_sink_leg_id(route.sink);
    entry->set_gain(route.gain);
  }
  absl::StatusOr<v1::SetRoutingResponse> response =
      media_->SetRouting(EngineAddress(call), request);
  if (!response.ok()) return response.status();
  call.routing_generation = response->generation();
  return absl::OkStatus();
}

absl::Status Broker::Commit(StoredCall& call, const WriteExtras& extras) {
  absl::StatusOr<int64_t> version = store_->Update(call, extras);
  if (version.ok()) {
    call.version = *version;
    bell_.Ring();
    return absl::OkStatus();
  }
  if (absl::IsAborted(version.status())) {
    // Another replica changed the call after we read it, and we may have
    // already set our routing: put the winner's back.
    absl::StatusOr<StoredCall> winner =
        store_->Get(call.record.tenant, call.record.call_id);
    if (winner.ok() && !IsEnded(winner->record)) (void)ApplyRouting(*winner);
  }
  return version.status();
}

absl::StatusOr<StoredCall> Broker::MutateCall(
    const CallName& name, const ChangeFn& change,
    const std::function<std::optional<IdempotencyRecord>(const StoredCall&)>&
        remember) {
  std::lock_guard<std::mutex> lock(LockFor(name.tenant, name.call_id));
  absl::StatusOr<StoredCall> call = store_->Get(name.tenant, name.call_id);
  if (!call.ok()) return call.status();
  absl::StatusOr<std::vector<v1::Event>> events = change(*call);
  if (!events.ok()) return events.status();
  WriteExtras extras;
  extras.events = *std::move(events);
  extras.idempotency = remember(*call);
  if (extras.events.empty() && !extras.idempotency.has_value()) return call;
  absl::Status committed = Commit(*call, extras);
  if (!committed.ok()) return committed;
  FollowRecording(*call, extras.events);
  return call;
}

// ---------------------------------------------------------------------------
// Calls

absl::StatusOr<v1::Call> Broker::RegisterCall(
    const std::string& token, const v1::RegisterCallRequest& request) {
  absl::StatusOr<v1::Principal> principal = Authenticate(token);
  if (!principal.ok()) return principal.status();
  absl::StatusOr<std::string> tenant = ParseParent("parent", request.parent());
  if (!tenant.ok()) return tenant.status();
  if (*tenant != principal->tenant()) {
    return absl::PermissionDeniedError(
        "parent: your token may not register calls for that tenant");
  }
  if (!ValidId(request.call_id())) {
    return absl::InvalidArgumentError(
        "call_id is required: 1-128 characters [A-Za-z0-9._~-]");
  }
  if (request.request_id().empty()) {
    return absl::InvalidArgumentError("request_id is required");
  }
  if (!request.has_customer() || !request.customer().has_media()) {
    return absl::InvalidArgumentError("customer.media is required");
  }
  if (!request.has_agent() || !request.agent().has_media()) {
    return absl::InvalidArgumentError("agent.media is required");
  }
  if (request.agent().user_id().empty() || request.agent().team().empty()) {
    return absl::InvalidArgumentError(
        "agent.user_id and agent.team are required");
  }
  if (absl::Status s =
          ValidateOffer("customer.media", request.customer().media());
      !s.ok()) {
    return s;
  }
  if (absl::Status s = ValidateOffer("agent.media", request.agent().media());
      !s.ok()) {
    return s;
  }
  if (absl::Status s = ValidateAttributes(request.attributes()); !s.ok()) {
    return s;
  }

  const std::string fingerprint =
      Fingerprint(*principal, "RegisterCall", request);
  absl::StatusOr<std::optional<std::string>> replay =
      Replay(*principal, request.request_id(), fingerprint);
  if (!replay.ok()) return replay.status();
  if (replay->has_value()) return Parse<v1::Call>(**replay);

  const absl::Time now = options_.clock();
  StoredCall call;
  CallRecord& record = call.record;
  record.tenant = *tenant;
  record.call_id = request.call_id();
  record.queue = request.queue();
  record.state = CallState::kActive;
  for (const auto& [key, value] : request.attributes()) {
    record.attributes[key] = value;
  }
  record.monitoring_disclosed = request.monitoring_disclosed();
  record.create_time = now;
  ParticipantRecord customer;
  customer.id = "customer";
  customer.role = v1::ROLE_CUSTOMER;
  customer.join_time = now;
  ParticipantRecord agent;
  agent.id = absl::StrCat("agent-", record.next_agent++);
  agent.role = v1::ROLE_AGENT;
  agent.user_id = request.agent().user_id();
  agent.team = request.agent().team();
  agent.join_time = now;
  record.participants = {customer, agent};
  if (!request.customer().display_name().empty()) {
    call.display_names[customer.id] = request.customer().display_name();
  }
  if (!request.agent().display_name().empty()) {
    call.display_names[agent.id] = request.agent().display_name();
  }

  absl::StatusOr<v1::Decision> decision = Require(
      *principal, v1::ACTION_CALLS_MANAGE, record, v1::MODE_UNSPECIFIED);
  if (!decision.ok()) return decision.status();

  std::lock_guard<std::mutex> lock(LockFor(record.tenant, record.call_id));
  absl::StatusOr<StoredCall> existing =
      store_->Get(record.tenant, record.call_id);
  if (existing.ok()) {
    return absl::AlreadyExistsError(absl::StrCat(
        "call ", record.name(), " is already registered (by another request)"));
  }
  if (!absl::IsNotFound(existing.status())) return existing.status();

  absl::StatusOr<EngineRecord> engine = engines_->Place(now);
  if (!engine.ok()) return engine.status();
  call.engine_id = engine->engine_id;
  call.engine_control_address = engine->control_address;
  auto undo = [&] {
    v1::DeleteRoomRequest remove;
    remove.set_room_id(record.name());
    remove.set_request_id(MediaRequestId(record.tenant, "", "undo"));
    (void)media_->DeleteRoom(call.engine_control_address, remove);
    engines_->Release(call.engine_id);
  };
  for (const auto& [participant, spec, field] :
       {std::tuple{customer.id, &request.customer(), "customer.media"},
        std::tuple{agent.id, &request.agent(), "agent.media"}}) {
    v1::AddLegRequest add;
    add.set_room_id(record.name());
    add.set_leg_id(participant);
    *add.mutable_offer() = spec->media();
    add.set_request_id(
        MediaRequestId(record.tenant, request.request_id(), participant));
    absl::StatusOr<v1::Leg> leg =
        media_->AddLeg(call.engine_control_address, add);
    if (!leg.ok()) {
      undo();
      return InCallersTerms(leg.status(), field);
    }
    call.answers[participant] = leg->answer();
  }
  if (absl::Status routed = ApplyRouting(call); !routed.ok()) {
    undo();
    return routed;
  }

  WriteExtras extras;
  extras.events.push_back(
      MakeCallEvent(record, v1::EVENT_TYPE_CALL_REGISTERED, now));
  extras.events.back().set_actor(principal->subject());
  for (v1::Event& event : StartRecording(call, now)) {
    extras.events.push_back(std::move(event));
  }
  CallView view = ViewFor(*principal, /*manager=*/true, now);
  v1::Call response = CallToProto(call, view);
  extras.idempotency = Remember(*principal, request.request_id(), fingerprint,
                                Serialize(response));
  absl::Status created = store_->Create(call, extras);
  if (!created.ok()) {
    if (absl::IsAlreadyExists(created)) {
      // A concurrent replica registered it (maybe this very request).
      absl::StatusOr<std::optional<std::string>> again =
          Replay(*principal, request.request_id(), fingerprint);
      if (again.ok() && again->has_value()) return Parse<v1::Call>(**again);
      return absl::AlreadyExistsError(
          absl::StrCat("call ", record.name(), " is already registered"));
    }
    if (!record.recording.empty() && options_.recorder != nullptr) {
      v1::StopRecordingRequest stop;
      stop.set_name(record.recording);
      (void)options_.recorder->Stop(stop);
    }
    undo();
    return created;
  }
  bell_.Ring();
  return response;
}

absl::StatusOr<v1::Call> Broker::GetCall(const std::string& token,
                                         const v1::GetCallRequest& request) {
  absl::StatusOr<v1::Principal> principal = Authenticate(token);
  if (!principal.ok()) return principal.status();
  CallName name;
  {
    std::vector<absl::string_view> parts = absl::StrSplit(request.name(), '/');
    if (parts.size() != 4 || parts[0] != "tenants" || parts[2] != "calls" ||
        !ValidId(parts[1]) || !ValidId(parts[3])) {
      return BadName("name", "tenants/{tenant}/calls/{call}");
    }
    name = {std::string(parts[1]), std::string(parts[3]), ""};
  }
  absl::StatusOr<StoredCall> call = LoadVisible(*principal, name);
  if (!call.ok()) return call.status();
  // Integrators manage calls (and see their legs' keys); supervisors view.
  bool manager = false;
  if (absl::Status s = RequireViewer(*principal, call->record, &manager);
      !s.ok()) {
    return s;
  }
  return CallToProto(*call, ViewFor(*principal, manager, options_.clock()));
}

absl::StatusOr<v1::ListCallsResponse> Broker::ListCalls(
    const std::string& token, const v1::ListCallsRequest& request) {
  absl::StatusOr<v1::Principal> principal = Authenticate(token);
  if (!principal.ok()) return principal.status();
  absl::StatusOr<std::string> tenant = ParseParent("parent", request.parent());
  if (!tenant.ok()) return tenant.status();
  if (*tenant != principal->tenant()) {
    return absl::NotFoundError(absl::StrCat("no tenant ", *tenant));
  }
  if (request.page_size() < 0) {
    return absl::InvalidArgumentError("page_size must not be negative");
  }
  CallQuery query;
  query.tenant = *tenant;
  query.queue = request.queue();
  query.team = request.team();
  query.agent_id = request.agent_id();
  query.limit = request.page_size() == 0
                    ? kDefaultPageSize
                    : std::min(request.page_size(), kMaxPageSize);
  if (request.states().empty()) {
    query.states = {CallState::kActive, CallState::kOnHold};
  }
  for (int state : request.states()) {
    if (!v1::Call::State_IsValid(state) ||
        state == v1::Call::STATE_UNSPECIFIED) {
      return absl::InvalidArgumentError("states: unknown state");
    }
    query.states.push_back(
        CallStateFromProto(static_cast<v1::Call::State>(state)));
  }
  // The token binds the filters it was made for (AIP-158).
  v1::ListCallsRequest filters = request;
  filters.clear_page_token();
  filters.clear_page_size();
  const std::string filter_digest =
      Fingerprint(*principal, "ListCalls", filters).substr(0, 80);
  if (!request.page_token().empty()) {
    std::string decoded;
    std::vector<std::string> parts;
    int64_t micros = 0;
    if (absl::WebSafeBase64Unescape(request.page_token(), &decoded)) {
      parts = absl::StrSplit(decoded, absl::MaxSplits('\n', 2));
    }
    if (parts.size() != 3 || parts[0] != filter_digest ||
        !absl::SimpleAtoi(parts[1], &micros)) {
      return absl::InvalidArgumentError(
          "page_token is not from a previous ListCalls with these filters");
    }
    query.after = std::make_pair(absl::FromUnixMicros(micros), parts[2]);
  }
  absl::StatusOr<CallPage> page = store_->List(query);
  if (!page.ok()) return page.status();

  v1::ListCallsResponse response;
  const absl::Time now = options_.clock();
  // Calls outside the caller's grants are left out, not refused; decisions
  // are asked once per distinct (queue, agent, team, disclosure).
  std::map<std::string, std::pair<bool, bool>> decisions;  // visible, manager
  for (const StoredCall& call : page->calls) {
    const ParticipantRecord* agent = call.record.Agent();
    const std::string key = absl::StrCat(
        call.record.queue, "\n", agent ? agent->user_id : "", "\n",
        agent ? agent->team : "", "\n", call.record.monitoring_disclosed, "\n",
        call.record.attributes.size());
    auto found = decisions.find(key);
    if (found == decisions.end() || !call.record.attributes.empty()) {
      absl::StatusOr<Access> access = AccessTo(*principal, call.record);
      if (!access.ok()) return access.status();
      found = decisions
                  .insert_or_assign(key, std::pair{*access != Access::kNone,
                                                   *access == Access::kManage})
                  .first;
    }
    if (!found->second.first) continue;
    *response.add_calls() =
        CallToProto(call, ViewFor(*principal, found->second.second, now));
  }
  if (page->more && !page->calls.empty()) {
    const CallRecord& last = page->calls.back().record;
    response.set_next_page_token(absl::WebSafeBase64Escape(
        absl::StrCat(filter_digest, "\n", absl::ToUnixMicros(last.create_time),
                     "\n", last.call_id)));
  }
  return response;
}

namespace {

absl::StatusOr<std::pair<std::string, std::string>> ParseCallName(
    const std::string& name) {
  std::vector<absl::string_view> parts = absl::StrSplit(name, '/');
  if (parts.size() != 4 || parts[0] != "tenants" || parts[2] != "calls" ||
      !ValidId(parts[1]) || !ValidId(parts[3])) {
    return BadName("name", "tenants/{tenant}/calls/{call}");
  }
  return std::make_pair(std::string(parts[1]), std::string(parts[3]));
}

}  // namespace

template <typename Response>
absl::StatusOr<Response> Broker::ManageCall(
    const std::string& token, absl::string_view method,
    const google::protobuf::Message& request, const std::string& call_name,
    const std::string& request_id, const ManageFn& change,
    const std::function<Response(const StoredCall&, const CallView&)>& render,
    v1::Action action) {
  absl::StatusOr<v1::Principal> principal = Authenticate(token);
  if (!principal.ok()) return principal.status();
  auto parsed = ParseCallName(call_name);
  if (!parsed.ok()) return parsed.status();
  const CallName name{parsed->first, parsed->second, ""};
  absl::StatusOr<StoredCall> call = LoadVisible(*principal, name);
  if (!call.ok()) return call.status();
  absl::StatusOr<v1::Decision> decision =
      Require(*principal, action, call->record, v1::MODE_UNSPECIFIED);
  if (!decision.ok()) return decision.status();
  if (request_id.empty()) {
    return absl::InvalidArgumentError("request_id is required");
  }
  const std::string fingerprint = Fingerprint(*principal, method, request);
  absl::StatusOr<std::optional<std::string>> replay =
      Replay(*principal, request_id, fingerprint);
  if (!replay.ok()) return replay.status();
  if (replay->has_value()) return Parse<Response>(**replay);

  const absl::Time now = options_.clock();
  const CallView view = ViewFor(*principal, /*manager=*/true, now);
  absl::StatusOr<StoredCall> after = MutateCall(
      name,
      [&](StoredCall& c) -> absl::StatusOr<std::vector<v1::Event>> {
        absl::StatusOr<std::vector<v1::Event>> events = change(c, now);
        if (!events.ok() || events->empty()) return events;
        for (v1::Event& event : *events) {
          if (event.actor().empty()) event.set_actor(principal->subject());
        }
        return events;
      },
      [&](const StoredCall& c) {
        return Remember(*principal, request_id, fingerprint,
                        Serialize(render(c, view)));
      });
  if (!after.ok()) return after.status();
  return render(*after, view);
}

absl::StatusOr<v1::Call> Broker::EndCall(const std::string& token,
                                         const v1::EndCallRequest& request) {
  return ManageCall<v1::Call>(
      token, "EndCall", request, request.name(), request.request_id(),
      [&](StoredCall& c,
          absl::Time now) -> absl::StatusOr<std::vector<v1::Event>> {
        const std::string reason =
            request.reason().empty() ? "ended" : request.reason();
        absl::StatusOr<Change> change = End(c.record, false, reason, now);
        if (!change.ok()) return change.status();
        if (change->events.empty()) return change->events;  // already ended
        ReportQuality(c, {});
        v1::DeleteRoomRequest remove;
        remove.set_room_id(c.record.name());
        remove.set_request_id(
            MediaRequestId(c.record.tenant, request.request_id(), "end"));
        absl::Status removed = media_->DeleteRoom(EngineAddress(c), remove);
        if (!removed.ok() && !absl::IsNotFound(removed)) return removed;
        engines_->Release(c.engine_id);
        return change->events;
      },
      CallToProto);
}

absl::StatusOr<v1::Call> Broker::SetHeld(
    const std::string& token, const google::protobuf::Message& request,
    const std::string& call_name, const std::string& request_id, bool hold) {
  return ManageCall<v1::Call>(
      token, hold ? "HoldCall" : "ResumeCall", request, call_name, request_id,
      [&](StoredCall& c,
          absl::Time now) -> absl::StatusOr<std::vector<v1::Event>> {
        absl::StatusOr<Change> change = Hold(c.record, hold, now);
        if (!change.ok()) return change.status();
        if (change->events.empty()) return change->events;
        if (absl::Status s = ApplyRouting(c); !s.ok()) return s;
        return change->events;
      },
      CallToProto);
}

absl::StatusOr<v1::TransferCallResponse> Broker::TransferCall(
    const std::string& token, const v1::TransferCallRequest& request) {
  const v1::LegSpec& spec = request.new_agent();
  if (!ValidId(spec.user_id()) || spec.team().empty()) {
    return absl::InvalidArgumentError(
        "new_agent.user_id (1-128 characters [A-Za-z0-9._~-]) and "
        "new_agent.team are required");
  }
  if (!spec.has_media()) {
    return absl::InvalidArgumentError("new_agent.media is required");
  }
  if (absl::Status s = ValidateOffer("new_agent.media", spec.media());
      !s.ok()) {
    return s;
  }
  // What became of each supervision, filled by the change, read by render.
  std::vector<v1::TransferCallResponse::SupervisionOutcome> outcomes;
  return ManageCall<v1::TransferCallResponse>(
      token, "TransferCall", request, request.name(), request.request_id(),
      [&](StoredCall& c,
          absl::Time now) -> absl::StatusOr<std::vector<v1::Event>> {
        outcomes.clear();
        const ParticipantRecord* old_agent = c.record.Agent();
        if (old_agent == nullptr) {
          return absl::FailedPreconditionError(
              absl::StrCat("call ", c.record.name(), " has no agent"));
        }
        const std::string old_leg = old_agent->id;
        std::map<std::string, v1::Mode> modes_before;
        for (const SupervisionRecord& s : c.record.supervisions) {
          if (s.state == SupervisionState::kActive) {
            modes_before[s.id] = s.mode;
          }
        }
        ParticipantRecord agent;
        agent.user_id = spec.user_id();
        agent.team = spec.team();
        absl::Status asked = absl::OkStatus();
        // Policy is asked on each supervisor's behalf about the call as it
        // is after the transfer (Transfer adds the new agent first).
        auto decide = [&](const SupervisionRecord& s) {
          TransferDecision out;
          const v1::Principal supervisor = SupervisorOf(c.record, s);
          absl::StatusOr<v1::Decision> keep =
              Ask(supervisor, v1::ACTION_CALLS_SUPERVISE, c.record, s.mode);
          if (!keep.ok()) {
            asked = keep.status();
            return out;
          }
          out.rule = keep->rule();
          out.reason = keep->reason();
          if (keep->allowed()) {
            out.allowed = true;
            return out;
          }
          if (s.downgrade_to != v1::MODE_UNSPECIFIED &&
              s.downgrade_to != s.mode) {
            absl::StatusOr<v1::Decision> lower =
                Ask(supervisor, v1::ACTION_CALLS_SUPERVISE, c.record,
                    s.downgrade_to);
            if (!lower.ok()) {
              asked = lower.status();
              return out;
            }
            if (lower->allowed()) {
              out.downgrade_to = s.downgrade_to;
              out.rule = lower->rule();
              out.reason = absl::StrCat(
                  "policy does not allow ", v1::Mode_Name(s.mode),
                  " on the new agent; downgraded to ",
                  v1::Mode_Name(s.downgrade_to), " (rule ", lower->rule(), ")");
            }
          }
          return out;
        };
        absl::StatusOr<Change> change = Transfer(c.record, agent, decide, now);
        if (!change.ok()) return change.status();
        if (!asked.ok()) return asked;  // policy unreachable: change nothing
        const ParticipantRecord* added = c.record.Agent();
        if (!spec.display_name().empty()) {
          c.display_names[added->id] = spec.display_name();
        }
        v1::AddLegRequest add;
        add.set_room_id(c.record.name());
        add.set_leg_id(added->id);
        *add.mutable_offer() = spec.media();
        add.set_request_id(
            MediaRequestId(c.record.tenant, request.request_id(), added->id));
        absl::StatusOr<v1::Leg> leg = media_->AddLeg(EngineAddress(c), add);
        if (!leg.ok()) return InCallersTerms(leg.status(), "new_agent.media");
        c.answers[added->id] = leg->answer();
        // The new matrix first (the customer hears the new agent at once),
        // then the legs that left.
        if (absl::Status routed = ApplyRouting(c); !routed.ok()) {
          v1::RemoveLegRequest undo;
          undo.set_room_id(c.record.name());
          undo.set_leg_id(added->id);
          undo.set_request_id(
              MediaRequestId(c.record.tenant, "", "undo-transfer"));
          (void)media_->RemoveLeg(EngineAddress(c), undo);
          return routed;
        }
        std::vector<std::string> gone = {old_leg};
        ReportQuality(c, {old_leg});
        for (const SupervisionRecord& s : c.record.supervisions) {
          auto before = modes_before.find(s.id);
          if (before == modes_before.end()) continue;
          v1::TransferCallResponse::SupervisionOutcome outcome;
          outcome.set_supervision(
              absl::StrCat(c.record.name(), "/supervisions/", s.id));
          if (s.state != SupervisionState::kActive) {
            outcome.set_outcome(
                v1::TransferCallResponse::SupervisionOutcome::DETACHED);
            outcome.set_reason(s.end_reason);
            gone.push_back(s.participant);
          } else if (s.mode != before->second) {
            outcome.set_outcome(
                v1::TransferCallResponse::SupervisionOutcome::DOWNGRADED);
            outcome.set_mode(s.mode);
          } else {
            outcome.set_outcome(
                v1::TransferCallResponse::SupervisionOutcome::KEPT);
            outcome.set_mode(s.mode);
          }
          outcomes.push_back(std::move(outcome));
        }
        for (const v1::Event& event : change->events) {
          for (auto& outcome : outcomes) {
            if (event.supervision() == outcome.supervision()) {
              outcome.set_policy_rule(event.policy_rule());
              if (outcome.reason().empty()) outcome.set_reason(event.reason());
            }
          }
        }
        for (const std::string& leg_id : gone) {
          v1::RemoveLegRequest remove;
          remove.set_room_id(c.record.name());
          remove.set_leg_id(leg_id);
          remove.set_request_id(MediaRequestId(
              c.record.tenant, request.request_id(), "transfer-remove"));
          absl::Status removed = media_->RemoveLeg(EngineAddress(c), remove);
          if (!removed.ok() && !absl::IsNotFound(removed)) {
            // The routing no longer includes the leg: it is silent; the
            // engine drops it when the call ends.
            service_kit::LogWarning(
                "transfer: removing a leg failed",
                {{"call", c.record.name()},
                 {"leg", leg_id},
                 {"error", std::string(removed.message())}});
          }
        }
        if (!request.reason().empty()) {
          change->events.front().set_reason(request.reason());
        }
        return change->events;
      },
      [&](const StoredCall& c, const CallView& view) {
        v1::TransferCallResponse response;
        *response.mutable_call() = CallToProto(c, view);
        for (const auto& outcome : outcomes)
          *response.add_supervision_outcomes() = outcome;
        return response;
      });
}

absl::StatusOr<v1::Call> Broker::UpdateCall(
    const std::string& token, const v1::UpdateCallRequest& request) {
  const std::set<std::string> allowed = {
      "queue", "attributes", "monitoring_disclosed", "agent_declined_whisper"};
  if (request.update_mask().paths().empty()) {
    return absl::InvalidArgumentError(
        "update_mask is required: any of queue, attributes, "
        "monitoring_disclosed, agent_declined_whisper");
  }
  for (const std::string& path : request.update_mask().paths()) {
    if (allowed.count(path) == 0) {
      return absl::InvalidArgumentError(
          absl::StrCat("update_mask: \"", path,
                       "\" cannot be changed; only queue, attributes, "
                       "monitoring_disclosed, agent_declined_whisper"));
    }
  }
  if (absl::Status s = ValidateAttributes(request.call().attributes());
      !s.ok()) {
    return s;
  }
  return ManageCall<v1::Call>(
      token, "UpdateCall", request, request.call().name(), request.request_id(),
      [&](StoredCall& c,
          absl::Time now) -> absl::StatusOr<std::vector<v1::Event>> {
        if (IsEnded(c.record)) {
          return absl::FailedPreconditionError(
              absl::StrCat("call ", c.record.name(), " has ended"));
        }
        std::vector<std::string> changed;
        for (const std::string& path : request.update_mask().paths()) {
          if (path == "queue") {
            c.record.queue = request.call().queue();
          } else if (path == "attributes") {
            c.record.attributes.clear();
            for (const auto& [key, value] : request.call().attributes()) {
              c.record.attributes[key] = value;
            }
          } else if (path == "monitoring_disclosed") {
            c.record.monitoring_disclosed =
                request.call().monitoring_disclosed();
          } else {
            c.record.agent_declined_whisper =
                request.call().agent_declined_whisper();
          }
          changed.push_back(path);
        }
        v1::Event event =
            MakeCallEvent(c.record, v1::EVENT_TYPE_CALL_UPDATED, now);
        event.set_reason(absl::StrJoin(changed, ", "));
        std::vector<v1::Event> events = {event};
        // Whispers policy no longer allows (the agent declined, say) drop
        // to LISTEN at once, each asked on its supervisor's behalf.
        bool lowered = false;
        for (const SupervisionRecord& s : c.record.supervisions) {
          if (s.state != SupervisionState::kActive ||
              s.mode != v1::MODE_WHISPER) {
            continue;
          }
          absl::StatusOr<v1::Decision> still =
              Ask(SupervisorOf(c.record, s), v1::ACTION_CALLS_SUPERVISE,
                  c.record, v1::MODE_WHISPER);
          if (!still.ok()) return still.status();
          if (still->allowed()) continue;
          absl::StatusOr<Change> change =
              Downgrade(c.record, s.id, v1::MODE_LISTEN, still->rule(),
                        still->reason(), now);
          if (!change.ok()) return change.status();
          for (v1::Event& e : change->events) events.push_back(std::move(e));
          lowered = true;
        }
        if (lowered) {
          if (absl::Status routed = ApplyRouting(c); !routed.ok()) {
            return routed;
          }
        }
        return events;
      },
      CallToProto);
}

absl::StatusOr<v1::Participant> Broker::UpdateParticipantMedia(
    const std::string& token,
    const v1::UpdateParticipantMediaRequest& request) {
  std::vector<absl::string_view> parts =
      absl::StrSplit(request.participant(), '/');
  if (parts.size() != 6 || parts[0] != "tenants" || parts[2] != "calls" ||
      parts[4] != "participants" || !ValidId(parts[1]) || !ValidId(parts[3]) ||
      !ValidId(parts[5])) {
    return BadName("participant",
                   "tenants/{tenant}/calls/{call}/participants/{participant}");
  }
  const std::string call_name =
      absl::StrCat("tenants/", parts[1], "/calls/", parts[3]);
  const std::string participant_id(parts[5]);
  if (!request.has_media()) {
    return absl::InvalidArgumentError("media is required");
  }
  if (absl::Status s = ValidateOffer("media", request.media()); !s.ok()) {
    return s;
  }
  return ManageCall<v1::Participant>(
      token, "UpdateParticipantMedia", request, call_name, request.request_id(),
      [&](StoredCall& c,
          absl::Time now) -> absl::StatusOr<std::vector<v1::Event>> {
        if (IsEnded(c.record)) {
          return absl::FailedPreconditionError(
              absl::StrCat("call ", c.record.name(), " has ended"));
        }
        const ParticipantRecord* p = nullptr;
        for (const ParticipantRecord& candidate : c.record.participants) {
          if (candidate.id == participant_id) p = &candidate;
        }
        if (p == nullptr) {
          return absl::NotFoundError(
              absl::StrCat("no participant ", request.participant()));
        }
        if (p->role == v1::ROLE_SUPERVISOR) {
          return absl::FailedPreconditionError(
              "a supervisor's media belongs to its supervision");
        }
        if (!p->connected) {
          return absl::FailedPreconditionError(absl::StrCat(
              "participant ", request.participant(), " has left the call"));
        }
        v1::UpdateLegRequest update;
        update.set_room_id(c.record.name());
        update.set_leg_id(participant_id);
        *update.mutable_offer() = request.media();
        update.set_request_id(MediaRequestId(
            c.record.tenant, request.request_id(), "update-media"));
        absl::StatusOr<v1::Leg> leg =
            media_->UpdateLeg(EngineAddress(c), update);
        if (!leg.ok()) return InCallersTerms(leg.status(), "media");
        // The engine keeps our local key unless asked to rotate it: keep
        // the one the endpoint already has when the answer carries none.
        v1::MediaAnswer answer = leg->answer();
        if (answer.local_key().inline_key().empty()) {
          *answer.mutable_local_key() = c.answers[participant_id].local_key();
        }
        c.answers[participant_id] = answer;
        v1::Event event = MakeCallEvent(
            c.record, v1::EVENT_TYPE_PARTICIPANT_MEDIA_UPDATED, now);
        event.set_reason(absl::StrCat("participant ", participant_id));
        return std::vector<v1::Event>{event};
      },
      [&](const StoredCall& c, const CallView& view) {
        v1::Call call = CallToProto(c, view);
        for (const v1::Participant& p : call.participants()) {
          if (p.name() == request.participant()) return p;
        }
        return v1::Participant();
      });
}

absl::StatusOr<v1::Call> Broker::PauseCallRecording(
    const std::string& token, const v1::PauseCallRecordingRequest& request) {
  return ManageCall<v1::Call>(
      token, "PauseCallRecording", request, request.name(),
      request.request_id(),
      [&](StoredCall& c,
          absl::Time now) -> absl::StatusOr<std::vector<v1::Event>> {
        if (c.record.recording.empty() || options_.recorder == nullptr) {
          return absl::FailedPreconditionError(absl::StrCat(
              "call ", c.record.name(),
              " is not being recorded (the tenant's recording policy, or no "
              "recorder)"));
        }
        v1::PauseRecordingRequest pause;
        pause.set_name(c.record.recording);
        pause.set_reason(request.reason());
        pause.set_request_id(
            MediaRequestId(c.record.tenant, request.request_id(), "pause"));
        absl::StatusOr<v1::Recording> paused = options_.recorder->Pause(pause);
        if (!paused.ok()) return paused.status();
        v1::Event event =
            MakeCallEvent(c.record, v1::EVENT_TYPE_RECORDING_PAUSED, now);
        event.set_recording(c.record.recording);
        event.set_reason(request.reason());
        return std::vector<v1::Event>{event};
      },
      CallToProto, v1::ACTION_RECORDINGS_CONTROL);
}

absl::StatusOr<v1::Call> Broker::ResumeCallRecording(
    const std::string& token, const v1::ResumeCallRecordingRequest& request) {
  return ManageCall<v1::Call>(
      token, "ResumeCallRecording", request, request.name(),
      request.request_id(),
      [&](StoredCall& c,
          absl::Time now) -> absl::StatusOr<std::vector<v1::Event>> {
        if (c.record.recording.empty() || options_.recorder == nullptr) {
          return absl::FailedPreconditionError(
              absl::StrCat("call ", c.record.name(), " is not being recorded"));
        }
        v1::ResumeRecordingRequest resume;
        resume.set_name(c.record.recording);
        resume.set_request_id(
            MediaRequestId(c.record.tenant, request.request_id(), "resume"));
        absl::StatusOr<v1::Recording> resumed =
            options_.recorder->Resume(resume);
        if (!resumed.ok()) return resumed.status();
        v1::Event event =
            MakeCallEvent(c.record, v1::EVENT_TYPE_RECORDING_RESUMED, now);
        event.set_recording(c.record.recording);
        return std::vector<v1::Event>{event};
      },
      CallToProto, v1::ACTION_RECORDINGS_CONTROL);
}

absl::StatusOr<v1::Call> Broker::HoldCall(const std::string& token,
                                          const v1::HoldCallRequest& request) {
  return SetHeld(token, request, request.name(), request.request_id(), true);
}

absl::StatusOr<v1::Call> Broker::ResumeCall(
    const std::string& token, const v1::ResumeCallRequest& request) {
  return SetHeld(token, request, request.name(), request.request_id(), false);
}

// ---------------------------------------------------------------------------
// Supervisions

namespace {

absl::StatusOr<std::tuple<std::string, std::string, std::string>>
ParseSupervisionName(const std::string& name) {
  std::vector<absl::string_view> parts = absl::StrSplit(name, '/');
  if (parts.size() != 6 || parts[0] != "tenants" || parts[2] != "calls" ||
      parts[4] != "supervisions" || !ValidId(parts[1]) || !ValidId(parts[3]) ||
      !ValidId(parts[5])) {
    return BadName("name",
                   "tenants/{tenant}/calls/{call}/supervisions/{supervision}");
  }
  return std::make_tuple(std::string(parts[1]), std::string(parts[3]),
                         std::string(parts[5]));
}

SupervisionGrant GrantFrom(const v1::Decision& decision) {
  SupervisionGrant grant;
  for (int mode : decision.supervision().allowed_modes()) {
    grant.allowed_modes.push_back(static_cast<v1::Mode>(mode));
  }
  grant.max_supervisors_per_call =
      static_cast<int>(decision.supervision().max_supervisors_per_call());
  grant.takeover_rank = decision.supervision().takeover_rank();
  grant.downgrade_to = decision.supervision().downgrade_to();
  return grant;
}

// Kept so that policy can be asked on the supervisor's behalf later
// (after a transfer), with its roles and teams as of its last request.
void RememberPrincipal(CallRecord& call, const std::string& supervision_id,
                       const v1::Principal& principal) {
  for (SupervisionRecord& s : call.supervisions) {
    if (s.id == supervision_id) principal.SerializeToString(&s.principal);
  }
}

absl::Status ValidateMode(v1::Mode mode) {
  if (mode == v1::MODE_UNSPECIFIED || !v1::Mode_IsValid(mode)) {
    return absl::InvalidArgumentError(
        "mode is required: MODE_LISTEN, MODE_WHISPER, MODE_BARGE or "
        "MODE_TAKEOVER");
  }
  return absl::OkStatus();
}

}  // namespace

absl::StatusOr<v1::Supervision> Broker::CreateSupervision(
    const std::string& token, const v1::CreateSupervisionRequest& request) {
  absl::StatusOr<v1::Principal> principal = Authenticate(token);
  if (!principal.ok()) return principal.status();
  std::vector<absl::string_view> parts = absl::StrSplit(request.parent(), '/');
  if (parts.size() != 4 || parts[0] != "tenants" || parts[2] != "calls" ||
      !ValidId(parts[1]) || !ValidId(parts[3])) {
    return BadName("parent", "tenants/{tenant}/calls/{call}");
  }
  const CallName name{std::string(parts[1]), std::string(parts[3]), ""};
  if (absl::Status s = ValidateMode(request.mode()); !s.ok()) return s;
  if (!request.has_media()) {
    return absl::InvalidArgumentError("media is required");
  }
  if (absl::Status s = ValidateOffer("media", request.media()); !s.ok()) {
    return s;
  }
  if (request.request_id().empty()) {
    return absl::InvalidArgumentError("request_id is required");
  }
  absl::StatusOr<StoredCall> call = LoadVisible(*principal, name);
  if (!call.ok()) return call.status();
  const std::string fingerprint =
      Fingerprint(*principal, "CreateSupervision", request);
  absl::StatusOr<std::optional<std::string>> replay =
      Replay(*principal, request.request_id(), fingerprint);
  if (!replay.ok()) return replay.status();
  if (replay->has_value()) return Parse<v1::Supervision>(**replay);
  absl::StatusOr<v1::Decision> decision =
      Require(*principal, v1::ACTION_CALLS_SUPERVISE, call->record,
              request.mode(), request.reason());
  if (!decision.ok()) return decision.status();
  const SupervisionGrant grant = GrantFrom(*decision);

  const absl::Time now = options_.clock();
  const CallView view = ViewFor(*principal, /*manager=*/false, now);
  std::string supervision_id;
  absl::StatusOr<StoredCall> after = MutateCall(
      name,
      [&](StoredCall& c) -> absl::StatusOr<std::vector<v1::Event>> {
        absl::StatusOr<Change> change =
            Attach(c.record, principal->subject(), request.mode(), grant, now,
                   &supervision_id);
        if (!change.ok()) return change.status();
        RememberPrincipal(c.record, supervision_id, *principal);
        const SupervisionRecord* s = c.record.FindSupervision(supervision_id);
        v1::AddLegRequest add;
        add.set_room_id(c.record.name());
        add.set_leg_id(s->participant);
        *add.mutable_offer() = request.media();
        add.set_request_id(MediaRequestId(c.record.tenant, request.request_id(),
                                          s->participant));
        absl::StatusOr<v1::Leg> leg = media_->AddLeg(EngineAddress(c), add);
        if (!leg.ok()) return InCallersTerms(leg.status(), "media");
        c.answers[s->participant] = leg->answer();
        if (!request.display_name().empty()) {
          c.display_names[s->participant] = request.display_name();
        }
        if (absl::Status routed = ApplyRouting(c); !routed.ok()) {
          v1::RemoveLegRequest remove;
          remove.set_room_id(c.record.name());
          remove.set_leg_id(s->participant);
          remove.set_request_id(
              MediaRequestId(c.record.tenant, "", "undo-supervisor"));
          (void)media_->RemoveLeg(EngineAddress(c), remove);
          return routed;
        }
        PlayCues(c, v1::MODE_UNSPECIFIED, request.mode(), *decision);
        return change->events;
      },
      [&](const StoredCall& c) {
        return Remember(
            *principal, request.request_id(), fingerprint,
            Serialize(SupervisionToProto(
                c, *c.record.FindSupervision(supervision_id), view)));
      });
  if (!after.ok()) return after.status();
  return SupervisionToProto(
      *after, *after->record.FindSupervision(supervision_id), view);
}

absl::StatusOr<v1::Supervision> Broker::SetSupervisionMode(
    const std::string& token, const v1::SetSupervisionModeRequest& request) {
  absl::StatusOr<v1::Principal> principal = Authenticate(token);
  if (!principal.ok()) return principal.status();
  auto parsed = ParseSupervisionName(request.name());
  if (!parsed.ok()) return parsed.status();
  const auto& [tenant, call_id, supervision_id] = *parsed;
  const CallName name{tenant, call_id, supervision_id};
  if (absl::Status s = ValidateMode(request.mode()); !s.ok()) return s;
  if (request.request_id().empty()) {
    return absl::InvalidArgumentError("request_id is required");
  }
  absl::StatusOr<StoredCall> call = LoadVisible(*principal, name);
  if (!call.ok()) return call.status();
  const SupervisionRecord* existing =
      call->record.FindSupervision(supervision_id);
  if (existing == nullptr) {
    return absl::NotFoundError(absl::StrCat("no supervision ", request.name()));
  }
  if (existing->supervisor != principal->subject()) {
    return absl::PermissionDeniedError(
        "only the supervisor of a supervision may switch its mode");
  }
  const std::string fingerprint =
      Fingerprint(*principal, "SetSupervisionMode", request);
  absl::StatusOr<std::optional<std::string>> replay =
      Replay(*principal, request.request_id(), fingerprint);
  if (!replay.ok()) return replay.status();
  if (replay->has_value()) return Parse<v1::Supervision>(**replay);
  absl::StatusOr<v1::Decision> decision =
      Require(*principal, v1::ACTION_CALLS_SUPERVISE, call->record,
              request.mode(), request.reason());
  if (!decision.ok()) return decision.status();
  const SupervisionGrant grant = GrantFrom(*decision);

  const absl::Time now = options_.clock();
  const CallView view = ViewFor(*principal, /*manager=*/false, now);
  absl::StatusOr<StoredCall> after = MutateCall(
      name,
      [&](StoredCall& c) -> absl::StatusOr<std::vector<v1::Event>> {
        const SupervisionRecord* before =
            c.record.FindSupervision(supervision_id);
        const v1::Mode existing_mode =
            before == nullptr ? v1::MODE_UNSPECIFIED : before->mode;
        absl::StatusOr<Change> change =
            SetMode(c.record, supervision_id, request.mode(),
                    request.preempt_takeover(), grant, now);
        const v1::Mode previous_mode = existing_mode;
        if (!change.ok()) return change.status();
        RememberPrincipal(c.record, supervision_id, *principal);
        if (change->events.empty()) return change->events;  // same mode
        // Returns once the engine mixes by the new matrix.
        if (absl::Status routed = ApplyRouting(c); !routed.ok()) return routed;
        PlayCues(c, previous_mode, request.mode(), *decision);
        if (!request.reason().empty()) {
          change->events.back().set_reason(request.reason());
        }
        return change->events;
      },
      [&](const StoredCall& c) {
        return Remember(
            *principal, request.request_id(), fingerprint,
            Serialize(SupervisionToProto(
                c, *c.record.FindSupervision(supervision_id), view)));
      });
  if (!after.ok()) return after.status();
  return SupervisionToProto(
      *after, *after->record.FindSupervision(supervision_id), view);
}

absl::StatusOr<v1::Supervision> Broker::DeleteSupervision(
    const std::string& token, const v1::DeleteSupervisionRequest& request) {
  absl::StatusOr<v1::Principal> principal = Authenticate(token);
  if (!principal.ok()) return principal.status();
  auto parsed = ParseSupervisionName(request.name());
  if (!parsed.ok()) return parsed.status();
  const auto& [tenant, call_id, supervision_id] = *parsed;
  const CallName name{tenant, call_id, supervision_id};
  absl::StatusOr<StoredCall> call = LoadVisible(*principal, name);
  if (!call.ok()) return call.status();
  const SupervisionRecord* existing =
      call->record.FindSupervision(supervision_id);
  if (existing == nullptr) {
    return absl::NotFoundError(absl::StrCat("no supervision ", request.name()));
  }
  const std::string fingerprint =
      Fingerprint(*principal, "DeleteSupervision", request);
  absl::StatusOr<std::optional<std::string>> replay =
      Replay(*principal, request.request_id(), fingerprint);
  if (!replay.ok()) return replay.status();
  if (replay->has_value()) return Parse<v1::Supervision>(**replay);
  // The supervisor releases its own; whoever manages calls may too.
  if (existing->supervisor != principal->subject()) {
    absl::StatusOr<v1::Decision> decision =
        Require(*principal, v1::ACTION_CALLS_MANAGE, call->record,
                v1::MODE_UNSPECIFIED);
    if (!decision.ok()) return decision.status();
  }
  const absl::Time now = options_.clock();
  const CallView view = ViewFor(*principal, /*manager=*/false, now);
  absl::StatusOr<StoredCall> after = MutateCall(
      name,
      [&](StoredCall& c) -> absl::StatusOr<std::vector<v1::Event>> {
        const SupervisionRecord* s = c.record.FindSupervision(supervision_id);
        const bool was_active = s->state == SupervisionState::kActive;
        const std::string participant = s->participant;
        absl::StatusOr<Change> change = Release(c.record, supervision_id, now);
        if (!change.ok()) return change.status();
        if (!was_active || IsEnded(c.record)) return change->events;
        ReportQuality(c, {participant});
        v1::RemoveLegRequest remove;
        remove.set_room_id(c.record.name());
        remove.set_leg_id(participant);
        remove.set_request_id(
            MediaRequestId(c.record.tenant, request.request_id(), "release"));
        absl::Status removed = media_->RemoveLeg(EngineAddress(c), remove);
        if (!removed.ok() && !absl::IsNotFound(removed)) return removed;
        if (absl::Status routed = ApplyRouting(c); !routed.ok()) return routed;
        if (!change->events.empty()) {
          change->events.back().set_actor(principal->subject());
        }
        return change->events;
      },
      [&](const StoredCall& c) {
        return Remember(
            *principal, request.request_id(), fingerprint,
            Serialize(SupervisionToProto(
                c, *c.record.FindSupervision(supervision_id), view)));
      });
  if (!after.ok()) return after.status();
  return SupervisionToProto(
      *after, *after->record.FindSupervision(supervision_id), view);
}

absl::StatusOr<v1::Supervision> Broker::GetSupervision(
    const std::string& token, const v1::GetSupervisionRequest& request) {
  absl::StatusOr<v1::Principal> principal = Authenticate(token);
  if (!principal.ok()) return principal.status();
  auto parsed = ParseSupervisionName(request.name());
  if (!parsed.ok()) return parsed.status();
  const auto& [tenant, call_id, supervision_id] = *parsed;
  absl::StatusOr<StoredCall> call =
      LoadVisible(*principal, CallName{tenant, call_id, supervision_id});
  if (!call.ok()) return call.status();
  const SupervisionRecord* s = call->record.FindSupervision(supervision_id);
  if (s == nullptr) {
    return absl::NotFoundError(absl::StrCat("no supervision ", request.name()));
  }
  if (s->supervisor != principal->subject()) {
    bool manager = false;
    if (absl::Status viewer = RequireViewer(*principal, call->record, &manager);
        !viewer.ok()) {
      return viewer;
    }
  }
  return SupervisionToProto(
      *call, *s, ViewFor(*principal, /*manager=*/false, options_.clock()));
}

absl::StatusOr<Broker::Access> Broker::AccessTo(const v1::Principal& principal,
                                                const CallRecord& call) {
  // As RequireViewer: the decision that settles it is audited.
  absl::StatusOr<v1::Decision> manage =
      Ask(principal, v1::ACTION_CALLS_MANAGE, call, v1::MODE_UNSPECIFIED, "",
          /*audit=*/false);
  if (!manage.ok()) return manage.status();
  if (manage->allowed()) {
    Audit(principal, v1::ACTION_CALLS_MANAGE, call, v1::MODE_UNSPECIFIED, "",
          *manage);
    return Access::kManage;
  }
  absl::StatusOr<v1::Decision> view =
      Ask(principal, v1::ACTION_CALLS_VIEW, call, v1::MODE_UNSPECIFIED);
  if (!view.ok()) return view.status();
  return view->allowed() ? Access::kView : Access::kNone;
}

absl::StatusOr<v1::ListSupervisionsResponse> Broker::ListSupervisions(
    const std::string& token, const v1::ListSupervisionsRequest& request) {
  absl::StatusOr<v1::Principal> principal = Authenticate(token);
  if (!principal.ok()) return principal.status();
  std::vector<absl::string_view> parts = absl::StrSplit(request.parent(), '/');
  const bool all_calls = parts.size() == 4 && parts[3] == "-";
  if (parts.size() != 4 || parts[0] != "tenants" || parts[2] != "calls" ||
      !ValidId(parts[1]) || (!all_calls && !ValidId(parts[3]))) {
    return BadName("parent",
                   "tenants/{tenant}/calls/{call} or tenants/{tenant}/calls/-");
  }
  const std::string tenant(parts[1]);
  if (request.page_size() < 0) {
    return absl::InvalidArgumentError("page_size must not be negative");
  }
  const int page_size = request.page_size() == 0
                            ? kDefaultPageSize
                            : std::min(request.page_size(), kMaxPageSize);
  // The token binds the filters and carries an offset into the ordered
  // list (calls newest first, supervisions by id).
  v1::ListSupervisionsRequest filters = request;
  filters.clear_page_token();
  filters.clear_page_size();
  const std::string digest =
      Fingerprint(*principal, "ListSupervisions", filters).substr(0, 80);
  int64_t offset = 0;
  if (!request.page_token().empty()) {
    std::string decoded;
    std::vector<std::string> fields;
    if (absl::WebSafeBase64Unescape(request.page_token(), &decoded)) {
      fields = absl::StrSplit(decoded, absl::MaxSplits('\n', 1));
    }
    if (fields.size() != 2 || fields[0] != digest ||
        !absl::SimpleAtoi(fields[1], &offset) || offset < 0) {
      return absl::InvalidArgumentError(
          "page_token is not from a previous ListSupervisions with these "
          "filters");
    }
  }

  std::vector<StoredCall> calls;
  if (all_calls) {
    if (tenant != principal->tenant()) {
      return absl::NotFoundError(absl::StrCat("no tenant ", tenant));
    }
    CallQuery query;
    query.tenant = tenant;
    if (!request.include_ended()) {
      query.states = {CallState::kActive, CallState::kOnHold};
    }
    query.limit = kMaxPageSize;
    // Bounded: a tenant's whole history is a report, not a list.
    constexpr size_t kMaxCalls = 5000;
    while (calls.size() < kMaxCalls) {
      absl::StatusOr<CallPage> page = store_->List(query);
      if (!page.ok()) return page.status();
      for (StoredCall& call : page->calls) calls.push_back(std::move(call));
      if (!page->more || calls.empty()) break;
      query.after = std::make_pair(calls.back().record.create_time,
                                   calls.back().record.call_id);
    }
  } else {
    absl::StatusOr<StoredCall> call =
        LoadVisible(*principal, CallName{tenant, std::string(parts[3]), ""});
    if (!call.ok()) return call.status();
    calls.push_back(*std::move(call));
  }

  const CallView view =
      ViewFor(*principal, /*manager=*/false, options_.clock());
  v1::ListSupervisionsResponse response;
  int64_t index = 0;
  for (const StoredCall& call : calls) {
    std::optional<bool> viewer;  // asked once per call, when needed
    for (const SupervisionRecord& s : call.record.supervisions) {
      if (!request.include_ended() && s.state != SupervisionState::kActive) {
        continue;
      }
      if (!request.supervisor().empty() &&
          s.supervisor != request.supervisor()) {
        continue;
      }
      if (s.supervisor != principal->subject()) {
        if (!viewer.has_value()) {
          absl::StatusOr<Access> access = AccessTo(*principal, call.record);
          if (!access.ok()) return access.status();
          viewer = *access != Access::kNone;
        }
        if (!*viewer) continue;
      }
      if (index++ < offset) continue;
      if (response.supervisions_size() == page_size) {
        response.set_next_page_token(absl::WebSafeBase64Escape(
            absl::StrCat(digest, "\n", offset + page_size)));
        return response;
      }
      *response.add_supervisions() = SupervisionToProto(call, s, view);
    }
  }
  return response;
}

void Broker::PlayCues(const StoredCall& call, v1::Mode from, v1::Mode to,
                      const v1::Decision& decision) {
  const v1::SupervisionTerms& terms = decision.supervision();
  v1::PlayAudioRequest play;
  play.set_room_id(call.record.name());
  play.set_request_id(MediaRequestId(call.record.tenant, "", "cue"));
  const ParticipantRecord* agent = call.record.Agent();
  const bool whisper_starts =
      to == v1::MODE_WHISPER && from != v1::MODE_WHISPER;
  const bool customer_joined =
      (to == v1::MODE_BARGE || to == v1::MODE_TAKEOVER) &&
      from != v1::MODE_BARGE && from != v1::MODE_TAKEOVER;
  if (whisper_starts && terms.whisper_cue_tone() && agent != nullptr) {
    // Two short high beeps only the agent hears: "someone is coaching".
    play.add_sink_leg_ids(agent->id);
    v1::PlayAudioRequest::Tone* tone = play.mutable_tone();
    tone->set_frequency_hz(1000);
    tone->mutable_duration()->set_nanos(120'000'000);
    tone->set_repeat(1);
    tone->mutable_gap()->set_nanos(80'000'000);
    tone->set_level_dbfs(-20);
  } else if (customer_joined && terms.customer_announcement()) {
    play.add_sink_leg_ids("customer");
    if (!options_.customer_announcement_pcm.empty()) {
      play.set_pcm_s16le_8k(options_.customer_announcement_pcm);
    } else {
      // The monitoring notice tone: 1400 Hz, three short beeps.
      v1::PlayAudioRequest::Tone* tone = play.mutable_tone();
      tone->set_frequency_hz(1400);
      tone->mutable_duration()->set_nanos(200'000'000);
      tone->set_repeat(2);
      tone->mutable_gap()->set_nanos(150'000'000);
      tone->set_level_dbfs(-18);
    }
  } else {
    return;
  }
  // The mode is in force already; a cue that cannot play is logged, not
  // a reason to undo it.
  absl::Status played = media_->PlayAudio(EngineAddress(call), play);
  if (!played.ok()) {
    service_kit::LogWarning("cue could not be played",
                            {{"call", call.record.name()},
                             {"error", std::string(played.message())}});
  }
}

// ---------------------------------------------------------------------------
// Recording

std::vector<v1::Event> Broker::StartRecording(StoredCall& call,
                                              absl::Time now) {
  if (options_.recorder == nullptr) return {};
  CallRecord& record = call.record;
  auto failed = [&](absl::string_view why) {
    v1::Event event =
        MakeCallEvent(record, v1::EVENT_TYPE_RECORDING_FAILED, now);
    event.set_reason(std::string(why));
    service_kit::LogWarning(
        "recording did not start",
        {{"call", record.name()}, {"error", std::string(why)}});
    return std::vector<v1::Event>{event};
  };
  absl::StatusOr<v1::RecordingPolicy> policy =
      policy_->GetRecordingPolicy(record.tenant, record.queue);
  if (!policy.ok()) return failed(policy.status().message());
  if (!policy->enabled()) return {};
  if (policy->require_disclosure() && !record.monitoring_disclosed) return {};
  v1::StartRecordingRequest start;
  start.set_call(record.name());
  start.set_queue(record.queue);
  if (const ParticipantRecord* agent = record.Agent()) {
    start.set_team(agent->team);
    start.set_agent_id(agent->user_id);
  }
  start.set_engine_address(call.engine_control_address);
  start.set_room_id(record.name());
  for (const ParticipantRecord& p : record.participants) {
    if (p.connected) (*start.mutable_legs())[p.id] = p.role;
  }
  *start.mutable_policy() = *policy;
  start.set_monitoring_disclosed(record.monitoring_disclosed);
  start.set_request_id(MediaRequestId(record.tenant, "", "record"));
  absl::StatusOr<v1::Recording> recording = options_.recorder->Start(start);
  if (!recording.ok()) return failed(recording.status().message());
  record.recording = recording->name();
  v1::Event event =
      MakeCallEvent(record, v1::EVENT_TYPE_RECORDING_STARTED, now);
  event.set_recording(record.recording);
  return {event};
}

void Broker::FollowRecording(const StoredCall& call,
                             const std::vector<v1::Event>& events) {
  if (options_.recorder == nullptr || call.record.recording.empty()) return;
  const CallRecord& record = call.record;
  for (const v1::Event& event : events) {
    v1::AnnotateRecordingRequest note;
    note.set_name(record.recording);
    *note.mutable_time() = event.time();
    note.set_request_id(absl::StrCat("event-", event.event_id()));
    switch (event.type()) {
      case v1::EVENT_TYPE_SUPERVISION_STARTED:
      case v1::EVENT_TYPE_SUPERVISION_MODE_CHANGED:
      case v1::EVENT_TYPE_SUPERVISION_DOWNGRADED: {
        const std::string id =
            event.supervision().substr(event.supervision().rfind('/') + 1);
        const SupervisionRecord* s = record.FindSupervision(id);
        if (s == nullptr) continue;
        if (event.type() == v1::EVENT_TYPE_SUPERVISION_STARTED) {
          note.set_added_leg_id(s->participant);
          note.set_added_leg_role(v1::ROLE_SUPERVISOR);
          note.set_added_leg_user_id(s->supervisor);
        }
        note.set_supervision(event.supervision());
        note.set_supervisor(event.supervisor());
        note.set_mode(event.mode());
        note.set_supervision_leg_id(s->participant);
        break;
      }
      case v1::EVENT_TYPE_SUPERVISION_ENDED:
      case v1::EVENT_TYPE_SUPERVISION_DETACHED:
        note.set_supervision(event.supervision());
        note.set_supervisor(event.supervisor());
        note.set_supervision_ended(true);
        break;
      case v1::EVENT_TYPE_CALL_TRANSFERRED: {
        const ParticipantRecord* agent = record.Agent();
        if (agent == nullptr) continue;
        note.set_added_leg_id(agent->id);
        note.set_added_leg_role(v1::ROLE_AGENT);
        note.set_added_leg_user_id(agent->user_id);
        break;
      }
      case v1::EVENT_TYPE_CALL_ENDED:
      case v1::EVENT_TYPE_CALL_FAILED: {
        v1::StopRecordingRequest stop;
        stop.set_name(record.recording);
        stop.set_request_id(absl::StrCat("event-", event.event_id()));
        if (absl::Status s = options_.recorder->Stop(stop); !s.ok()) {
          service_kit::LogWarning(
              "recording did not stop",
              {{"call", record.name()}, {"error", std::string(s.message())}});
        }
        continue;
      }
      default:
        continue;
    }
    if (absl::Status s = options_.recorder->Annotate(note); !s.ok()) {
      service_kit::LogWarning("recording annotation failed",
                              {{"call", record.name()},
                               {"event", v1::EventType_Name(event.type())},
                               {"error", std::string(s.message())}});
    }
  }
}

void Broker::ReportQuality(const StoredCall& call,
                           const std::vector<std::string>& legs) {
  if (options_.quality == nullptr) return;
  absl::StatusOr<v1::GetStatsResponse> stats =
      media_->GetStats(EngineAddress(call), call.record.name());
  if (!stats.ok() || stats->rooms().empty()) return;
  for (const auto& [leg, quality] : stats->rooms(0).legs()) {
    if (!legs.empty() &&
        std::find(legs.begin(), legs.end(), leg) == legs.end()) {
      continue;
    }
    v1::IngestMediaQualityRequest report;
    report.set_tenant(call.record.tenant);
    report.set_call(call.record.name());
    report.set_leg(leg);
    report.set_engine_id(call.engine_id);
    *report.mutable_quality() = quality;
    // One summary per leg and call: a retry is the same report.
    report.set_request_id(absl::StrCat(call.record.name(), "/", leg));
    if (absl::Status s = options_.quality->DeliverQuality(report); !s.ok()) {
      service_kit::LogWarning("media quality not delivered to reporting",
                              {{"call", call.record.name()},
                               {"leg", leg},
                               {"error", std::string(s.message())}});
    }
  }
}

// ---------------------------------------------------------------------------
// Housekeeping: shared placement, dead engines, reconciliation

void Broker::Maintain() {
  const absl::Time now = options_.clock();
  std::lock_guard<std::mutex> lock(maintenance_mu_);
  if (started_ == absl::InfinitePast()) started_ = now;

  // What this replica heard from engines goes to the shared store; what
  // the others heard comes back.
  for (const EngineRecord& engine : engines_->List()) {
    if (engine.state == EngineRecord::State::kDead) continue;
    auto saved = saved_heartbeats_.find(engine.engine_id);
    if (saved != saved_heartbeats_.end() &&
        saved->second >= engine.last_heartbeat) {
      continue;
    }
    if (store_->SaveEngine(engine).ok()) {
      saved_heartbeats_[engine.engine_id] = engine.last_heartbeat;
    }
  }
  absl::StatusOr<std::vector<EngineRecord>> shared = store_->LoadEngines();
  if (shared.ok()) {
    for (const EngineRecord& engine : *shared) engines_->Observe(engine);
  }

  // After a restart the stored heartbeats are old: give live engines one
  // lease to show up before anything is declared dead.
  if (now - started_ >= engines_->lease()) {
    for (const std::string& dead : engines_->ExpireLeases(now)) {
      reconciled_.erase(dead);
      FailCallsOn(dead, absl::StrCat("media engine ", dead,
                                     " stopped answering (lease expired)"));
    }
  }

  if (now - last_expiry_ >= absl::Minutes(1)) {
    last_expiry_ = now;
    (void)store_->ExpireIdempotency(now - options_.idempotency_window);
  }

  for (const EngineRecord& engine : engines_->List()) {
    if (engine.state == EngineRecord::State::kDead ||
        now - engine.last_heartbeat > engines_->lease() ||
        reconciled_.count(engine.engine_id) > 0) {
      continue;
    }
    if (ReconcileEngine(engine).ok()) reconciled_.insert(engine.engine_id);
  }
}

void Broker::FailCallsOn(const std::string& engine_id,
                         const std::string& reason) {
  absl::StatusOr<std::vector<StoredCall>> calls =
      store_->LiveCallsOnEngine(engine_id);
  if (!calls.ok()) return;  // next pass
  for (const StoredCall& call : *calls) {
    (void)FailCall(call.record.tenant, call.record.call_id, reason);
  }
  if (!calls->empty()) {
    service_kit::LogWarning("calls failed with their media engine",
                            {{"engine", engine_id},
                             {"calls", absl::StrCat(calls->size())},
                             {"reason", reason}});
  }
}

absl::Status Broker::FailCall(const std::string& tenant,
                              const std::string& call_id,
                              const std::string& reason) {
  const absl::Time now = options_.clock();
  return MutateCall(
             CallName{tenant, call_id, ""},
             [&](StoredCall& c) -> absl::StatusOr<std::vector<v1::Event>> {
               absl::StatusOr<Change> change =
                   End(c.record, /*failed=*/true, reason, now);
               if (!change.ok()) return change.status();
               for (v1::Event& event : change->events) {
                 event.set_actor("broker");
               }
               if (!change->events.empty()) engines_->Release(c.engine_id);
               return change->events;
             },
             [](const StoredCall&) { return std::nullopt; })
      .status();
}

absl::Status Broker::ReconcileEngine(const EngineRecord& engine) {
  absl::StatusOr<v1::ListRoomsResponse> rooms =
      media_->ListRooms(engine.control_address);
  if (!rooms.ok()) return rooms.status();
  absl::StatusOr<std::vector<StoredCall>> calls =
      store_->LiveCallsOnEngine(engine.engine_id);
  if (!calls.ok()) return calls.status();
  std::map<std::string, const v1::Room*> by_id;
  for (const v1::Room& room : rooms->rooms()) by_id[room.room_id()] = &room;
  int kept = 0, failed = 0, removed = 0;
  for (const StoredCall& call : *calls) {
    const std::string room_id = call.record.name();
    if (by_id.erase(room_id) > 0) {
      // The room lives on (its audio never stopped): make sure it mixes by
      // the stored matrix, whatever happened while no broker watched.
      (void)MutateCall(
          CallName{call.record.tenant, call.record.call_id, ""},
          [&](StoredCall& c) -> absl::StatusOr<std::vector<v1::Event>> {
            if (IsEnded(c.record)) return std::vector<v1::Event>();
            if (absl::Status s = ApplyRouting(c); !s.ok()) return s;
            return std::vector<v1::Event>();
          },
          [](const StoredCall&) { return std::nullopt; });
      ++kept;
    } else {
      (void)FailCall(call.record.tenant, call.record.call_id,
                     absl::StrCat("media engine ", engine.engine_id,
                                  " no longer has the call's room (it "
                                  "restarted)"));
      ++failed;
    }
  }
  // Rooms no call owns: a call ended while no broker could tell the
  // engine, or a registration that died before it committed. Young rooms
  // may be a registration in flight on another replica: left alone.
  const absl::Time now = options_.clock();
  for (const auto& [room_id, room] : by_id) {
    if (now - TimeFromProto(room->create_time()) < absl::Minutes(1)) continue;
    v1::DeleteRoomRequest remove;
    remove.set_room_id(room_id);
    remove.set_request_id(MediaRequestId("reconcile", "", "orphan"));
    if (media_->DeleteRoom(engine.control_address, remove).ok()) ++removed;
  }
  service_kit::LogInfo("reconciled with media engine",
                       {{"engine", engine.engine_id},
                        {"calls_kept", absl::StrCat(kept)},
                        {"calls_failed", absl::StrCat(failed)},
                        {"orphan_rooms_removed", absl::StrCat(removed)}});
  return absl::OkStatus();
}

// ---------------------------------------------------------------------------
// Watching

namespace {

bool IsAudit(const v1::Event& event) {
  return event.type() == v1::EVENT_TYPE_ACCESS_DENIED ||
         event.type() == v1::EVENT_TYPE_ACCESS_GRANTED;
}

bool EndsCall(const v1::Event& event) {
  return event.type() == v1::EVENT_TYPE_CALL_ENDED ||
         event.type() == v1::EVENT_TYPE_CALL_FAILED;
}

absl::Status WatchEnded(bool closed) {
  if (closed) {
    return absl::UnavailableError(
        "the broker is shutting down; watch again (any replica will do)");
  }
  return absl::CancelledError("the watcher went away");
}

}  // namespace

absl::Status Broker::FollowEvents(
    int64_t start, const std::string& tenant,
    const std::function<bool()>& cancelled,
    const std::function<absl::StatusOr<bool>(const v1::Event&)>& on_event) {
  EventTail tail(start);
  while (true) {
    if (bell_.closed() || cancelled()) return WatchEnded(bell_.closed());
    const uint64_t rings = bell_.rings();
    absl::StatusOr<std::vector<v1::Event>> events = tail.Next(*store_);
    if (!events.ok()) return events.status();
    for (const v1::Event& event : *events) {
      if (event.tenant() != tenant || IsAudit(event)) continue;
      absl::StatusOr<bool> more = on_event(event);
      if (!more.ok()) return more.status();
      if (!*more) return absl::OkStatus();
    }
    bell_.WaitAfter(rings, options_.watch_poll);
  }
}

v1::CallEvent Broker::WatchedEvent(const v1::Event& event,
                                   const StoredCall& call) {
  v1::CallEvent out;
  if (event.type() != v1::EVENT_TYPE_UNSPECIFIED) *out.mutable_event() = event;
  CallView keyless;
  keyless.now = options_.clock();
  *out.mutable_call() = CallToProto(call, keyless);
  return out;
}

absl::Status Broker::WatchCall(const std::string& token,
                               const v1::WatchCallRequest& request,
                               const CallEventWriter& write,
                               const std::function<bool()>& cancelled) {
  absl::StatusOr<v1::Principal> principal = Authenticate(token);
  if (!principal.ok()) return principal.status();
  auto parsed = ParseCallName(request.name());
  if (!parsed.ok()) return parsed.status();
  const CallName name{parsed->first, parsed->second, ""};
  // Where the tail starts is read before the snapshot, so no change made
  // after the snapshot is missed (one made in between may come twice;
  // call_sequence tells).
  absl::StatusOr<int64_t> start = store_->LastEventSequence();
  if (!start.ok()) return start.status();
  absl::StatusOr<StoredCall> call = LoadVisible(*principal, name);
  if (!call.ok()) return call.status();
  bool manager = false;
  if (absl::Status s = RequireViewer(*principal, call->record, &manager);
      !s.ok()) {
    return s;
  }
  if (!write(WatchedEvent(v1::Event(), *call))) return WatchEnded(false);
  if (IsEnded(call->record)) return absl::OkStatus();
  return FollowEvents(
      *start, name.tenant, cancelled,
      [&](const v1::Event& event) -> absl::StatusOr<bool> {
        if (event.call_id() != name.call_id) return true;
        absl::StatusOr<StoredCall> now = store_->Get(name.tenant, name.call_id);
        if (!now.ok()) return now.status();
        if (event.type() == v1::EVENT_TYPE_CALL_TRANSFERRED) {
          // The new agent's team may be one this watcher may not see.
          if (absl::Status s = RequireViewer(*principal, now->record, &manager);
              !s.ok()) {
            return s;
          }
        }
        if (!write(WatchedEvent(event, *now))) return WatchEnded(false);
        return !EndsCall(event);
      });
}

absl::Status Broker::WatchCalls(const std::string& token,
                                const v1::WatchCallsRequest& request,
                                const CallEventWriter& write,
                                const std::function<bool()>& cancelled) {
  absl::StatusOr<v1::Principal> principal = Authenticate(token);
  if (!principal.ok()) return principal.status();
  absl::StatusOr<std::string> tenant = ParseParent("parent", request.parent());
  if (!tenant.ok()) return tenant.status();
  if (*tenant != principal->tenant()) {
    return absl::NotFoundError(absl::StrCat("no tenant ", *tenant));
  }
  auto matches = [&](const std::string& queue, const std::string& team,
                     const std::string& agent_id) {
    return (request.queue().empty() || request.queue() == queue) &&
           (request.team().empty() || request.team() == team) &&
           (request.agent_id().empty() || request.agent_id() == agent_id);
  };
  // Whether the watcher may see a call, asked once per call (again after
  // a transfer). Denials here are not audited: not seeing a call on a
  // wallboard is not an access attempt.
  std::map<std::string, bool> visible;
  auto may_view = [&](const CallRecord& record,
                      bool refresh) -> absl::StatusOr<bool> {
    auto found = visible.find(record.call_id);
    if (found != visible.end() && !refresh) return found->second;
    absl::StatusOr<Access> access = AccessTo(*principal, record);
    if (!access.ok()) return access.status();
    visible[record.call_id] = *access != Access::kNone;
    return *access != Access::kNone;
  };

  absl::StatusOr<int64_t> start = store_->LastEventSequence();
  if (!start.ok()) return start.status();
  CallQuery query;
  query.tenant = *tenant;
  query.queue = request.queue();
  query.team = request.team();
  query.agent_id = request.agent_id();
  query.states = {CallState::kActive, CallState::kOnHold};
  query.limit = kMaxPageSize;
  while (true) {
    absl::StatusOr<CallPage> page = store_->List(query);
    if (!page.ok()) return page.status();
    for (const StoredCall& call : page->calls) {
      absl::StatusOr<bool> allowed = may_view(call.record, false);
      if (!allowed.ok()) return allowed.status();
      if (*allowed && !write(WatchedEvent(v1::Event(), call))) {
        return WatchEnded(false);
      }
    }
    if (!page->more || page->calls.empty()) break;
    query.after = std::make_pair(page->calls.back().record.create_time,
                                 page->calls.back().record.call_id);
  }

  return FollowEvents(
      *start, *tenant, cancelled,
      [&](const v1::Event& event) -> absl::StatusOr<bool> {
        if (!matches(event.queue(), event.team(), event.agent_id())) {
          return true;
        }
        absl::StatusOr<StoredCall> now = store_->Get(*tenant, event.call_id());
        if (absl::IsNotFound(now.status())) return true;
        if (!now.ok()) return now.status();
        absl::StatusOr<bool> allowed = may_view(
            now->record, event.type() == v1::EVENT_TYPE_CALL_TRANSFERRED);
        if (!allowed.ok()) return allowed.status();
        if (!*allowed) return true;
        if (!write(WatchedEvent(event, *now))) return WatchEnded(false);
        if (EndsCall(event)) visible.erase(event.call_id());
        return true;
      });
}

}  // namespace sotto::broker
