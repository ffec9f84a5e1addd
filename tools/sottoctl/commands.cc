#include "tools/sottoctl/commands.h"

#include <fstream>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/ascii.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "grpcpp/support/sync_stream.h"
#include "openssl/evp.h"
#include "tools/sottoctl/names.h"
#include "tools/sottoctl/values.h"

namespace sotto::sottoctl {
namespace {

using google::protobuf::Message;
using Kind = FlagSpec::Kind;

#define SOTTOCTL_ASSIGN_OR_RETURN_IMPL(tmp, lhs, expr) \
  auto tmp = (expr);                                   \
  if (!tmp.ok()) return tmp.status();                  \
  lhs = *std::move(tmp)
#define SOTTOCTL_CONCAT_INNER(a, b) a##b
#define SOTTOCTL_CONCAT(a, b) SOTTOCTL_CONCAT_INNER(a, b)
// lhs = value of a StatusOr expression, or return its error.
#define ASSIGN_OR_RETURN(lhs, expr)                                          \
  SOTTOCTL_ASSIGN_OR_RETURN_IMPL(SOTTOCTL_CONCAT(status_or_, __LINE__), lhs, \
                                 expr)
#define RETURN_IF_ERROR(expr)            \
  do {                                   \
    const absl::Status status_ = (expr); \
    if (!status_.ok()) return status_;   \
  } while (false)

// ------------------------------------------------------------------ flags

FlagSpec Flag(std::string name, std::string value_name, std::string help,
              Kind kind = Kind::kString) {
  FlagSpec spec;
  spec.name = std::move(name);
  spec.kind = kind;
  spec.value_name = std::move(value_name);
  spec.help = std::move(help);
  return spec;
}

FlagSpec Bool(std::string name, std::string help) {
  return Flag(std::move(name), "", std::move(help), Kind::kBool);
}

void Append(std::vector<FlagSpec>* to, const std::vector<FlagSpec>& more) {
  to->insert(to->end(), more.begin(), more.end());
}

// Media offer flags; `prefix` is "" or "customer_" / "agent_".
std::vector<FlagSpec> OfferFlags(const std::string& prefix,
                                 const std::string& who) {
  return {
      Flag(prefix + "rtp", "IP:PORT",
           "where " + who +
               " listens for RTP (omit to latch from the first "
               "authenticated packet)"),
      Flag(prefix + "codec", "CODEC", who + " codec: pcmu|pcma (default pcmu)"),
      Flag(prefix + "suite", "SUITE",
           who +
               " SRTP suite: aes-cm-128-hmac-sha1-80|aes-cm-128-hmac-sha1-32|"
               "aead-aes-128-gcm|plain-rtp (default: SRTP 80 with --" +
               prefix + "key)"),
      Flag(prefix + "key", "BASE64",
           who +
               " SDES key (master key + salt, base64 as in a=crypto inline:); "
               "required unless --" +
               prefix + "suite=plain-rtp"),
      Flag(prefix + "ptime", "MS", who + " packet time in ms (default 20)"),
      Flag(prefix + "pt", "N",
           who + " RTP payload type (default: the codec's)"),
      Flag(prefix + "dtmf_pt", "N",
           who + " telephone-event payload type (0: none)"),
      Flag(prefix + "rtcp", "MODE", who + " RTCP: mux|separate-port"),
      Flag(prefix + "rtcp_endpoint", "IP:PORT",
           who + " RTCP address, when not muxed and not RTP port + 1"),
  };
}

std::vector<FlagSpec> PageFlags() {
  return {Flag("page_size", "N", "at most N per page (server default 50)"),
          Flag("page_token", "TOKEN", "continue from a previous page"),
          Bool("all", "fetch every page")};
}

std::vector<FlagSpec> TimeFlags() {
  return {Flag("from", "TIME", "start of the range, RFC 3339"),
          Flag("to", "TIME", "end of the range, RFC 3339 (default: open)"),
          Flag("last", "DURATION", "the range is the last DURATION (7d, 24h)")};
}

std::vector<FlagSpec> ScopeFlags() {
  std::vector<FlagSpec> flags = {
      Flag("team", "TEAM", "only these teams (repeat or comma-separate)",
           Kind::kRepeated),
      Flag("queue", "QUEUE", "only these queues", Kind::kRepeated),
      Flag("agent", "AGENT", "only these agent ids", Kind::kRepeated)};
  Append(&flags, TimeFlags());
  return flags;
}

// ------------------------------------------------------------------ values

absl::StatusOr<int> OptionalInt(const ParsedArgs& args, const std::string& name,
                                int fallback, int min, int max) {
  ASSIGN_OR_RETURN(int value, args.GetInt(name, fallback));
  if (value < min || value > max) {
    return absl::InvalidArgumentError(absl::StrCat(
        "--", name, ": must be within ", min, "..", max, ", got ", value));
  }
  return value;
}

absl::Status FillOffer(const ParsedArgs& args, const std::string& prefix,
                       v1::MediaOffer* offer) {
  if (args.Has(prefix + "rtp")) {
    ASSIGN_OR_RETURN(
        *offer->mutable_remote_rtp(),
        ParseEndpoint("--" + prefix + "rtp", args.Get(prefix + "rtp")));
  }
  if (args.Has(prefix + "rtcp_endpoint")) {
    ASSIGN_OR_RETURN(*offer->mutable_remote_rtcp(),
                     ParseEndpoint("--" + prefix + "rtcp_endpoint",
                                   args.Get(prefix + "rtcp_endpoint")));
  }
  ASSIGN_OR_RETURN(
      v1::Codec codec,
      ParseCodec("--" + prefix + "codec", args.Get(prefix + "codec", "pcmu")));
  offer->set_codec(codec);
  const std::string key = args.Get(prefix + "key");
  if (args.Has(prefix + "suite")) {
    ASSIGN_OR_RETURN(
        v1::CryptoSuite suite,
        ParseSuite("--" + prefix + "suite", args.Get(prefix + "suite")));
    offer->mutable_remote_key()->set_suite(suite);
  } else if (!key.empty()) {
    offer->mutable_remote_key()->set_suite(
        v1::CRYPTO_SUITE_AES_CM_128_HMAC_SHA1_80);
  }
  if (!key.empty()) offer->mutable_remote_key()->set_inline_key(key);
  if (key.empty() && !args.Has(prefix + "suite")) {
    return absl::InvalidArgumentError(absl::StrCat(
        "--", prefix,
        "key is required: the remote's SRTP key (base64 master key and salt, "
        "as in SDP's a=crypto inline:), or --",
        prefix, "suite=plain-rtp for an unencrypted leg"));
  }
  ASSIGN_OR_RETURN(int ptime, OptionalInt(args, prefix + "ptime", 0, 0, 200));
  offer->set_ptime_ms(ptime);
  ASSIGN_OR_RETURN(int pt, OptionalInt(args, prefix + "pt", 0, 0, 127));
  offer->set_payload_type(pt);
  ASSIGN_OR_RETURN(int dtmf, OptionalInt(args, prefix + "dtmf_pt", 0, 0, 127));
  offer->set_telephone_event_payload_type(dtmf);
  if (args.Has(prefix + "rtcp")) {
    ASSIGN_OR_RETURN(
        v1::RtcpMode rtcp,
        ParseRtcpMode("--" + prefix + "rtcp", args.Get(prefix + "rtcp")));
    offer->set_rtcp_mode(rtcp);
  }
  return absl::OkStatus();
}

// --attr k=v (repeatable).
absl::Status FillAttributes(
    const ParsedArgs& args,
    google::protobuf::Map<std::string, std::string>* map) {
  for (const std::string& pair : args.GetList("attr")) {
    const size_t eq = pair.find('=');
    if (eq == std::string::npos || eq == 0) {
      return absl::InvalidArgumentError(
          absl::StrCat("--attr: expected KEY=VALUE, got \"", pair, "\""));
    }
    (*map)[pair.substr(0, eq)] = pair.substr(eq + 1);
  }
  return absl::OkStatus();
}

template <typename Req>
absl::Status FillPaging(const ParsedArgs& args, Req* request) {
  ASSIGN_OR_RETURN(int size, OptionalInt(args, "page_size", 0, 0, 1000000));
  request->set_page_size(size);
  request->set_page_token(args.Get("page_token"));
  return absl::OkStatus();
}

// --from/--to/--last into `range`. With `required`, no flag means the
// last 7 days (reports need a range).
absl::Status FillTimeRange(const ParsedArgs& args, const Context& context,
                           bool required, v1::TimeRange* range) {
  if (args.Has("last") && args.Has("from")) {
    return absl::InvalidArgumentError("give --from or --last, not both");
  }
  if (args.Has("last") || (required && !args.Has("from"))) {
    ASSIGN_OR_RETURN(absl::Duration last,
                     ParseDuration("--last", args.Get("last", "7d")));
    *range->mutable_start_time() = ToProtoTime(context.now - last);
  }
  if (args.Has("from")) {
    ASSIGN_OR_RETURN(absl::Time from,
                     ParseTime("--from", args.Get("from"), context.now));
    *range->mutable_start_time() = ToProtoTime(from);
  }
  if (args.Has("to")) {
    ASSIGN_OR_RETURN(absl::Time to,
                     ParseTime("--to", args.Get("to"), context.now));
    *range->mutable_end_time() = ToProtoTime(to);
  }
  return absl::OkStatus();
}

absl::Status FillScope(const ParsedArgs& args, const Context& context,
                       v1::ReportScope* scope) {
  ASSIGN_OR_RETURN(*scope->mutable_parent(), TenantParent(context.tenant));
  RETURN_IF_ERROR(
      FillTimeRange(args, context, true, scope->mutable_time_range()));
  for (const auto& team : args.GetList("team")) scope->add_teams(team);
  for (const auto& queue : args.GetList("queue")) scope->add_queues(queue);
  for (const auto& agent : args.GetList("agent")) scope->add_agent_ids(agent);
  return absl::OkStatus();
}

const std::string& Operand(const ParsedArgs& args, size_t i) {
  static const std::string* const kEmpty = new std::string;
  return i < args.positional.size() ? args.positional[i] : *kEmpty;
}

absl::StatusOr<std::string> CallOperand(const ParsedArgs& args,
                                        const Context& context) {
  return CallName("CALL", Operand(args, 0), context.tenant);
}

absl::StatusOr<std::string> SupervisionOperand(const ParsedArgs& args,
                                               const Context& context) {
  return CallChildName("SUPERVISION", "supervisions", Operand(args, 0),
                       args.Get("call"), context.tenant);
}

absl::StatusOr<std::string> RecordingOperand(const ParsedArgs& args,
                                             const Context& context) {
  return RecordingName("RECORDING", Operand(args, 0), context.tenant);
}

absl::Status Required(const ParsedArgs& args, const std::string& flag) {
  if (args.Get(flag).empty()) {
    return absl::InvalidArgumentError(absl::StrCat("--", flag, " is required"));
  }
  return absl::OkStatus();
}

// ------------------------------------------------------------ request builders

absl::Status BuildRegisterCall(const ParsedArgs& args, const Context& context,
                               v1::RegisterCallRequest* request) {
  ASSIGN_OR_RETURN(*request->mutable_parent(), TenantParent(context.tenant));
  request->set_call_id(Operand(args, 0));
  request->set_queue(args.Get("queue"));
  RETURN_IF_ERROR(Required(args, "agent"));
  RETURN_IF_ERROR(Required(args, "team"));
  request->mutable_customer()->set_display_name(args.Get("customer_name"));
  RETURN_IF_ERROR(FillOffer(args, "customer_",
                            request->mutable_customer()->mutable_media()));
  v1::LegSpec* agent = request->mutable_agent();
  agent->set_user_id(args.Get("agent"));
  agent->set_team(args.Get("team"));
  agent->set_display_name(args.Get("agent_name"));
  RETURN_IF_ERROR(FillOffer(args, "agent_", agent->mutable_media()));
  RETURN_IF_ERROR(FillAttributes(args, request->mutable_attributes()));
  ASSIGN_OR_RETURN(bool disclosed, args.GetBool("disclosed"));
  request->set_monitoring_disclosed(disclosed);
  request->set_request_id(context.request_id);
  return absl::OkStatus();
}

absl::Status BuildGetCall(const ParsedArgs& args, const Context& context,
                          v1::GetCallRequest* request) {
  ASSIGN_OR_RETURN(*request->mutable_name(), CallOperand(args, context));
  return absl::OkStatus();
}

absl::Status BuildListCalls(const ParsedArgs& args, const Context& context,
                            v1::ListCallsRequest* request) {
  ASSIGN_OR_RETURN(*request->mutable_parent(), TenantParent(context.tenant));
  RETURN_IF_ERROR(FillPaging(args, request));
  request->set_queue(args.Get("queue"));
  request->set_team(args.Get("team"));
  request->set_agent_id(args.Get("agent"));
  for (const std::string& state : args.GetList("state")) {
    ASSIGN_OR_RETURN(v1::Call::State parsed, ParseCallState("--state", state));
    request->add_states(parsed);
  }
  return absl::OkStatus();
}

absl::Status BuildEndCall(const ParsedArgs& args, const Context& context,
                          v1::EndCallRequest* request) {
  ASSIGN_OR_RETURN(*request->mutable_name(), CallOperand(args, context));
  request->set_reason(args.Get("reason"));
  request->set_request_id(context.request_id);
  return absl::OkStatus();
}

template <typename Req>
absl::Status BuildCallAction(const ParsedArgs& args, const Context& context,
                             Req* request) {
  ASSIGN_OR_RETURN(*request->mutable_name(), CallOperand(args, context));
  request->set_request_id(context.request_id);
  return absl::OkStatus();
}

absl::Status BuildUpdateCall(const ParsedArgs& args, const Context& context,
                             v1::UpdateCallRequest* request) {
  ASSIGN_OR_RETURN(*request->mutable_call()->mutable_name(),
                   CallOperand(args, context));
  if (args.Has("queue")) {
    request->mutable_call()->set_queue(args.Get("queue"));
    request->mutable_update_mask()->add_paths("queue");
  }
  ASSIGN_OR_RETURN(bool clear, args.GetBool("clear_attrs"));
  if (args.Has("attr") || clear) {
    RETURN_IF_ERROR(
        FillAttributes(args, request->mutable_call()->mutable_attributes()));
    request->mutable_update_mask()->add_paths("attributes");
  }
  if (args.Has("disclosed")) {
    ASSIGN_OR_RETURN(bool disclosed, args.GetBool("disclosed"));
    request->mutable_call()->set_monitoring_disclosed(disclosed);
    request->mutable_update_mask()->add_paths("monitoring_disclosed");
  }
  if (request->update_mask().paths_size() == 0) {
    return absl::InvalidArgumentError(
        "nothing to update: give --queue, --attr (or --clear_attrs) or "
        "--disclosed");
  }
  request->set_request_id(context.request_id);
  return absl::OkStatus();
}

absl::Status BuildTransferCall(const ParsedArgs& args, const Context& context,
                               v1::TransferCallRequest* request) {
  ASSIGN_OR_RETURN(*request->mutable_name(), CallOperand(args, context));
  RETURN_IF_ERROR(Required(args, "agent"));
  RETURN_IF_ERROR(Required(args, "team"));
  v1::LegSpec* agent = request->mutable_new_agent();
  agent->set_user_id(args.Get("agent"));
  agent->set_team(args.Get("team"));
  agent->set_display_name(args.Get("agent_name"));
  RETURN_IF_ERROR(FillOffer(args, "agent_", agent->mutable_media()));
  request->set_reason(args.Get("reason"));
  request->set_request_id(context.request_id);
  return absl::OkStatus();
}

absl::Status BuildPauseCallRecording(const ParsedArgs& args,
                                     const Context& context,
                                     v1::PauseCallRecordingRequest* request) {
  ASSIGN_OR_RETURN(*request->mutable_name(), CallOperand(args, context));
  request->set_reason(args.Get("reason"));
  request->set_request_id(context.request_id);
  return absl::OkStatus();
}

absl::Status BuildUpdateMedia(const ParsedArgs& args, const Context& context,
                              v1::UpdateParticipantMediaRequest* request) {
  ASSIGN_OR_RETURN(
      *request->mutable_participant(),
      CallChildName("PARTICIPANT", "participants", Operand(args, 0),
                    args.Get("call"), context.tenant));
  RETURN_IF_ERROR(FillOffer(args, "", request->mutable_media()));
  request->set_request_id(context.request_id);
  return absl::OkStatus();
}

absl::Status BuildCreateSupervision(const ParsedArgs& args,
                                    const Context& context,
                                    v1::CreateSupervisionRequest* request) {
  ASSIGN_OR_RETURN(*request->mutable_parent(), CallOperand(args, context));
  ASSIGN_OR_RETURN(v1::Mode mode,
                   ParseMode("--mode", args.Get("mode", "listen")));
  request->set_mode(mode);
  RETURN_IF_ERROR(FillOffer(args, "", request->mutable_media()));
  request->set_display_name(args.Get("display_name"));
  request->set_reason(args.Get("reason"));
  request->set_request_id(context.request_id);
  return absl::OkStatus();
}

absl::Status BuildSetMode(const ParsedArgs& args, const Context& context,
                          v1::SetSupervisionModeRequest* request) {
  ASSIGN_OR_RETURN(*request->mutable_name(), SupervisionOperand(args, context));
  const std::string mode_text =
      args.positional.size() > 1 ? args.positional[1] : args.Get("mode");
  if (mode_text.empty()) {
    return absl::InvalidArgumentError(
        "MODE is required: listen, whisper, barge or takeover");
  }
  ASSIGN_OR_RETURN(v1::Mode mode, ParseMode("MODE", mode_text));
  request->set_mode(mode);
  ASSIGN_OR_RETURN(bool preempt, args.GetBool("preempt"));
  request->set_preempt_takeover(preempt);
  request->set_reason(args.Get("reason"));
  request->set_request_id(context.request_id);
  return absl::OkStatus();
}

absl::Status BuildRelease(const ParsedArgs& args, const Context& context,
                          v1::DeleteSupervisionRequest* request) {
  ASSIGN_OR_RETURN(*request->mutable_name(), SupervisionOperand(args, context));
  request->set_request_id(context.request_id);
  return absl::OkStatus();
}

absl::Status BuildGetSupervision(const ParsedArgs& args, const Context& context,
                                 v1::GetSupervisionRequest* request) {
  ASSIGN_OR_RETURN(*request->mutable_name(), SupervisionOperand(args, context));
  return absl::OkStatus();
}

absl::Status BuildListSupervisions(const ParsedArgs& args,
                                   const Context& context,
                                   v1::ListSupervisionsRequest* request) {
  if (args.positional.empty()) {
    ASSIGN_OR_RETURN(std::string parent, TenantParent(context.tenant));
    request->set_parent(parent + "/calls/-");
  } else {
    ASSIGN_OR_RETURN(*request->mutable_parent(), CallOperand(args, context));
  }
  RETURN_IF_ERROR(FillPaging(args, request));
  request->set_supervisor(args.Get("supervisor"));
  ASSIGN_OR_RETURN(bool ended, args.GetBool("include_ended"));
  request->set_include_ended(ended);
  return absl::OkStatus();
}

absl::Status BuildWatchCall(const ParsedArgs& args, const Context& context,
                            v1::WatchCallRequest* request) {
  ASSIGN_OR_RETURN(*request->mutable_name(), CallOperand(args, context));
  return absl::OkStatus();
}

absl::Status BuildWatchCalls(const ParsedArgs& args, const Context& context,
                             v1::WatchCallsRequest* request) {
  ASSIGN_OR_RETURN(*request->mutable_parent(), TenantParent(context.tenant));
  request->set_queue(args.Get("queue"));
  request->set_team(args.Get("team"));
  request->set_agent_id(args.Get("agent"));
  return absl::OkStatus();
}

template <typename Req>
absl::Status BuildEmpty(const ParsedArgs&, const Context&, Req*) {
  return absl::OkStatus();
}

absl::Status BuildListRecordings(const ParsedArgs& args, const Context& context,
                                 v1::ListRecordingsRequest* request) {
  ASSIGN_OR_RETURN(*request->mutable_parent(), TenantParent(context.tenant));
  RETURN_IF_ERROR(FillPaging(args, request));
  if (args.Has("call")) {
    ASSIGN_OR_RETURN(*request->mutable_call(),
                     CallName("--call", args.Get("call"), context.tenant));
  }
  request->set_team(args.Get("team"));
  request->set_agent_id(args.Get("agent"));
  if (args.Has("from") || args.Has("to") || args.Has("last")) {
    RETURN_IF_ERROR(
        FillTimeRange(args, context, false, request->mutable_time_range()));
  }
  return absl::OkStatus();
}

absl::Status BuildGetRecording(const ParsedArgs& args, const Context& context,
                               v1::GetRecordingRequest* request) {
  ASSIGN_OR_RETURN(*request->mutable_name(), RecordingOperand(args, context));
  return absl::OkStatus();
}

absl::Status BuildDownload(const ParsedArgs& args, const Context& context,
                           v1::DownloadRecordingRequest* request) {
  ASSIGN_OR_RETURN(*request->mutable_name(), RecordingOperand(args, context));
  ASSIGN_OR_RETURN(int file, OptionalInt(args, "file", 0, 0, 1 << 20));
  request->set_file(file);
  RETURN_IF_ERROR(Required(args, "out"));
  return absl::OkStatus();
}

absl::Status BuildStartRecording(const ParsedArgs& args, const Context& context,
                                 v1::StartRecordingRequest* request) {
  ASSIGN_OR_RETURN(*request->mutable_call(), CallOperand(args, context));
  request->set_queue(args.Get("queue"));
  request->set_team(args.Get("team"));
  request->set_agent_id(args.Get("agent"));
  RETURN_IF_ERROR(Required(args, "engine_address"));
  request->set_engine_address(args.Get("engine_address"));
  request->set_room_id(args.Get("room", request->call()));
  for (const std::string& leg : args.GetList("leg")) {
    const size_t eq = leg.find('=');
    if (eq == std::string::npos || eq == 0) {
      return absl::InvalidArgumentError(
          absl::StrCat("--leg: expected LEG=ROLE, got \"", leg, "\""));
    }
    ASSIGN_OR_RETURN(v1::Role role, ParseRole("--leg", leg.substr(eq + 1)));
    (*request->mutable_legs())[leg.substr(0, eq)] = role;
  }
  v1::RecordingPolicy* policy = request->mutable_policy();
  policy->set_enabled(true);
  ASSIGN_OR_RETURN(v1::RecordingPolicy::Layout layout,
                   ParseLayout("--layout", args.Get("layout", "multichannel")));
  policy->set_layout(layout);
  ASSIGN_OR_RETURN(bool keep_whisper, args.GetBool("keep_whisper_audio"));
  policy->set_keep_whisper_audio(keep_whisper);
  ASSIGN_OR_RETURN(bool require, args.GetBool("require_disclosure"));
  policy->set_require_disclosure(require);
  if (args.Has("retention")) {
    ASSIGN_OR_RETURN(absl::Duration retention,
                     ParseDuration("--retention", args.Get("retention")));
    *policy->mutable_retention() = ToProtoDuration(retention);
  }
  ASSIGN_OR_RETURN(bool disclosed, args.GetBool("disclosed"));
  request->set_monitoring_disclosed(disclosed);
  request->set_request_id(context.request_id);
  return absl::OkStatus();
}

template <typename Req>
absl::Status BuildRecordingAction(const ParsedArgs& args,
                                  const Context& context, Req* request) {
  ASSIGN_OR_RETURN(*request->mutable_name(), RecordingOperand(args, context));
  request->set_request_id(context.request_id);
  return absl::OkStatus();
}

absl::Status BuildPauseRecording(const ParsedArgs& args, const Context& context,
                                 v1::PauseRecordingRequest* request) {
  RETURN_IF_ERROR(BuildRecordingAction(args, context, request));
  request->set_reason(args.Get("reason"));
  return absl::OkStatus();
}

absl::Status BuildAnnotate(const ParsedArgs& args, const Context& context,
                           v1::AnnotateRecordingRequest* request) {
  RETURN_IF_ERROR(BuildRecordingAction(args, context, request));
  if (!args.Has("leg") && !args.Has("supervision")) {
    return absl::InvalidArgumentError(
        "nothing to annotate: give --leg (a leg joined) and/or --supervision "
        "(a mode change)");
  }
  request->set_added_leg_id(args.Get("leg"));
  if (args.Has("leg_role")) {
    ASSIGN_OR_RETURN(v1::Role role,
                     ParseRole("--leg_role", args.Get("leg_role")));
    request->set_added_leg_role(role);
  }
  request->set_added_leg_user_id(args.Get("leg_user"));
  if (args.Has("supervision")) {
    ASSIGN_OR_RETURN(
        *request->mutable_supervision(),
        CallChildName("--supervision", "supervisions", args.Get("supervision"),
                      args.Get("call"), context.tenant));
  }
  request->set_supervisor(args.Get("supervisor"));
  if (args.Has("mode")) {
    ASSIGN_OR_RETURN(v1::Mode mode, ParseMode("--mode", args.Get("mode")));
    request->set_mode(mode);
  }
  ASSIGN_OR_RETURN(absl::Time time,
                   ParseTime("--time", args.Get("time", "now"), context.now));
  *request->mutable_time() = ToProtoTime(time);
  ASSIGN_OR_RETURN(bool ended, args.GetBool("ended"));
  request->set_supervision_ended(ended);
  return absl::OkStatus();
}

absl::Status BuildRetention(const ParsedArgs& args, const Context& context,
                            v1::ApplyRetentionRequest* request) {
  ASSIGN_OR_RETURN(bool all_tenants, args.GetBool("all_tenants"));
  if (!all_tenants) {
    if (context.tenant.empty()) {
      return absl::InvalidArgumentError(
          "no tenant: pass --tenant, or --all_tenants for every tenant");
    }
    request->set_tenant(context.tenant);
  }
  ASSIGN_OR_RETURN(bool dry_run, args.GetBool("dry_run"));
  request->set_dry_run(dry_run);
  return absl::OkStatus();
}

absl::StatusOr<v1::GroupBy> GroupByFlag(const ParsedArgs& args,
                                        const char* fallback) {
  return ParseGroupBy("--group_by", args.Get("group_by", fallback));
}

absl::Status BuildActivity(const ParsedArgs& args, const Context& context,
                           v1::SupervisionActivityReportRequest* request) {
  RETURN_IF_ERROR(FillScope(args, context, request->mutable_scope()));
  ASSIGN_OR_RETURN(v1::GroupBy group_by, GroupByFlag(args, "team"));
  request->set_group_by(group_by);
  return FillPaging(args, request);
}

absl::Status BuildCoaching(const ParsedArgs& args, const Context& context,
                           v1::CoachingEffectivenessReportRequest* request) {
  RETURN_IF_ERROR(FillScope(args, context, request->mutable_scope()));
  ASSIGN_OR_RETURN(v1::GroupBy group_by, GroupByFlag(args, "agent"));
  request->set_group_by(group_by);
  if (args.Has("bucket")) {
    ASSIGN_OR_RETURN(absl::Duration bucket,
                     ParseDuration("--bucket", args.Get("bucket")));
    *request->mutable_bucket() = ToProtoDuration(bucket);
  }
  return FillPaging(args, request);
}

absl::Status BuildRampUp(const ParsedArgs& args, const Context& context,
                         v1::RampUpReportRequest* request) {
  RETURN_IF_ERROR(FillScope(args, context, request->mutable_scope()));
  ASSIGN_OR_RETURN(v1::GroupBy group_by, GroupByFlag(args, "team"));
  request->set_group_by(group_by);
  ASSIGN_OR_RETURN(int weeks, OptionalInt(args, "weeks", 0, 0, 520));
  request->set_weeks(weeks);
  return FillPaging(args, request);
}

absl::Status BuildExportCsv(const ParsedArgs& args, const Context& context,
                            v1::ExportReportCsvRequest* request) {
  const std::string kind = absl::AsciiStrToLower(Operand(args, 0));
  if (kind == "activity") {
    return BuildActivity(args, context,
                         request->mutable_supervision_activity());
  }
  if (kind == "coaching") {
    return BuildCoaching(args, context,
                         request->mutable_coaching_effectiveness());
  }
  if (kind == "ramp-up" || kind == "ramp_up" || kind == "rampup") {
    return BuildRampUp(args, context, request->mutable_ramp_up());
  }
  return absl::InvalidArgumentError(
      absl::StrCat("REPORT: unknown report \"", Operand(args, 0),
                   "\"; valid: activity, coaching, ramp-up"));
}

absl::Status BuildReportOutcome(const ParsedArgs& args, const Context& context,
                                v1::ReportOutcomeRequest* request) {
  ASSIGN_OR_RETURN(*request->mutable_call(), CallOperand(args, context));
  RETURN_IF_ERROR(Required(args, "agent"));
  v1::CallOutcome* outcome = request->mutable_outcome();
  outcome->set_agent_id(args.Get("agent"));
  outcome->set_team(args.Get("team"));
  outcome->set_queue(args.Get("queue"));
  ASSIGN_OR_RETURN(bool fcr, args.GetBool("fcr"));
  outcome->set_first_contact_resolution(fcr);
  ASSIGN_OR_RETURN(bool transferred, args.GetBool("transferred"));
  outcome->set_transferred(transferred);
  ASSIGN_OR_RETURN(bool escalated, args.GetBool("escalated"));
  outcome->set_escalated(escalated);
  ASSIGN_OR_RETURN(int csat, OptionalInt(args, "csat", 0, 0, 5));
  outcome->set_csat(csat);
  ASSIGN_OR_RETURN(int errors,
                   OptionalInt(args, "compliance_errors", 0, 0, 1000000));
  outcome->set_compliance_errors(errors);
  if (args.Has("qa_score")) {
    double score = 0;
    if (!absl::SimpleAtod(args.Get("qa_score"), &score) || score < 0 ||
        score > 100) {
      return absl::InvalidArgumentError(absl::StrCat(
          "--qa_score: expected 0..100, got \"", args.Get("qa_score"), "\""));
    }
    outcome->set_qa_score(score);
  }
  if (args.Has("handle_time")) {
    ASSIGN_OR_RETURN(absl::Duration handle,
                     ParseDuration("--handle_time", args.Get("handle_time")));
    *outcome->mutable_handle_time() = ToProtoDuration(handle);
  }
  if (args.Has("agent_start")) {
    ASSIGN_OR_RETURN(
        absl::Time start,
        ParseTime("--agent_start", args.Get("agent_start"), context.now));
    *outcome->mutable_agent_start_time() = ToProtoTime(start);
  }
  if (args.Has("call_start")) {
    ASSIGN_OR_RETURN(
        absl::Time start,
        ParseTime("--call_start", args.Get("call_start"), context.now));
    *outcome->mutable_call_start_time() = ToProtoTime(start);
  }
  request->set_request_id(context.request_id);
  return absl::OkStatus();
}

absl::Status BuildAuditList(const ParsedArgs& args, const Context& context,
                            v1::ListAuditRecordsRequest* request) {
  ASSIGN_OR_RETURN(*request->mutable_parent(), TenantParent(context.tenant));
  RETURN_IF_ERROR(FillPaging(args, request));
  if (args.Has("call")) {
    ASSIGN_OR_RETURN(*request->mutable_call(),
                     CallName("--call", args.Get("call"), context.tenant));
  }
  request->set_actor(args.Get("actor"));
  if (args.Has("from") || args.Has("to") || args.Has("last")) {
    RETURN_IF_ERROR(
        FillTimeRange(args, context, false, request->mutable_time_range()));
  }
  return absl::OkStatus();
}

absl::Status BuildAuditVerify(const ParsedArgs&, const Context& context,
                              v1::VerifyAuditChainRequest* request) {
  RETURN_IF_ERROR(TenantParent(context.tenant).status());
  request->set_tenant(context.tenant);
  return absl::OkStatus();
}

absl::Status BuildWhoami(const ParsedArgs&, const Context& context,
                         v1::AuthenticateRequest* request) {
  if (context.token.empty()) {
    return absl::InvalidArgumentError(
        "no token: set --token, --token_file or SOTTO_TOKEN");
  }
  request->set_token(context.token);
  return absl::OkStatus();
}

absl::Status BuildAuthorize(const ParsedArgs& args, const Context& context,
                            v1::AuthorizeRequest* request) {
  RETURN_IF_ERROR(Required(args, "action"));
  ASSIGN_OR_RETURN(v1::Action action,
                   ParseAction("--action", args.Get("action")));
  request->set_action(action);
  // Without --subject the principal is the token's, filled by Authenticate
  // just before Authorize (see the command's execute).
  if (args.Has("subject")) {
    v1::Principal* principal = request->mutable_principal();
    principal->set_tenant(context.tenant);
    principal->set_subject(args.Get("subject"));
    for (const auto& role : args.GetList("roles")) principal->add_roles(role);
    for (const auto& team : args.GetList("teams")) principal->add_teams(team);
  } else if (context.token.empty()) {
    return absl::InvalidArgumentError(
        "no principal: give --subject and --roles, or a token (--token, "
        "SOTTO_TOKEN)");
  }
  v1::ResourceAttributes* resource = request->mutable_resource();
  if (context.tenant.empty()) {
    return absl::InvalidArgumentError("no tenant: pass --tenant");
  }
  resource->set_tenant(context.tenant);
  if (args.Has("call")) {
    ASSIGN_OR_RETURN(*resource->mutable_call(),
                     CallName("--call", args.Get("call"), context.tenant));
  }
  resource->set_queue(args.Get("queue"));
  resource->set_agent_id(args.Get("agent"));
  resource->set_team(args.Get("team"));
  RETURN_IF_ERROR(FillAttributes(args, resource->mutable_attributes()));
  ASSIGN_OR_RETURN(bool disclosed, args.GetBool("disclosed"));
  resource->set_monitoring_disclosed(disclosed);
  if (args.Has("mode")) {
    ASSIGN_OR_RETURN(v1::Mode mode, ParseMode("--mode", args.Get("mode")));
    request->set_mode(mode);
  }
  return absl::OkStatus();
}

absl::Status BuildRecordingPolicy(const ParsedArgs& args,
                                  const Context& context,
                                  v1::GetRecordingPolicyRequest* request) {
  RETURN_IF_ERROR(TenantParent(context.tenant).status());
  request->set_tenant(context.tenant);
  request->set_queue(args.Get("queue"));
  return absl::OkStatus();
}

absl::Status BuildStats(const ParsedArgs& args, const Context&,
                        v1::GetStatsRequest* request) {
  request->set_room_id(Operand(args, 0));
  return absl::OkStatus();
}

absl::Status BuildDrain(const ParsedArgs& args, const Context&,
                        v1::DrainRequest* request) {
  if (args.Has("deadline")) {
    ASSIGN_OR_RETURN(absl::Duration deadline,
                     ParseDuration("--deadline", args.Get("deadline")));
    *request->mutable_deadline() = ToProtoDuration(deadline);
  }
  return absl::OkStatus();
}

// ------------------------------------------------------------------ execution

template <typename Req>
using Builder = absl::Status (*)(const ParsedArgs&, const Context&, Req*);
template <typename Req, typename Resp>
using Rpc = grpc::Status (*)(Stubs&, grpc::ClientContext*, const Req&, Resp*);
template <typename Resp>
using Formatter = std::string (*)(const Resp&);

template <typename Resp>
void Print(Invocation& inv, const Resp& response, Formatter<Resp> format) {
  if (inv.format == OutputFormat::kJson) {
    *inv.out << ToJsonLine(response) << "\n";
  } else {
    *inv.out << format(response);
  }
  inv.out->flush();
}

// Runs one RPC with Ctrl-C cancelling it.
template <typename Req, typename Resp>
grpc::Status CallOnce(Invocation& inv, Rpc<Req, Resp> rpc, const Req& request,
                      Resp* response) {
  std::unique_ptr<grpc::ClientContext> context = inv.new_context();
  inv.cancellation->Attach(context.get());
  grpc::Status status = rpc(*inv.stubs, context.get(), request, response);
  inv.cancellation->Detach();
  return status;
}

template <typename Req>
void SetBuild(Command* command, Builder<Req> build) {
  command->build = [build](
                       const ParsedArgs& args,
                       const Context& context) -> absl::StatusOr<RequestPtr> {
    auto request = std::make_unique<Req>();
    RETURN_IF_ERROR(build(args, context, request.get()));
    return RequestPtr(std::move(request));
  };
}

template <typename Req, typename Resp>
void Unary(Command* command, Builder<Req> build, Rpc<Req, Resp> rpc,
           Formatter<Resp> format) {
  SetBuild(command, build);
  command->execute = [rpc, format](Invocation& inv, const Message& message) {
    Resp response;
    grpc::Status status =
        CallOnce(inv, rpc, static_cast<const Req&>(message), &response);
    if (status.ok()) Print(inv, response, format);
    return status;
  };
}

// A List RPC: one page, or with --all every page merged into one response.
template <typename Req, typename Resp>
void Paged(Command* command, Builder<Req> build, Rpc<Req, Resp> rpc,
           Formatter<Resp> format) {
  SetBuild(command, build);
  command->execute = [rpc, format](Invocation& inv, const Message& message) {
    Req request = static_cast<const Req&>(message);
    const bool all = inv.args->GetBool("all").value_or(false);
    Resp merged;
    for (int page = 0;; ++page) {
      Resp response;
      grpc::Status status = CallOnce(inv, rpc, request, &response);
      if (!status.ok()) return status;
      const std::string next = response.next_page_token();
      merged.MergeFrom(response);
      merged.set_next_page_token(next);
      if (!all || next.empty()) break;
      if (next == request.page_token()) {
        return grpc::Status(grpc::StatusCode::INTERNAL,
                            "the server returned the same page_token twice");
      }
      request.set_page_token(next);
    }
    Print(inv, merged, format);
    return grpc::Status::OK;
  };
}

// WatchCall / WatchCalls: one line (or JSON object) per event until the
// stream ends, --timeout passes or Ctrl-C; the latter two are a normal end.
template <typename Req>
using WatchRpc =
    std::unique_ptr<grpc::ClientReaderInterface<v1::CallEvent>> (*)(
        Stubs&, grpc::ClientContext*, const Req&);

template <typename Req>
void Watch(Command* command, Builder<Req> build, WatchRpc<Req> rpc) {
  SetBuild(command, build);
  command->execute = [rpc](Invocation& inv, const Message& message) {
    std::unique_ptr<grpc::ClientContext> context = inv.new_context();
    inv.cancellation->Attach(context.get());
    auto reader =
        rpc(*inv.stubs, context.get(), static_cast<const Req&>(message));
    v1::CallEvent event;
    while (reader->Read(&event)) Print(inv, event, FormatCallEvent);
    grpc::Status status = reader->Finish();
    inv.cancellation->Detach();
    if (status.error_code() == grpc::StatusCode::DEADLINE_EXCEEDED &&
        inv.args->Has("timeout")) {
      return grpc::Status::OK;
    }
    if (status.error_code() == grpc::StatusCode::CANCELLED &&
        inv.cancellation->cancelled()) {
      return grpc::Status::OK;
    }
    return status;
  };
}

// Where a download or export goes: --out=PATH, or "-" for stdout.
class Sink {
 public:
  explicit Sink(Invocation& inv) : inv_(inv) {
    path_ = inv.args->Get("out", "-");
    if (path_ != "-") file_.open(path_, std::ios::binary | std::ios::trunc);
  }
  bool ok() const { return path_ == "-" || file_.is_open(); }
  const std::string& path() const { return path_; }
  std::ostream& stream() { return path_ == "-" ? *inv_.out : file_; }
  grpc::Status Close() {
    if (path_ == "-") {
      inv_.out->flush();
      return grpc::Status::OK;
    }
    file_.close();
    if (file_.fail()) {
      return grpc::Status(grpc::StatusCode::INTERNAL,
                          "could not write " + path_);
    }
    return grpc::Status::OK;
  }
  grpc::Status OpenError() const {
    return grpc::Status(grpc::StatusCode::INVALID_ARGUMENT,
                        "--out: cannot open \"" + path_ + "\" for writing");
  }

