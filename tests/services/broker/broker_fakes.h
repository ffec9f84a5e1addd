// Fakes of the broker's seams: a policy with a grant table and a media
// engine that records every call it gets.
#ifndef SOTTO_TESTS_SERVICES_BROKER_BROKER_FAKES_H_
#define SOTTO_TESTS_SERVICES_BROKER_BROKER_FAKES_H_

#include <algorithm>
#include <map>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "services/broker/media_client.h"
#include "services/broker/policy_client.h"
#include "services/broker/recorder_client.h"

namespace sotto::broker::testing {

// Tokens are looked up, not verified. A grant names the actions a subject
// may do and, for supervision, the modes.
class FakePolicy final : public PolicyClient {
 public:
  struct Grant {
    std::set<v1::Action> actions;
    std::vector<v1::Mode> modes;
    int rank = 0;
    int max_supervisors = 0;
    // Only calls whose agent is in one of these teams; empty: any team.
    std::set<std::string> teams = {};
    // On other teams' calls: these modes (and viewing, if any).
    std::vector<v1::Mode> modes_elsewhere = {};
    v1::Mode downgrade_to = v1::MODE_UNSPECIFIED;
    bool whisper_cue_tone = false;
    bool customer_announcement = false;
    bool agent_may_decline_whisper = false;
    bool takeover_requires_reason = false;
  };

  void AddUser(const std::string& token, const std::string& tenant,
               const std::string& subject, Grant grant) {
    std::lock_guard<std::mutex> lock(mu_);
    v1::Principal p;
    p.set_tenant(tenant);
    p.set_subject(subject);
    tokens_[token] = p;
    grants_[subject] = std::move(grant);
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
    ++authorize_calls_;
    v1::Decision decision;
    decision.set_rule("default-deny");
    decision.set_reason(absl::StrCat("no rule grants ",
                                     v1::Action_Name(request.action()), " in ",
                                     v1::Mode_Name(request.mode())));
    auto grant = grants_.find(request.principal().subject());
    if (grant == grants_.end() ||
        request.principal().tenant() != request.resource().tenant() ||
        grant->second.actions.count(request.action()) == 0) {
      return decision;
    }
    const Grant& g = grant->second;
    const bool elsewhere =
        !g.teams.empty() && g.teams.count(request.resource().team()) == 0;
    if (elsewhere && g.modes_elsewhere.empty()) return decision;
    const std::vector<v1::Mode>& modes =
        elsewhere ? g.modes_elsewhere : g.modes;
    if (request.action() == v1::ACTION_CALLS_SUPERVISE &&
        std::find(modes.begin(), modes.end(), request.mode()) == modes.end()) {
      return decision;
    }
    if (request.action() == v1::ACTION_CALLS_SUPERVISE &&
        request.mode() == v1::MODE_WHISPER && g.agent_may_decline_whisper &&
        request.resource().agent_declined_whisper()) {
      decision.set_rule("agents-decline");
      decision.set_reason("the agent declined whisper");
      return decision;
    }
    if (request.action() == v1::ACTION_CALLS_SUPERVISE &&
        request.mode() == v1::MODE_TAKEOVER && g.takeover_requires_reason &&
        request.reason().empty()) {
      decision.set_rule("takeover-reason");
      decision.set_reason("TAKEOVER only with a reason");
      return decision;
    }
    decision.set_allowed(true);
    decision.set_rule(absl::StrCat("grant-", request.principal().subject(),
                                   elsewhere ? "-elsewhere" : ""));
    decision.clear_reason();
    for (v1::Mode mode : modes) {
      decision.mutable_supervision()->add_allowed_modes(mode);
    }
    decision.mutable_supervision()->set_downgrade_to(g.downgrade_to);
    decision.mutable_supervision()->set_whisper_cue_tone(g.whisper_cue_tone);
    decision.mutable_supervision()->set_customer_announcement(
        g.customer_announcement);
    decision.mutable_supervision()->set_takeover_rank(g.rank);
    decision.mutable_supervision()->set_max_supervisors_per_call(
        g.max_supervisors);
    return decision;
  }

  absl::StatusOr<v1::RecordingPolicy> GetRecordingPolicy(
      const std::string& tenant, const std::string& queue) override {
    std::lock_guard<std::mutex> lock(mu_);
    if (!recording_policy_.has_value()) {
      return absl::NotFoundError("no recording policy");
    }
    return *recording_policy_;
  }
  void SetRecordingPolicy(v1::RecordingPolicy policy) {
    std::lock_guard<std::mutex> lock(mu_);
    recording_policy_ = std::move(policy);
  }

