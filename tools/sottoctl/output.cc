#include "tools/sottoctl/output.h"

#include <algorithm>
#include <map>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "absl/time/time.h"
#include "google/protobuf/util/json_util.h"
#include "tools/sottoctl/names.h"
#include "tools/sottoctl/values.h"

namespace sotto::sottoctl {
namespace {

template <typename E>
std::string Name(E value) {
  return FriendlyName(google::protobuf::GetEnumDescriptor<E>(),
                      static_cast<int>(value));
}

std::string Or(const std::string& value, absl::string_view fallback = "-") {
  return value.empty() ? std::string(fallback) : value;
}

std::string FormatEndpoint(const v1::Endpoint& endpoint) {
  if (endpoint.address().empty() && endpoint.port() == 0) return "-";
  if (endpoint.address().find(':') != std::string::npos) {
    return absl::StrCat("[", endpoint.address(), "]:", endpoint.port());
  }
  return absl::StrCat(endpoint.address(), ":", endpoint.port());
}

// The media answer without its key: where to send, codec, suite.
std::string FormatAnswer(const v1::MediaAnswer& media) {
  if (!media.has_local_rtp()) return "-";
  std::string out =
      absl::StrCat(FormatEndpoint(media.local_rtp()), " ", Name(media.codec()));
  if (media.has_local_key()) {
    absl::StrAppend(&out, " ", Name(media.local_key().suite()));
    if (!media.local_key().inline_key().empty()) {
      absl::StrAppend(&out, " (key: -o json)");
    }
  }
  return out;
}

std::string FormatSeconds(double seconds) {
  return absl::StrFormat("%.1fs", seconds);
}

std::string FormatDuration(const google::protobuf::Duration& duration) {
  return absl::FormatDuration(
      absl::Trunc(FromProtoDuration(duration), absl::Milliseconds(1)));
}

std::string Percent(double share) {
  return absl::StrFormat("%.0f%%", share * 100);
}

std::string NextPage(const std::string& token) {
  if (token.empty()) return "";
  return absl::StrCat("next page: --page_token=", token, "\n");
}

std::string FormatStatsRow(const v1::OutcomeStats& stats) {
  return absl::StrFormat(
      "calls %d  fcr %s  transfers %s  aht %s  csat %.2f", stats.calls(),
      Percent(stats.first_contact_resolution_rate()),
      Percent(stats.transfer_rate()),
      FormatSeconds(stats.mean_handle_time_seconds()), stats.mean_csat());
}

}  // namespace

absl::StatusOr<OutputFormat> ParseOutputFormat(absl::string_view text) {
  const std::string lower = absl::AsciiStrToLower(text);
  if (lower == "text" || lower == "human" || lower == "table" ||
      lower.empty()) {
    return OutputFormat::kText;
  }
  if (lower == "json") return OutputFormat::kJson;
  return absl::InvalidArgumentError(absl::StrCat(
      "--output: unknown format \"", text, "\"; valid: text, json"));
}

std::string ToJsonLine(const google::protobuf::Message& message) {
  google::protobuf::util::JsonPrintOptions options;
  options.add_whitespace = false;
  options.preserve_proto_field_names = true;
  std::string out;
  // Serialising a valid message cannot fail; fall back to an empty object.
  if (!google::protobuf::util::MessageToJsonString(message, &out, options)
           .ok()) {
    return "{}";
  }
  return out;
}

std::string FormatTable(const std::vector<std::string>& header,
                        const std::vector<std::vector<std::string>>& rows) {
  std::vector<size_t> widths(header.size(), 0);
  auto measure = [&](const std::vector<std::string>& row) {
    for (size_t i = 0; i < row.size() && i < widths.size(); ++i) {
      widths[i] = std::max(widths[i], std::max<size_t>(row[i].size(), 1));
    }
  };
  measure(header);
  for (const auto& row : rows) measure(row);
  std::string out;
  auto emit = [&](const std::vector<std::string>& row) {
    std::string line;
    for (size_t i = 0; i < widths.size(); ++i) {
      const std::string cell = i < row.size() ? Or(row[i]) : "-";
      absl::StrAppend(&line, cell);
      if (i + 1 < widths.size()) {
        line.append(widths[i] - cell.size() + 2, ' ');
      }
    }
    absl::StrAppend(&out, line, "\n");
  };
  emit(header);
  for (const auto& row : rows) emit(row);
  return out;
}

std::string FormatTime(const google::protobuf::Timestamp& time) {
  if (time.seconds() == 0 && time.nanos() == 0) return "-";
  return absl::FormatTime("%Y-%m-%dT%H:%M:%SZ", FromProtoTime(time),
                          absl::UTCTimeZone());
}

// ---------------------------------------------------------------- broker

std::string FormatCall(const v1::Call& call) {
  std::string out = absl::StrCat(
      "call     ", call.name(), "\n", "state    ", Name(call.state()),
      "   queue ", Or(call.queue()), "   engine ", Or(call.media_engine()),
      "   disclosed ", call.monitoring_disclosed() ? "yes" : "no", "\n",
      "created  ", FormatTime(call.create_time()), "\n");
  if (call.end_time().seconds() != 0 || !call.end_reason().empty()) {
    absl::StrAppend(&out, "ended    ", FormatTime(call.end_time()), "  ",
                    Or(call.end_reason(), ""), "\n");
  }
  if (!call.recording().empty()) {
    absl::StrAppend(&out, "recording ", call.recording(), "\n");
  }
  if (!call.attributes().empty()) {
    std::map<std::string, std::string> sorted(call.attributes().begin(),
                                              call.attributes().end());
    absl::StrAppend(&out, "attributes ",
                    absl::StrJoin(sorted, " ", absl::PairFormatter("=")), "\n");
  }
  std::vector<std::vector<std::string>> rows;
  for (const v1::Participant& p : call.participants()) {
    rows.push_back({std::string(LastSegment(p.name())), Name(p.role()),
                    Name(p.state()), p.user_id(), p.team(),
                    FormatAnswer(p.media())});
  }
  absl::StrAppend(&out, "\n",
                  FormatTable({"PARTICIPANT", "ROLE", "STATE", "USER", "TEAM",
                               "MEDIA (send to)"},
                              rows));
  if (call.supervisions_size() > 0) {
    rows.clear();
    for (const v1::Supervision& s : call.supervisions()) {
      rows.push_back(
          {s.name(), s.supervisor(), Name(s.mode()), Name(s.state())});
    }
    absl::StrAppend(
        &out, "\n",
        FormatTable({"SUPERVISION", "SUPERVISOR", "MODE", "STATE"}, rows));
  }
  if (call.routing().entries_size() > 0) {
    std::vector<std::string> routes;
    for (const auto& entry : call.routing().entries()) {
      routes.push_back(entry.gain() == 1.0f
                           ? absl::StrCat(entry.source(), "->", entry.sink())
                           : absl::StrFormat("%s->%s(%.2f)", entry.source(),
                                             entry.sink(), entry.gain()));
    }
    absl::StrAppend(&out, "\nhears    ", absl::StrJoin(routes, " "), "\n");
  }
  return out;
}

std::string FormatCalls(const v1::ListCallsResponse& response) {
  std::vector<std::vector<std::string>> rows;
  for (const v1::Call& call : response.calls()) {
    std::string agent;
    std::string team;
    int supervisors = 0;
    for (const v1::Participant& p : call.participants()) {
      if (p.role() == v1::ROLE_AGENT &&
          p.state() == v1::Participant::CONNECTED) {
        agent = p.user_id();
        team = p.team();
      }
    }
    for (const v1::Supervision& s : call.supervisions()) {
      if (s.state() == v1::Supervision::ACTIVE) ++supervisors;
    }
    rows.push_back({call.name(), Name(call.state()), call.queue(), agent, team,
                    absl::StrCat(supervisors), FormatTime(call.create_time())});
  }
  return absl::StrCat(FormatTable({"NAME", "STATE", "QUEUE", "AGENT", "TEAM",
                                   "SUPERVISORS", "CREATED"},
                                  rows),
                      NextPage(response.next_page_token()));
}

std::string FormatParticipant(const v1::Participant& p) {
  return absl::StrCat(p.name(), "  ", Name(p.role()), "  ", Name(p.state()),
                      "  ", FormatAnswer(p.media()), "\n");
}

std::string FormatSupervision(const v1::Supervision& s) {
  std::string out = absl::StrCat(
      "supervision ", s.name(), "\n", "supervisor  ", Or(s.supervisor()),
      "   mode ", Name(s.mode()), "   state ", Name(s.state()), "\n",
      "since       ", FormatTime(s.mode_time()), "   created ",
      FormatTime(s.create_time()), "\n");
  if (s.has_media()) {
    absl::StrAppend(&out, "media       ", FormatAnswer(s.media()), "\n");
  }
  if (!s.end_reason().empty() || s.end_time().seconds() != 0) {
    absl::StrAppend(&out, "ended       ", FormatTime(s.end_time()), "  ",
                    s.end_reason(), "\n");
  }
  return out;
}

std::string FormatSupervisions(const v1::ListSupervisionsResponse& response) {
  std::vector<std::vector<std::string>> rows;
  for (const v1::Supervision& s : response.supervisions()) {
    rows.push_back({s.name(), s.supervisor(), Name(s.mode()), Name(s.state()),
                    FormatTime(s.mode_time())});
  }
  return absl::StrCat(
      FormatTable({"NAME", "SUPERVISOR", "MODE", "STATE", "SINCE"}, rows),
      NextPage(response.next_page_token()));
}

std::string FormatTransfer(const v1::TransferCallResponse& response) {
  std::string out = FormatCall(response.call());
  if (response.supervision_outcomes_size() > 0) {
    std::vector<std::vector<std::string>> rows;
    for (const auto& o : response.supervision_outcomes()) {
      rows.push_back({o.supervision(), Name(o.outcome()), Name(o.mode()),
                      o.policy_rule(), o.reason()});
    }
    absl::StrAppend(
        &out, "\n",
        FormatTable({"SUPERVISION", "OUTCOME", "MODE", "RULE", "REASON"},
                    rows));
  }
  return out;
}

std::string FormatCallEvent(const v1::CallEvent& event) {
  const v1::Event& e = event.event();
  std::string what = e.type() == v1::EVENT_TYPE_UNSPECIFIED
                         ? std::string("snapshot")
                         : Name(e.type());
  std::string out =
      absl::StrCat(event.has_event() ? FormatTime(e.time()) : std::string("-"),
                   "  ", Or(event.call().name(), e.call()), "  ", what,
                   "  state=", Name(event.call().state()));
  if (!e.supervision().empty()) {
    absl::StrAppend(&out, "  supervision=", LastSegment(e.supervision()));
  }
  if (e.mode() != v1::MODE_UNSPECIFIED) {
    absl::StrAppend(&out, "  mode=", Name(e.mode()));
  }
  if (!e.actor().empty()) absl::StrAppend(&out, "  actor=", e.actor());
  if (!e.reason().empty())
    absl::StrAppend(&out, "  reason=\"", e.reason(), "\"");
  return absl::StrCat(out, "\n");
}

std::string FormatEngines(const v1::ListEnginesResponse& response) {
  std::vector<std::vector<std::string>> rows;
  for (const v1::Engine& e : response.engines()) {
    rows.push_back({e.engine_id(), Name(e.state()), e.control_address(),
                    e.media_address(),
                    absl::StrCat(e.active_rooms(), "/", e.capacity_rooms()),
                    absl::StrFormat("%.2f", e.load()),
                    FormatTime(e.last_heartbeat_time())});
  }
  return FormatTable({"ENGINE", "STATE", "CONTROL", "MEDIA", "ROOMS", "LOAD",
                      "LAST HEARTBEAT"},
                     rows);
}

// ---------------------------------------------------------------- recorder

std::string FormatRecording(const v1::Recording& r) {
  std::string out =
      absl::StrCat("recording ", r.name(), "\n", "call      ", Or(r.call()),
                   "   state ", Name(r.state()), "   layout ", Name(r.layout()),
                   "\n", "agent     ", Or(r.agent_id()), "   team ",
                   Or(r.team()), "   queue ", Or(r.queue()), "\n", "time      ",
                   FormatTime(r.start_time()), " .. ", FormatTime(r.end_time()),
                   "   duration ", FormatDuration(r.duration()), "\n");
  std::vector<std::vector<std::string>> rows;
  for (int i = 0; i < r.files_size(); ++i) {
    const auto& f = r.files(i);
    rows.push_back({absl::StrCat(i), f.path(), f.format(),
                    absl::StrCat(f.channels()), absl::StrCat(f.bytes()),
                    FormatDuration(f.duration()), f.sha256()});
  }
  if (!rows.empty()) {
    absl::StrAppend(&out, "\n",
                    FormatTable({"FILE", "PATH", "FORMAT", "CHANNELS", "BYTES",
                                 "DURATION", "SHA256"},
                                rows));
  }
  rows.clear();
  for (const auto& span : r.mode_spans()) {
    rows.push_back({span.supervisor(), Name(span.mode()),
                    FormatTime(span.range().start_time()),
                    FormatTime(span.range().end_time())});
  }
  if (!rows.empty()) {
    absl::StrAppend(&out, "\n",
                    FormatTable({"SUPERVISOR", "MODE", "FROM", "TO"}, rows));
  }
  if (r.pauses_size() > 0 || r.gaps_size() > 0) {
    absl::StrAppend(&out, "\npauses ", r.pauses_size(), "   gaps ",
                    r.gaps_size(), "\n");
  }
  return out;
}

std::string FormatRecordings(const v1::ListRecordingsResponse& response) {
  std::vector<std::vector<std::string>> rows;
  for (const v1::Recording& r : response.recordings()) {
    rows.push_back({r.name(), Name(r.state()), r.call(), r.agent_id(), r.team(),
                    FormatTime(r.start_time()), FormatDuration(r.duration())});
  }
  return absl::StrCat(FormatTable({"NAME", "STATE", "CALL", "AGENT", "TEAM",
                                   "STARTED", "DURATION"},
                                  rows),
                      NextPage(response.next_page_token()));
}

std::string FormatRetention(const v1::ApplyRetentionResponse& response) {
  std::string out =
      absl::StrCat(response.deleted_recordings_size(), " recording(s)\n");
  for (const std::string& name : response.deleted_recordings()) {
    absl::StrAppend(&out, name, "\n");
  }
  return out;
}

// ---------------------------------------------------------------- reporting

std::string FormatActivityReport(const v1::SupervisionActivityReport& report) {
  std::vector<std::vector<std::string>> rows;
  for (const auto& row : report.rows()) {
    auto seconds = [&](const char* mode) {
      auto found = row.seconds_by_mode().find(mode);
      return FormatSeconds(
          found == row.seconds_by_mode().end() ? 0 : found->second);
    };
    rows.push_back({row.key(), absl::StrCat(row.calls()),
                    absl::StrCat(row.supervised_calls()),
                    absl::StrCat(row.sessions()), seconds("MODE_LISTEN"),
                    seconds("MODE_WHISPER"), seconds("MODE_BARGE"),
                    seconds("MODE_TAKEOVER"), absl::StrCat(row.mode_switches()),
                    Percent(row.barge_rate()), Percent(row.takeover_rate())});
  }
  return absl::StrCat(FormatTable({"KEY", "CALLS", "SUPERVISED", "SESSIONS",
                                   "LISTEN", "WHISPER", "BARGE", "TAKEOVER",
                                   "SWITCHES", "BARGE%", "TAKEOVER%"},
                                  rows),
                      NextPage(report.next_page_token()));
}

std::string FormatCoachingReport(
    const v1::CoachingEffectivenessReport& report) {
  std::string out;
  for (const auto& row : report.rows()) {
    absl::StrAppend(&out, row.key(), "\n  coached      ",
                    FormatStatsRow(row.coached()), "\n  not coached  ",
                    FormatStatsRow(row.not_coached()), "\n");
    for (const auto& bucket : row.trend()) {
      absl::StrAppend(&out, "  ", FormatTime(bucket.start_time()),
                      "  coaching ", bucket.coaching_sessions(), "  ",
                      FormatStatsRow(bucket.outcomes()), "\n");
    }
  }
  if (report.rows_size() == 0) out = "no rows\n";
  return absl::StrCat(out, NextPage(report.next_page_token()));
}

std::string FormatRampUpReport(const v1::RampUpReport& report) {
  std::vector<std::vector<std::string>> rows;
  for (const auto& row : report.rows()) {
    const auto& s = row.outcomes();
    rows.push_back({row.key(), absl::StrCat(row.week()),
                    absl::StrCat(s.calls()),
                    Percent(s.first_contact_resolution_rate()),
                    FormatSeconds(s.mean_handle_time_seconds()),
                    absl::StrFormat("%.2f", s.mean_csat()),
                    absl::StrCat(row.coaching_sessions())});
  }
  return absl::StrCat(
      FormatTable({"KEY", "WEEK", "CALLS", "FCR", "AHT", "CSAT", "COACHING"},
                  rows),
      NextPage(report.next_page_token()));
}

std::string FormatOutcome(const v1::CallOutcome& o) {
  std::string out = absl::StrCat(
      "outcome  ", Or(o.call()), "\n", "agent    ", Or(o.agent_id()),
      "   team ", Or(o.team()), "   queue ", Or(o.queue()), "\n", "fcr      ",
      o.first_contact_resolution() ? "yes" : "no", "   transferred ",
      o.transferred() ? "yes" : "no", "   escalated ",
      o.escalated() ? "yes" : "no", "   csat ", o.csat(), "   handle ",
      FormatDuration(o.handle_time()));
  if (o.has_qa_score()) absl::StrAppend(&out, "   qa ", o.qa_score());
  return absl::StrCat(out, "\n");
}

std::string FormatAuditRecords(const v1::ListAuditRecordsResponse& response) {
  std::vector<std::vector<std::string>> rows;
  for (const auto& r : response.records()) {
    rows.push_back({absl::StrCat(r.sequence()), FormatTime(r.event().time()),
                    Name(r.event().type()), r.event().actor(), r.event().call(),
                    r.event().reason(), r.hash().substr(0, 12)});
  }
  return absl::StrCat(
      FormatTable({"SEQ", "TIME", "EVENT", "ACTOR", "CALL", "REASON", "HASH"},
                  rows),
      NextPage(response.next_page_token()));
}

std::string FormatAuditVerification(
    const v1::VerifyAuditChainResponse& response) {
  if (response.intact()) {
    return absl::StrCat("intact: ", response.records_checked(),
                        " record(s) checked\n");
  }
  return absl::StrCat("BROKEN at sequence ", response.first_broken_sequence(),
                      " (", response.records_checked(),
                      " checked): ", response.detail(), "\n");
}

// ---------------------------------------------------------------- policy

std::string FormatPrincipal(const v1::Principal& p) {
  std::string out = absl::StrCat(
      "tenant   ", Or(p.tenant()), "\n", "subject  ", Or(p.subject()), "\n",
      "roles    ", Or(absl::StrJoin(p.roles(), ", ")), "\n", "teams    ",
      Or(absl::StrJoin(p.teams(), ", ")), "\n", "expires  ",
      FormatTime(p.expire_time()), "\n");
  if (!p.display_name().empty()) {
    absl::StrAppend(&out, "name     ", p.display_name(), "\n");
  }
  return out;
}

std::string FormatDecision(const v1::Decision& d) {
  std::string out = absl::StrCat(d.allowed() ? "ALLOWED" : "DENIED", "  rule ",
                                 Or(d.rule()), "  ", d.reason(), "\n");
  if (d.has_supervision()) {
    std::vector<std::string> modes;
    for (int mode : d.supervision().allowed_modes()) {
      modes.push_back(FriendlyName(v1::Mode_descriptor(), mode));
    }
    absl::StrAppend(&out, "modes    ", Or(absl::StrJoin(modes, ", ")),
                    "   downgrade_to ", Name(d.supervision().downgrade_to()),
                    "   max_supervisors ",
                    d.supervision().max_supervisors_per_call(),
                    "   takeover_rank ", d.supervision().takeover_rank(), "\n");
  }
  return out;
}

std::string FormatPolicyStatus(const v1::PolicyStatus& s) {
  return absl::StrCat(
      "source   ", Or(s.source()), "\n", "sha256   ", Or(s.sha256()), "\n",
      "loaded   ", FormatTime(s.load_time()), "\n", "tenants  ", s.tenants(),
      "   rules ", s.rules(), "\n", "reload   ",
      s.last_error().empty() ? "ok" : "FAILED: " + s.last_error(), "\n");
}

std::string FormatRecordingPolicy(const v1::RecordingPolicy& p) {
  return absl::StrCat(
      "enabled ", p.enabled() ? "yes" : "no", "   require_disclosure ",
      p.require_disclosure() ? "yes" : "no", "   layout ", Name(p.layout()),
      "   keep_whisper_audio ", p.keep_whisper_audio() ? "yes" : "no",
      "   retention ",
      p.has_retention() ? FormatDuration(p.retention()) : "forever", "\n");
}

// ---------------------------------------------------------------- media

std::string FormatEngineInfo(const v1::EngineInfo& info) {
  std::vector<std::string> suites;
  for (int s : info.crypto_suites()) {
    suites.push_back(FriendlyName(v1::CryptoSuite_descriptor(), s));
  }
  std::vector<std::string> codecs;
  for (int c : info.codecs()) {
    codecs.push_back(FriendlyName(v1::Codec_descriptor(), c));
  }
  return absl::StrCat(
      "engine   ", Or(info.engine_id()), "   media ", Or(info.media_address()),
      "   draining ", info.draining() ? "yes" : "no", "\n", "rooms    ",
      info.active_rooms(), "/", info.capacity_rooms(), "   legs ",
      info.active_legs(), "   workers ", info.workers(), "   ports ",
      info.port_min(), "-", info.port_max(), "\n", "codecs   ",
      Or(absl::StrJoin(codecs, ", ")), "   suites ",
      Or(absl::StrJoin(suites, ", ")), "\n");
}

std::string FormatRooms(const v1::ListRoomsResponse& response) {
  std::vector<std::vector<std::string>> rows;
  for (const v1::Room& room : response.rooms()) {
    std::vector<std::string> legs;
    for (const v1::Leg& leg : room.legs()) legs.push_back(leg.leg_id());
    rows.push_back({room.room_id(), absl::StrJoin(legs, ","),
                    absl::StrCat(room.routing_size()),
                    FormatTime(room.create_time())});
  }
  return FormatTable({"ROOM", "LEGS", "ROUTES", "CREATED"}, rows);
}

std::string FormatStats(const v1::GetStatsResponse& response) {
  std::vector<std::vector<std::string>> rows;
  for (const v1::RoomStats& room : response.rooms()) {
    std::map<std::string, v1::MediaQuality> legs(room.legs().begin(),
                                                 room.legs().end());
    for (const auto& [leg, q] : legs) {
      rows.push_back({room.room_id(), leg, absl::StrCat(q.packets_received()),
                      absl::StrCat(q.packets_sent()),
                      absl::StrFormat("%.2f%%", q.loss_ratio() * 100),
                      absl::StrFormat("%.1f", q.jitter_ms()),
                      absl::StrFormat("%.2f", q.mos())});
    }
  }
  return FormatTable(
      {"ROOM", "LEG", "RECEIVED", "SENT", "LOSS", "JITTER MS", "MOS"}, rows);
}

std::string FormatDrain(const v1::DrainResponse& response) {
  return absl::StrCat("draining: ", response.rooms_remaining(),
                      " room(s) still live\n");
}

}  // namespace sotto::sottoctl