 private:
  Invocation& inv_;
  std::string path_;
  std::ofstream file_;
};

std::string HexSha256(const unsigned char* digest, unsigned int size) {
  std::string hex;
  for (unsigned int i = 0; i < size; ++i) {
    absl::StrAppendFormat(&hex, "%02x", digest[i]);
  }
  return hex;
}

grpc::Status ExecuteDownload(Invocation& inv, const Message& message) {
  const auto& request =
      static_cast<const v1::DownloadRecordingRequest&>(message);
  Sink sink(inv);
  if (!sink.ok()) return sink.OpenError();
  std::unique_ptr<grpc::ClientContext> context = inv.new_context();
  inv.cancellation->Attach(context.get());
  auto reader = inv.stubs->recorder().DownloadRecording(context.get(), request);
  v1::DownloadRecordingResponse chunk;
  v1::Recording::File file;
  uint64_t bytes = 0;
  // The client checks the SHA-256 the recorder announced, end to end.
  std::unique_ptr<EVP_MD_CTX, decltype(&EVP_MD_CTX_free)> sha(EVP_MD_CTX_new(),
                                                              EVP_MD_CTX_free);
  EVP_DigestInit_ex(sha.get(), EVP_sha256(), nullptr);
  while (reader->Read(&chunk)) {
    if (chunk.has_file()) file = chunk.file();
    sink.stream().write(chunk.chunk().data(),
                        static_cast<std::streamsize>(chunk.chunk().size()));
    EVP_DigestUpdate(sha.get(), chunk.chunk().data(), chunk.chunk().size());
    bytes += chunk.chunk().size();
  }
  grpc::Status status = reader->Finish();
  inv.cancellation->Detach();
  if (!status.ok()) return status;
  grpc::Status closed = sink.Close();
  if (!closed.ok()) return closed;
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int size = 0;
  EVP_DigestFinal_ex(sha.get(), digest, &size);
  const std::string sha256 = HexSha256(digest, size);
  if (!file.sha256().empty() && file.sha256() != sha256) {
    return grpc::Status(
        grpc::StatusCode::DATA_LOSS,
        absl::StrCat("downloaded ", bytes, " bytes with SHA-256 ", sha256,
                     " but the recording's file has ", file.sha256()));
  }
  // Progress goes to stderr so that stdout stays the file's bytes.
  *inv.err << "wrote " << bytes << " bytes to "
           << (sink.path() == "-" ? "stdout" : sink.path()) << " (sha256 "
           << sha256 << ")\n";
  return grpc::Status::OK;
}

grpc::Status ExecuteExportCsv(Invocation& inv, const Message& message) {
  const auto& request = static_cast<const v1::ExportReportCsvRequest&>(message);
  Sink sink(inv);
  if (!sink.ok()) return sink.OpenError();
  std::unique_ptr<grpc::ClientContext> context = inv.new_context();
  inv.cancellation->Attach(context.get());
  auto reader = inv.stubs->reporting().ExportReportCsv(context.get(), request);
  v1::CsvChunk chunk;
  uint64_t bytes = 0;
  while (reader->Read(&chunk)) {
    sink.stream().write(chunk.data().data(),
                        static_cast<std::streamsize>(chunk.data().size()));
    bytes += chunk.data().size();
  }
  grpc::Status status = reader->Finish();
  inv.cancellation->Detach();
  if (!status.ok()) return status;
  grpc::Status closed = sink.Close();
  if (!closed.ok()) return closed;
  if (sink.path() != "-") {
    *inv.err << "wrote " << bytes << " bytes to " << sink.path() << "\n";
  }
  return grpc::Status::OK;
}

// `authorize check` without --subject: the principal is the token's own.
grpc::Status ExecuteAuthorize(Invocation& inv, const Message& message) {
  v1::AuthorizeRequest request =
      static_cast<const v1::AuthorizeRequest&>(message);
  if (!request.has_principal()) {
    // The token travels in the request body of Authenticate, as the policy
    // service expects; the CLI stored it nowhere else.
    v1::AuthenticateRequest authenticate;
    authenticate.set_token(inv.context->token);
    grpc::Status status = CallOnce<v1::AuthenticateRequest, v1::Principal>(
        inv,
        [](Stubs& s, grpc::ClientContext* c, const v1::AuthenticateRequest& r,
           v1::Principal* o) { return s.policy().Authenticate(c, r, o); },
        authenticate, request.mutable_principal());
    if (!status.ok()) return status;
  }
  v1::Decision decision;
  grpc::Status status = CallOnce<v1::AuthorizeRequest, v1::Decision>(
      inv,
      [](Stubs& s, grpc::ClientContext* c, const v1::AuthorizeRequest& r,
         v1::Decision* o) { return s.policy().Authorize(c, r, o); },
      request, &decision);
  if (status.ok()) Print(inv, decision, FormatDecision);
  return status;
}

// ------------------------------------------------------------------ the table

Command Cmd(std::string noun, std::string verb, std::string summary,
            Service service, std::string rpc) {
  Command c;
  c.noun = std::move(noun);
  c.verb = std::move(verb);
  c.summary = std::move(summary);
  c.service = service;
  c.rpc = std::move(rpc);
  return c;
}

void Operands(Command* c, std::string usage, int min, int max) {
  c->operands = std::move(usage);
  c->min_operands = min;
  c->max_operands = max;
}

#define STUB_RPC(stub, Method)                                   \
  [](Stubs& s, grpc::ClientContext* c, const auto& r, auto* o) { \
    return s.stub().Method(c, r, o);                             \
  }

std::vector<Command> MakeCommands() {
  std::vector<Command> all;
  const Service kBroker = Service::kBroker;

  // ---- calls
  {
    Command c = Cmd("calls", "register",
                    "register a call and place its customer and agent legs",
                    kBroker, "sotto.v1.Broker/RegisterCall");
    Operands(&c, "CALL_ID", 1, 1);
    c.mutating = true;
    c.flags = {Flag("queue", "QUEUE", "queue (skill, campaign) of the call"),
               Flag("agent", "AGENT_ID", "the agent's id (required)"),
               Flag("team", "TEAM", "the agent's team (required)"),
               Flag("agent_name", "NAME", "the agent's display name"),
               Flag("customer_name", "NAME", "the customer's display name"),
               Flag("attr", "KEY=VALUE", "call attribute (repeatable)",
                    Kind::kRepeated),
               Bool("disclosed", "the customer was told about monitoring")};
    Append(&c.flags, OfferFlags("customer_", "the customer"));
    Append(&c.flags, OfferFlags("agent_", "the agent"));
    Unary<v1::RegisterCallRequest, v1::Call>(
        &c, BuildRegisterCall, STUB_RPC(broker, RegisterCall), FormatCall);
    all.push_back(std::move(c));
  }
  {
    Command c = Cmd("calls", "get", "show one call", kBroker,
                    "sotto.v1.Broker/GetCall");
    Operands(&c, "CALL", 1, 1);
    Unary<v1::GetCallRequest, v1::Call>(&c, BuildGetCall,
                                        STUB_RPC(broker, GetCall), FormatCall);
    all.push_back(std::move(c));
  }
  {
    Command c = Cmd("calls", "list", "list calls, newest first", kBroker,
                    "sotto.v1.Broker/ListCalls");
    c.flags = {Flag("queue", "QUEUE", "only calls of this queue"),
               Flag("team", "TEAM", "only calls whose agent is in this team"),
               Flag("agent", "AGENT_ID", "only calls of this agent"),
               Flag("state", "STATE",
                    "only these states: active|on-hold|ended|failed "
                    "(default active,on-hold)",
                    Kind::kRepeated)};
    Append(&c.flags, PageFlags());
    Paged<v1::ListCallsRequest, v1::ListCallsResponse>(
        &c, BuildListCalls, STUB_RPC(broker, ListCalls), FormatCalls);
    all.push_back(std::move(c));
  }
  {
    Command c = Cmd("calls", "end", "end a call (releases its supervisions)",
                    kBroker, "sotto.v1.Broker/EndCall");
    Operands(&c, "CALL", 1, 1);
    c.mutating = true;
    c.flags = {Flag("reason", "TEXT", "why, e.g. \"customer hung up\"")};
    Unary<v1::EndCallRequest, v1::Call>(&c, BuildEndCall,
                                        STUB_RPC(broker, EndCall), FormatCall);
    all.push_back(std::move(c));
  }
  {
    Command c = Cmd("calls", "hold", "put the customer on hold", kBroker,
                    "sotto.v1.Broker/HoldCall");
    Operands(&c, "CALL", 1, 1);
    c.mutating = true;
    Unary<v1::HoldCallRequest, v1::Call>(
        &c, BuildCallAction<v1::HoldCallRequest>, STUB_RPC(broker, HoldCall),
        FormatCall);
    all.push_back(std::move(c));
  }
  {
    Command c = Cmd("calls", "resume", "take the customer off hold", kBroker,
                    "sotto.v1.Broker/ResumeCall");
    Operands(&c, "CALL", 1, 1);
    c.mutating = true;
    Unary<v1::ResumeCallRequest, v1::Call>(
        &c, BuildCallAction<v1::ResumeCallRequest>,
        STUB_RPC(broker, ResumeCall), FormatCall);
    all.push_back(std::move(c));
  }
  {
    Command c = Cmd("calls", "update",
                    "change a call's queue, attributes or disclosure", kBroker,
                    "sotto.v1.Broker/UpdateCall");
    Operands(&c, "CALL", 1, 1);
    c.mutating = true;
    c.flags = {
        Flag("queue", "QUEUE", "the new queue"),
        Flag("attr", "KEY=VALUE",
             "attribute (repeatable; replaces the whole map)", Kind::kRepeated),
        Bool("clear_attrs", "remove every attribute"),
        Flag("disclosed", "true|false",
             "the customer was told about monitoring")};
    Unary<v1::UpdateCallRequest, v1::Call>(
        &c, BuildUpdateCall, STUB_RPC(broker, UpdateCall), FormatCall);
    all.push_back(std::move(c));
  }
  {
    Command c = Cmd("calls", "transfer",
                    "replace the agent leg (supervisions follow policy)",
                    kBroker, "sotto.v1.Broker/TransferCall");
    Operands(&c, "CALL", 1, 1);
    c.mutating = true;
    c.flags = {Flag("agent", "AGENT_ID", "the new agent's id (required)"),
               Flag("team", "TEAM", "the new agent's team (required)"),
               Flag("agent_name", "NAME", "the new agent's display name"),
               Flag("reason", "TEXT", "why, e.g. \"escalated to billing\"")};
    Append(&c.flags, OfferFlags("agent_", "the new agent"));
    Unary<v1::TransferCallRequest, v1::TransferCallResponse>(
        &c, BuildTransferCall, STUB_RPC(broker, TransferCall), FormatTransfer);
    all.push_back(std::move(c));
  }
  {
    Command c = Cmd("calls", "pause-recording",
                    "pause the call's recording (silence, marked)", kBroker,
                    "sotto.v1.Broker/PauseCallRecording");
    Operands(&c, "CALL", 1, 1);
    c.mutating = true;
    c.flags = {Flag("reason", "TEXT", "why, e.g. \"card number\"")};
    Unary<v1::PauseCallRecordingRequest, v1::Call>(
        &c, BuildPauseCallRecording, STUB_RPC(broker, PauseCallRecording),
        FormatCall);
    all.push_back(std::move(c));
  }
  {
    Command c = Cmd("calls", "resume-recording", "resume the call's recording",
                    kBroker, "sotto.v1.Broker/ResumeCallRecording");
    Operands(&c, "CALL", 1, 1);
    c.mutating = true;
    Unary<v1::ResumeCallRecordingRequest, v1::Call>(
        &c, BuildCallAction<v1::ResumeCallRecordingRequest>,
        STUB_RPC(broker, ResumeCallRecording), FormatCall);
    all.push_back(std::move(c));
  }
  {
    Command c = Cmd("calls", "update-media",
                    "change a customer or agent leg's media (re-INVITE)",
                    kBroker, "sotto.v1.Broker/UpdateParticipantMedia");
    Operands(&c, "PARTICIPANT", 1, 1);
    c.mutating = true;
    c.flags = {Flag("call", "CALL", "the call, when PARTICIPANT is a bare id")};
    Append(&c.flags, OfferFlags("", "the participant"));
    Unary<v1::UpdateParticipantMediaRequest, v1::Participant>(
        &c, BuildUpdateMedia, STUB_RPC(broker, UpdateParticipantMedia),
        FormatParticipant);
    all.push_back(std::move(c));
  }

  // ---- supervisions
  {
    Command c = Cmd("supervisions", "create",
                    "attach yourself (the token's subject) to a call", kBroker,
                    "sotto.v1.Broker/CreateSupervision");
    c.aliases = {"supervise"};
    Operands(&c, "CALL", 1, 1);
    c.mutating = true;
    c.flags = {
        Flag("mode", "MODE", "listen|whisper|barge|takeover (default listen)"),
        Flag("display_name", "NAME", "your name as shown in the call"),
        Flag("reason", "TEXT",
             "why (audited; policy may require one for takeover)")};
    Append(&c.flags, OfferFlags("", "your softphone"));
    Unary<v1::CreateSupervisionRequest, v1::Supervision>(
        &c, BuildCreateSupervision, STUB_RPC(broker, CreateSupervision),
        FormatSupervision);
    all.push_back(std::move(c));
  }
  {
    Command c = Cmd("supervisions", "mode",
                    "switch a supervision's mode on the same leg", kBroker,
                    "sotto.v1.Broker/SetSupervisionMode");
    c.aliases = {"mode"};
    Operands(&c, "SUPERVISION MODE", 1, 2);
    c.mutating = true;
    c.flags = {Flag("call", "CALL", "the call, when SUPERVISION is a bare id"),
               Flag("mode", "MODE", "the mode, instead of the MODE operand"),
               Bool("preempt", "takeover: take it from a lower-ranked holder"),
               Flag("reason", "TEXT",
                    "why (audited; policy may require one for takeover)")};
    Unary<v1::SetSupervisionModeRequest, v1::Supervision>(
        &c, BuildSetMode, STUB_RPC(broker, SetSupervisionMode),
        FormatSupervision);
    all.push_back(std::move(c));
  }
  {
    Command c = Cmd("supervisions", "release", "detach a supervisor", kBroker,
                    "sotto.v1.Broker/DeleteSupervision");
    c.aliases = {"release"};
    Operands(&c, "SUPERVISION", 1, 1);
    c.mutating = true;
    c.flags = {Flag("call", "CALL", "the call, when SUPERVISION is a bare id")};
    Unary<v1::DeleteSupervisionRequest, v1::Supervision>(
        &c, BuildRelease, STUB_RPC(broker, DeleteSupervision),
        FormatSupervision);
    all.push_back(std::move(c));
  }
  {
    Command c = Cmd("supervisions", "get", "show one supervision", kBroker,
                    "sotto.v1.Broker/GetSupervision");
    Operands(&c, "SUPERVISION", 1, 1);
    c.flags = {Flag("call", "CALL", "the call, when SUPERVISION is a bare id")};
    Unary<v1::GetSupervisionRequest, v1::Supervision>(
        &c, BuildGetSupervision, STUB_RPC(broker, GetSupervision),
        FormatSupervision);
    all.push_back(std::move(c));
  }
  {
    Command c = Cmd("supervisions", "list",
                    "list supervisions of a call (default: of every call)",
                    kBroker, "sotto.v1.Broker/ListSupervisions");
    Operands(&c, "[CALL]", 0, 1);
    c.flags = {Flag("supervisor", "SUBJECT", "only this supervisor's"),
               Bool("include_ended", "include released and detached ones")};
    Append(&c.flags, PageFlags());
    Paged<v1::ListSupervisionsRequest, v1::ListSupervisionsResponse>(
        &c, BuildListSupervisions, STUB_RPC(broker, ListSupervisions),
        FormatSupervisions);
    all.push_back(std::move(c));
  }

  // ---- watch
  {
    Command c = Cmd("watch", "call",
                    "stream a call's events, one line each (Ctrl-C stops)",
                    kBroker, "sotto.v1.Broker/WatchCall");
    Operands(&c, "CALL", 1, 1);
    c.streaming = true;
    Watch<v1::WatchCallRequest>(
        &c, BuildWatchCall,
        [](Stubs& s, grpc::ClientContext* ctx, const v1::WatchCallRequest& r) {
          return s.broker().WatchCall(ctx, r);
        });
    all.push_back(std::move(c));
  }
  {
    Command c = Cmd("watch", "calls",
                    "stream events of every call you may see (Ctrl-C stops)",
                    kBroker, "sotto.v1.Broker/WatchCalls");
    c.streaming = true;
    c.flags = {Flag("queue", "QUEUE", "only calls of this queue"),
               Flag("team", "TEAM", "only calls whose agent is in this team"),
               Flag("agent", "AGENT_ID", "only calls of this agent")};
    Watch<v1::WatchCallsRequest>(
        &c, BuildWatchCalls,
        [](Stubs& s, grpc::ClientContext* ctx, const v1::WatchCallsRequest& r) {
          return s.broker().WatchCalls(ctx, r);
        });
    all.push_back(std::move(c));
  }

  // ---- engines
  {
    Command c = Cmd("engines", "list",
                    "media engines known to the broker, with load and health",
                    kBroker, "sotto.v1.EngineRegistry/ListEngines");
    Unary<v1::ListEnginesRequest, v1::ListEnginesResponse>(
        &c, BuildEmpty<v1::ListEnginesRequest>, STUB_RPC(registry, ListEngines),
        FormatEngines);
    all.push_back(std::move(c));
  }

  // ---- recordings
  const Service kRecorder = Service::kRecorder;
  {
    Command c = Cmd("recordings", "list", "list recordings, newest first",
                    kRecorder, "sotto.v1.Recorder/ListRecordings");
    c.flags = {Flag("call", "CALL", "only this call's"),
               Flag("team", "TEAM", "only this team's calls"),
               Flag("agent", "AGENT_ID", "only this agent's calls")};
    Append(&c.flags, TimeFlags());
    Append(&c.flags, PageFlags());
    Paged<v1::ListRecordingsRequest, v1::ListRecordingsResponse>(
        &c, BuildListRecordings, STUB_RPC(recorder, ListRecordings),
        FormatRecordings);
    all.push_back(std::move(c));
  }
  {
    Command c = Cmd("recordings", "get",
                    "show a recording: files, mode spans, pauses, gaps",
                    kRecorder, "sotto.v1.Recorder/GetRecording");
    Operands(&c, "RECORDING", 1, 1);
    Unary<v1::GetRecordingRequest, v1::Recording>(
        &c, BuildGetRecording, STUB_RPC(recorder, GetRecording),
        FormatRecording);
    all.push_back(std::move(c));
  }
  {
    Command c = Cmd("recordings", "download",
                    "download one file of a finished recording (SHA-256 "
                    "checked)",
                    kRecorder, "sotto.v1.Recorder/DownloadRecording");
    Operands(&c, "RECORDING", 1, 1);
    c.flags = {
        Flag("file", "N", "which file (index in `recordings get`)"),
        Flag("out", "PATH", "where to write it; - for stdout (required)")};
    SetBuild<v1::DownloadRecordingRequest>(&c, BuildDownload);
    c.execute = ExecuteDownload;
    all.push_back(std::move(c));
  }
  {
    Command c = Cmd("recordings", "start",
                    "start recording a call from its engine's tap (internal)",
                    kRecorder, "sotto.v1.Recorder/StartRecording");
    Operands(&c, "CALL", 1, 1);
    c.mutating = true;
    c.flags = {
        Flag("engine_address", "HOST:PORT",
             "the media engine carrying the call (required)"),
        Flag("room", "ROOM", "the room to tap (default: the call's name)"),
        Flag("queue", "QUEUE", "the call's queue"),
        Flag("team", "TEAM", "the agent's team"),
        Flag("agent", "AGENT_ID", "the agent id"),
        Flag("leg", "LEG=ROLE", "a leg known at start (repeatable)",
             Kind::kRepeated),
        Flag("layout", "LAYOUT",
             "multichannel|stereo-plus-supervisor-file (default multichannel)"),
        Bool("keep_whisper_audio", "keep what supervisors whisper"),
        Bool("require_disclosure", "record only disclosed calls"),
        Flag("retention", "DURATION", "delete after this long (90d)"),
        Bool("disclosed", "the customer was told about recording")};
    Unary<v1::StartRecordingRequest, v1::Recording>(
        &c, BuildStartRecording, STUB_RPC(recorder, StartRecording),
        FormatRecording);
    all.push_back(std::move(c));
  }
  {
    Command c = Cmd("recordings", "stop", "stop and finalise a recording",
                    kRecorder, "sotto.v1.Recorder/StopRecording");
    Operands(&c, "RECORDING", 1, 1);
    c.mutating = true;
    Unary<v1::StopRecordingRequest, v1::Recording>(
        &c, BuildRecordingAction<v1::StopRecordingRequest>,
        STUB_RPC(recorder, StopRecording), FormatRecording);
    all.push_back(std::move(c));
  }
  {
    Command c = Cmd("recordings", "pause", "pause a recording", kRecorder,
                    "sotto.v1.Recorder/PauseRecording");
    Operands(&c, "RECORDING", 1, 1);
    c.mutating = true;
    c.flags = {Flag("reason", "TEXT", "why, for the audit trail")};
    Unary<v1::PauseRecordingRequest, v1::Recording>(
        &c, BuildPauseRecording, STUB_RPC(recorder, PauseRecording),
        FormatRecording);
    all.push_back(std::move(c));
  }
  {
    Command c = Cmd("recordings", "resume", "resume a paused recording",
                    kRecorder, "sotto.v1.Recorder/ResumeRecording");
    Operands(&c, "RECORDING", 1, 1);
    c.mutating = true;
    Unary<v1::ResumeRecordingRequest, v1::Recording>(
        &c, BuildRecordingAction<v1::ResumeRecordingRequest>,
        STUB_RPC(recorder, ResumeRecording), FormatRecording);
    all.push_back(std::move(c));
  }
  {
    Command c = Cmd("recordings", "annotate",
                    "add a leg or a supervision mode span to the index",
                    kRecorder, "sotto.v1.Recorder/AnnotateRecording");
    Operands(&c, "RECORDING", 1, 1);
    c.mutating = true;
    c.flags = {
        Flag("leg", "LEG_ID", "a leg joined"),
        Flag("leg_role", "ROLE", "its role: customer|agent|supervisor"),
        Flag("leg_user", "USER", "its agent id or supervisor subject"),
        Flag("supervision", "SUPERVISION", "a supervision changed mode"),
        Flag("call", "CALL", "the call, when --supervision is a bare id"),
        Flag("supervisor", "SUBJECT", "its supervisor"),
        Flag("mode", "MODE", "the mode that took effect"),
        Flag("time", "TIME", "when (RFC 3339, default now)"),
        Bool("ended", "the supervision ended at --time")};
    Unary<v1::AnnotateRecordingRequest, v1::Recording>(
        &c, BuildAnnotate, STUB_RPC(recorder, AnnotateRecording),
        FormatRecording);
    all.push_back(std::move(c));
  }
  {
    Command c = Cmd("retention", "apply",
                    "delete recordings past retention now (audited)", kRecorder,
                    "sotto.v1.Recorder/ApplyRetention");
    c.flags = {Bool("dry_run", "only list what would be deleted"),
               Bool("all_tenants", "every tenant, not only --tenant")};
    Unary<v1::ApplyRetentionRequest, v1::ApplyRetentionResponse>(
        &c, BuildRetention, STUB_RPC(recorder, ApplyRetention),
        FormatRetention);
    all.push_back(std::move(c));
  }

  // ---- reports
  const Service kReporting = Service::kReporting;
  const FlagSpec group_by =
      Flag("group_by", "GROUP", "supervisor|agent|team|queue");
  {
    Command c =
        Cmd("reports", "activity",
            "supervision activity per supervisor, agent, team or queue",
            kReporting, "sotto.v1.Reporting/GetSupervisionActivityReport");
    c.flags = ScopeFlags();
    c.flags.push_back(group_by);
    c.flags.back().help += " (default team)";
    Append(&c.flags, PageFlags());
    Paged<v1::SupervisionActivityReportRequest, v1::SupervisionActivityReport>(
        &c, BuildActivity, STUB_RPC(reporting, GetSupervisionActivityReport),
        FormatActivityReport);
    all.push_back(std::move(c));
  }
  {
    Command c =
        Cmd("reports", "coaching",
            "outcomes of coached vs not coached calls, with trend", kReporting,
            "sotto.v1.Reporting/GetCoachingEffectivenessReport");
    c.flags = ScopeFlags();
    c.flags.push_back(group_by);
    c.flags.back().help += " (default agent)";
    c.flags.push_back(Flag("bucket", "DURATION", "trend bucket (default 7d)"));
    Append(&c.flags, PageFlags());
    Paged<v1::CoachingEffectivenessReportRequest,
          v1::CoachingEffectivenessReport>(
        &c, BuildCoaching, STUB_RPC(reporting, GetCoachingEffectivenessReport),
        FormatCoachingReport);
    all.push_back(std::move(c));
  }
  {
    Command c =
        Cmd("reports", "ramp-up", "outcomes by week since each agent started",
            kReporting, "sotto.v1.Reporting/GetRampUpReport");
    c.flags = ScopeFlags();
    c.flags.push_back(group_by);
    c.flags.back().help += " (default team)";
    c.flags.push_back(Flag("weeks", "N", "weeks to report (default 12)"));
    Append(&c.flags, PageFlags());
    Paged<v1::RampUpReportRequest, v1::RampUpReport>(
        &c, BuildRampUp, STUB_RPC(reporting, GetRampUpReport),
        FormatRampUpReport);
    all.push_back(std::move(c));
  }
  {
    Command c = Cmd("reports", "export-csv",
                    "a whole report as CSV: activity|coaching|ramp-up",
                    kReporting, "sotto.v1.Reporting/ExportReportCsv");
    Operands(&c, "REPORT", 1, 1);
    c.flags = ScopeFlags();
    c.flags.push_back(group_by);
    c.flags.push_back(Flag("bucket", "DURATION", "coaching: trend bucket"));
    c.flags.push_back(Flag("weeks", "N", "ramp-up: weeks to report"));
    c.flags.push_back(
        Flag("out", "PATH", "where to write it (default stdout)"));
    SetBuild<v1::ExportReportCsvRequest>(&c, BuildExportCsv);
    c.execute = ExecuteExportCsv;
    all.push_back(std::move(c));
  }
  {
    Command c =
        Cmd("outcomes", "report", "report how a call went (after wrap-up)",
            kReporting, "sotto.v1.Reporting/ReportOutcome");
    Operands(&c, "CALL", 1, 1);
    c.mutating = true;
    c.flags = {
        Flag("agent", "AGENT_ID", "the agent who handled it last (required)"),
        Flag("team", "TEAM", "the agent's team"),
        Flag("queue", "QUEUE", "the queue"),
        Bool("fcr", "resolved on first contact"),
        Bool("transferred", "transferred to another agent"),
        Bool("escalated", "escalated"),
        Flag("csat", "1-5", "customer satisfaction (0: not surveyed)"),
        Flag("qa_score", "0-100", "QA evaluation score"),
        Flag("compliance_errors", "N", "compliance errors found"),
        Flag("handle_time", "DURATION", "talk + hold + wrap-up (6m30s)"),
        Flag("agent_start", "TIME", "when the agent started (RFC 3339)"),
        Flag("call_start", "TIME", "when the call started (RFC 3339)")};
    Unary<v1::ReportOutcomeRequest, v1::CallOutcome>(
        &c, BuildReportOutcome, STUB_RPC(reporting, ReportOutcome),
        FormatOutcome);
    all.push_back(std::move(c));
  }
  {
    Command c = Cmd("audit", "list", "the tenant's audit trail, in chain order",
                    kReporting, "sotto.v1.Reporting/ListAuditRecords");
    c.flags = {Flag("call", "CALL", "only records about this call"),
               Flag("actor", "SUBJECT", "only records caused by this actor")};
    Append(&c.flags, TimeFlags());
    Append(&c.flags, PageFlags());
    Paged<v1::ListAuditRecordsRequest, v1::ListAuditRecordsResponse>(
        &c, BuildAuditList, STUB_RPC(reporting, ListAuditRecords),
        FormatAuditRecords);
    all.push_back(std::move(c));
  }
  {
    Command c = Cmd("audit", "verify",
                    "recompute the tenant's hash chain; name the first break",
                    kReporting, "sotto.v1.Reporting/VerifyAuditChain");
    Unary<v1::VerifyAuditChainRequest, v1::VerifyAuditChainResponse>(
        &c, BuildAuditVerify, STUB_RPC(reporting, VerifyAuditChain),
        FormatAuditVerification);
    all.push_back(std::move(c));
  }

  // ---- policy
  const Service kPolicy = Service::kPolicy;
  {
    Command c = Cmd("whoami", "", "who the token names (tenant, roles, teams)",
                    kPolicy, "sotto.v1.Policy/Authenticate");
    Unary<v1::AuthenticateRequest, v1::Principal>(
        &c, BuildWhoami, STUB_RPC(policy, Authenticate), FormatPrincipal);
    all.push_back(std::move(c));
  }
  {
    Command c = Cmd("authorize", "check",
                    "would policy allow this action? (default: for your token)",
                    kPolicy, "sotto.v1.Policy/Authorize");
    c.flags = {
        Flag("action", "ACTION",
             "calls.manage|calls.view|calls.supervise|recordings.read|"
             "recordings.control|reports.read|outcomes.write (required)"),
        Flag("mode", "MODE", "calls.supervise: the mode asked for"),
        Flag("call", "CALL", "the call acted on"),
        Flag("queue", "QUEUE", "the call's queue"),
        Flag("team", "TEAM", "the agent's team"),
        Flag("agent", "AGENT_ID", "the call's agent"),
        Flag("attr", "KEY=VALUE", "call attribute (repeatable)",
             Kind::kRepeated),
        Bool("disclosed", "the customer was told about monitoring"),
        Flag("subject", "SUBJECT", "decide for this subject, not the token's"),
        Flag("roles", "ROLE", "with --subject: its roles", Kind::kRepeated),
        Flag("teams", "TEAM", "with --subject: its teams", Kind::kRepeated)};
    SetBuild<v1::AuthorizeRequest>(&c, BuildAuthorize);
    c.execute = ExecuteAuthorize;
    all.push_back(std::move(c));
  }
  {
    Command c = Cmd("policy", "status",
                    "which policy document is loaded; last reload error",
                    kPolicy, "sotto.v1.Policy/GetPolicyStatus");
    Unary<v1::GetPolicyStatusRequest, v1::PolicyStatus>(
        &c, BuildEmpty<v1::GetPolicyStatusRequest>,
        STUB_RPC(policy, GetPolicyStatus), FormatPolicyStatus);
    all.push_back(std::move(c));
  }
  {
    Command c =
        Cmd("policy", "recording", "the tenant's recording policy (per queue)",
            kPolicy, "sotto.v1.Policy/GetRecordingPolicy");
    c.flags = {Flag("queue", "QUEUE", "the queue, for per-queue rules")};
    Unary<v1::GetRecordingPolicyRequest, v1::RecordingPolicy>(
        &c, BuildRecordingPolicy, STUB_RPC(policy, GetRecordingPolicy),
        FormatRecordingPolicy);
    all.push_back(std::move(c));
  }

  // ---- media (ops)
  const Service kMedia = Service::kMedia;
  {
    Command c =
        Cmd("media", "info", "a media engine's identity, capacity, load",
            kMedia, "sotto.v1.MediaEngine/GetEngineInfo");
    Unary<v1::GetEngineInfoRequest, v1::EngineInfo>(
        &c, BuildEmpty<v1::GetEngineInfoRequest>,
        STUB_RPC(media, GetEngineInfo), FormatEngineInfo);
    all.push_back(std::move(c));
  }
  {
    Command c = Cmd("media", "rooms", "the rooms a media engine carries",
                    kMedia, "sotto.v1.MediaEngine/ListRooms");
    Unary<v1::ListRoomsRequest, v1::ListRoomsResponse>(
        &c, BuildEmpty<v1::ListRoomsRequest>, STUB_RPC(media, ListRooms),
        FormatRooms);
    all.push_back(std::move(c));
  }
  {
    Command c = Cmd("media", "stats", "per-leg quality of one room or all",
                    kMedia, "sotto.v1.MediaEngine/GetStats");
    Operands(&c, "[ROOM]", 0, 1);
    Unary<v1::GetStatsRequest, v1::GetStatsResponse>(
        &c, BuildStats, STUB_RPC(media, GetStats), FormatStats);
    all.push_back(std::move(c));
  }
  {
    Command c = Cmd("media", "drain",
                    "stop taking new rooms; live ones end or hit --deadline",
                    kMedia, "sotto.v1.MediaEngine/Drain");
    c.flags = {Flag("deadline", "DURATION",
                    "then delete the rooms left (default 1h)")};
    Unary<v1::DrainRequest, v1::DrainResponse>(
        &c, BuildDrain, STUB_RPC(media, Drain), FormatDrain);
    all.push_back(std::move(c));
  }
  return all;
}

}  // namespace

void Cancellation::Cancel() {
  std::lock_guard<std::mutex> lock(mu_);
  cancelled_ = true;
  if (active_ != nullptr) active_->TryCancel();
}

bool Cancellation::cancelled() const {
  std::lock_guard<std::mutex> lock(mu_);
  return cancelled_;
}

void Cancellation::Attach(grpc::ClientContext* context) {
  std::lock_guard<std::mutex> lock(mu_);
  active_ = context;
  if (cancelled_) context->TryCancel();
}

void Cancellation::Detach() {
  std::lock_guard<std::mutex> lock(mu_);
  active_ = nullptr;
}

const std::vector<Command>& Commands() {
  static const std::vector<Command>* const kCommands =
      new std::vector<Command>(MakeCommands());
  return *kCommands;
}

const Command* FindCommand(const std::string& noun, const std::string& verb) {
  for (const Command& c : Commands()) {
    if (c.noun == noun && c.verb == verb) return &c;
  }
  return nullptr;
}

const Command* FindAlias(const std::string& word) {
  for (const Command& c : Commands()) {
    if (c.verb.empty() && c.noun == word) return &c;
    for (const std::string& alias : c.aliases) {
      if (alias == word) return &c;
    }
  }
  return nullptr;
}

const std::vector<FlagSpec>& GlobalFlags() {
  static const std::vector<FlagSpec>* const kFlags = new std::vector<FlagSpec>{
      Flag("broker", "HOST:PORT",
           "broker (env SOTTO_BROKER, default 127.0.0.1:7100)"),
      Flag("recorder", "HOST:PORT",
           "recorder (env SOTTO_RECORDER, default 127.0.0.1:7103)"),
      Flag("reporting", "HOST:PORT",
           "reporting (env SOTTO_REPORTING, default 127.0.0.1:7104)"),
      Flag("policy", "HOST:PORT",
           "policy (env SOTTO_POLICY, default 127.0.0.1:7101)"),
      Flag("media", "HOST:PORT",
           "a media engine (env SOTTO_MEDIA, default 127.0.0.1:7102)"),
      Flag("token", "JWT", "bearer token (env SOTTO_TOKEN); never printed"),
      Flag("token_file", "PATH", "read the bearer token from a file"),
      Flag("tenant", "TENANT",
           "tenant for bare ids and lists (env SOTTO_TENANT, default: the "
           "token's tenant claim)"),
      Flag("request_id", "ID",
           "idempotency key of a mutation (default: a fresh UUID); reuse it "
           "to retry safely"),
      Flag("output", "FORMAT", "-o text|json (json: one object per line)"),
      Flag("timeout", "DURATION",
           "deadline of each RPC (default 30s); watch: stop after it"),
      Flag("tls_ca_file", "PATH",
           "PEM CA that signs the servers; any --tls_* turns TLS on (env "
           "SOTTO_TLS_CA_FILE)"),
      Flag("tls_client_cert_file", "PATH",
           "PEM client certificate (mutual TLS)"),
      Flag("tls_client_key_file", "PATH", "PEM key of --tls_client_cert_file"),
      Flag("tls_server_name", "NAME",
           "name to verify in the server certificate"),
      Bool("help", "-h: this help"),
  };
  return *kFlags;
}

absl::StatusOr<RequestPtr> BuildRequest(const Command& command,
                                        const ParsedArgs& args,
                                        const Context& context) {
  const int count = static_cast<int>(args.positional.size());
  if (count < command.min_operands || count > command.max_operands) {
    if (command.max_operands == 0) {
      return absl::InvalidArgumentError(absl::StrCat(
          "takes no operands, got \"", args.positional.front(), "\""));
    }
    return absl::InvalidArgumentError(absl::StrCat(
        "expected ", command.operands, ", got ", count, " operand(s)"));
  }
  return command.build(args, context);
}

}  // namespace sotto::sottoctl