  int authorize_calls() {
    std::lock_guard<std::mutex> lock(mu_);
    return authorize_calls_;
  }

 private:
  std::mutex mu_;
  std::map<std::string, v1::Principal> tokens_;
  std::map<std::string, Grant> grants_;
  int authorize_calls_ = 0;
  std::optional<v1::RecordingPolicy> recording_policy_;
};

// Records what the broker tells the recorder, as text.
class FakeRecorder final : public RecorderClient {
 public:
  absl::StatusOr<v1::Recording> Start(
      const v1::StartRecordingRequest& request) override {
    std::lock_guard<std::mutex> lock(mu_);
    // Sorted: a proto map's order is unspecified.
    std::set<std::string> sorted;
    for (const auto& [leg, role] : request.legs()) sorted.insert(leg);
    std::string legs;
    for (const std::string& leg : sorted) {
      absl::StrAppend(&legs, legs.empty() ? "" : ",", leg);
    }
    log_.push_back(absl::StrCat("Start ", request.room_id(), " legs=", legs));
    v1::Recording recording;
    recording.set_name("tenants/acme/recordings/r1");
    return recording;
  }
  absl::Status Stop(const v1::StopRecordingRequest& request) override {
    std::lock_guard<std::mutex> lock(mu_);
    log_.push_back("Stop");
    return absl::OkStatus();
  }
  absl::StatusOr<v1::Recording> Pause(
      const v1::PauseRecordingRequest& request) override {
    std::lock_guard<std::mutex> lock(mu_);
    log_.push_back(absl::StrCat("Pause ", request.reason()));
    return v1::Recording();
  }
  absl::StatusOr<v1::Recording> Resume(
      const v1::ResumeRecordingRequest& request) override {
    std::lock_guard<std::mutex> lock(mu_);
    log_.push_back("Resume");
    return v1::Recording();
  }
  absl::Status Annotate(const v1::AnnotateRecordingRequest& request) override {
    std::lock_guard<std::mutex> lock(mu_);
    std::string line = "Annotate";
    if (!request.added_leg_id().empty()) {
      absl::StrAppend(&line, " +", request.added_leg_id(), "(",
                      v1::Role_Name(request.added_leg_role()), ")");
    }
    if (request.mode() != v1::MODE_UNSPECIFIED) {
      absl::StrAppend(&line, " ", v1::Mode_Name(request.mode()));
    }
    if (request.supervision_ended()) absl::StrAppend(&line, " ended");
    log_.push_back(line);
    return absl::OkStatus();
  }
  std::vector<std::string> log() {
    std::lock_guard<std::mutex> lock(mu_);
    return log_;
  }

 private:
  std::mutex mu_;
  std::vector<std::string> log_;
};

// Records calls as text ("AddLeg room leg", ...) and keeps each room's
// last routing as a set of "source>sink" strings.
class FakeMedia final : public MediaClient {
 public:
  absl::StatusOr<v1::Leg> AddLeg(const std::string& engine,
                                 const v1::AddLegRequest& request) override {
    std::lock_guard<std::mutex> lock(mu_);
    log_.push_back(absl::StrCat("AddLeg ", request.leg_id()));
    if (!fail_next_.ok()) return std::exchange(fail_next_, absl::OkStatus());
    v1::Leg leg;
    leg.set_room_id(request.room_id());
    leg.set_leg_id(request.leg_id());
    v1::MediaAnswer* answer = leg.mutable_answer();
    answer->mutable_local_rtp()->set_address("127.0.0.1");
    answer->mutable_local_rtp()->set_port(next_port_++);
    answer->set_codec(request.offer().codec());
    answer->mutable_local_key()->set_suite(
        request.offer().remote_key().suite());
    answer->mutable_local_key()->set_inline_key(
        absl::StrCat("key-", request.leg_id()));
    answer->set_sdp(
        absl::StrCat("a=crypto:1 AES_CM_128_HMAC_SHA1_80 inline:key-",
                     request.leg_id(), "\r\n"));
    legs_[request.room_id()].insert(request.leg_id());
    return leg;
  }
  absl::StatusOr<v1::Leg> UpdateLeg(
      const std::string& engine, const v1::UpdateLegRequest& request) override {
    std::lock_guard<std::mutex> lock(mu_);
    log_.push_back(absl::StrCat("UpdateLeg ", request.leg_id()));
    if (legs_[request.room_id()].count(request.leg_id()) == 0) {
      return absl::NotFoundError(absl::StrCat("no leg ", request.leg_id()));
    }
    v1::Leg leg;
    leg.set_room_id(request.room_id());
    leg.set_leg_id(request.leg_id());
    leg.mutable_answer()->mutable_local_rtp()->set_address("127.0.0.1");
    leg.mutable_answer()->mutable_local_rtp()->set_port(next_port_++);
    leg.mutable_answer()->set_codec(request.offer().codec());
    leg.mutable_answer()->mutable_local_key()->set_inline_key(
        absl::StrCat("key-", request.leg_id(),
                     request.rotate_local_key() ? "-rotated" : ""));
    return leg;
  }
  absl::Status RemoveLeg(const std::string& engine,
                         const v1::RemoveLegRequest& request) override {
    std::lock_guard<std::mutex> lock(mu_);
    log_.push_back(absl::StrCat("RemoveLeg ", request.leg_id()));
    legs_[request.room_id()].erase(request.leg_id());
    return absl::OkStatus();
  }
  absl::StatusOr<v1::SetRoutingResponse> SetRouting(
      const std::string& engine,
      const v1::SetRoutingRequest& request) override {
    std::lock_guard<std::mutex> lock(mu_);
    std::set<std::string> routes;
    for (const v1::RoutingEntry& e : request.entries()) {
      if (legs_[request.room_id()].count(e.source_leg_id()) == 0 ||
          legs_[request.room_id()].count(e.sink_leg_id()) == 0) {
        return absl::InvalidArgumentError(absl::StrCat(
            "unknown leg in ", e.source_leg_id(), ">", e.sink_leg_id()));
      }
      routes.insert(absl::StrCat(e.source_leg_id(), ">", e.sink_leg_id()));
    }
    routing_[request.room_id()] = routes;
    log_.push_back("SetRouting");
    v1::SetRoutingResponse response;
    response.set_generation(++generation_);
    return response;
  }
  absl::Status DeleteRoom(const std::string& engine,
                          const v1::DeleteRoomRequest& request) override {
    std::lock_guard<std::mutex> lock(mu_);
    log_.push_back("DeleteRoom");
    legs_.erase(request.room_id());
    routing_.erase(request.room_id());
    return absl::OkStatus();
  }

  absl::Status PlayAudio(const std::string& engine,
                         const v1::PlayAudioRequest& request) override {
    std::lock_guard<std::mutex> lock(mu_);
    std::string sinks;
    for (const std::string& sink : request.sink_leg_ids()) {
      absl::StrAppend(&sinks, " ", sink);
    }
    log_.push_back(absl::StrCat(
        "PlayAudio", request.has_tone() ? " tone" : " speech", " to", sinks));
    return absl::OkStatus();
  }
  absl::StatusOr<v1::GetStatsResponse> GetStats(
      const std::string& engine, const std::string& room_id) override {
    std::lock_guard<std::mutex> lock(mu_);
    v1::GetStatsResponse response;
    auto room = legs_.find(room_id);
    if (room == legs_.end()) return response;
    v1::RoomStats* stats = response.add_rooms();
    stats->set_room_id(room_id);
    for (const std::string& leg : room->second) {
      v1::MediaQuality& quality = (*stats->mutable_legs())[leg];
      quality.set_packets_received(500);
      quality.set_mos(4.3);
    }
    return response;
  }
  absl::StatusOr<v1::ListRoomsResponse> ListRooms(
      const std::string& engine) override {
    std::lock_guard<std::mutex> lock(mu_);
    v1::ListRoomsResponse response;
    for (const auto& [room, legs] : legs_) {
      v1::Room* out = response.add_rooms();
      out->set_room_id(room);
      for (const std::string& leg : legs) out->add_legs()->set_leg_id(leg);
    }
    return response;
  }

  std::set<std::string> routing(const std::string& room) {
    std::lock_guard<std::mutex> lock(mu_);
    return routing_[room];
  }
  bool has_room(const std::string& room) {
    std::lock_guard<std::mutex> lock(mu_);
    return legs_.count(room) > 0;
  }
  std::vector<std::string> log() {
    std::lock_guard<std::mutex> lock(mu_);
    return log_;
  }
  void FailNextAddLeg(absl::Status status) {
    std::lock_guard<std::mutex> lock(mu_);
    fail_next_ = std::move(status);
  }

 private:
  std::mutex mu_;
  std::vector<std::string> log_;
  std::map<std::string, std::set<std::string>> legs_;
  std::map<std::string, std::set<std::string>> routing_;
  absl::Status fail_next_;
  uint32_t next_port_ = 20000;
  uint64_t generation_ = 0;
};

}  // namespace sotto::broker::testing

#endif  // SOTTO_TESTS_SERVICES_BROKER_BROKER_FAKES_H_
