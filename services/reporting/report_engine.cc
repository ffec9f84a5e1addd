#include "services/reporting/report_engine.h"

#include <algorithm>
#include <tuple>
#include <utility>

#include "absl/strings/str_cat.h"
#include "google/protobuf/util/time_util.h"

namespace sotto::reporting {
namespace {

using google::protobuf::util::TimeUtil;

constexpr v1::Mode kModes[] = {v1::MODE_LISTEN, v1::MODE_WHISPER,
                               v1::MODE_BARGE, v1::MODE_TAKEOVER};

absl::Time FromProto(const google::protobuf::Timestamp& t) {
  return absl::FromUnixMicros(TimeUtil::TimestampToMicroseconds(t));
}

google::protobuf::Timestamp ToProto(absl::Time t) {
  return TimeUtil::MicrosecondsToTimestamp(absl::ToUnixMicros(t));
}

// How many whole `unit`s fit in `d` (IDivDuration needs a remainder).
int64_t Whole(absl::Duration d, absl::Duration unit) {
  absl::Duration remainder;
  return absl::IDivDuration(d, unit, &remainder);
}

bool IsCoachingMode(v1::Mode mode) {
  return mode == v1::MODE_WHISPER || mode == v1::MODE_BARGE ||
         mode == v1::MODE_TAKEOVER;
}

// Replays one call's events (already in order) into its facts.
class CallReplay {
 public:
  explicit CallReplay(std::string call) { facts_.call = std::move(call); }

  void Apply(const v1::Event& e) {
    const absl::Time t = FromProto(e.time());
    if (!first_time_.has_value()) first_time_ = t;
    if (!e.agent_id().empty()) facts_.agent_id = e.agent_id();
    if (!e.team().empty()) facts_.team = e.team();
    if (!e.queue().empty()) facts_.queue = e.queue();
    switch (e.type()) {
      case v1::EVENT_TYPE_CALL_REGISTERED:
        if (!registered_.has_value()) registered_ = t;
        break;
      case v1::EVENT_TYPE_CALL_ENDED:
      case v1::EVENT_TYPE_CALL_FAILED:
        if (!ended_.has_value()) ended_ = t;
        break;
      case v1::EVENT_TYPE_SUPERVISION_STARTED: {
        Open& open = Supervision(e);
        if (open.mode == v1::MODE_UNSPECIFIED) OpenSpan(open, e.mode(), t);
        break;
      }
      case v1::EVENT_TYPE_SUPERVISION_MODE_CHANGED:
      case v1::EVENT_TYPE_SUPERVISION_DOWNGRADED: {
        Open& open = Supervision(e);
        if (open.ended) break;
        if (e.type() == v1::EVENT_TYPE_SUPERVISION_MODE_CHANGED) {
          ++facts_.supervisions[open.index].mode_switches;
        }
        CloseSpan(open, t);
        OpenSpan(open, e.mode(), t);
        break;
      }
      case v1::EVENT_TYPE_SUPERVISION_ENDED:
      case v1::EVENT_TYPE_SUPERVISION_DETACHED: {
        Open& open = Supervision(e);
        CloseSpan(open, t);
        open.ended = true;
        break;
      }
      default:
        break;
    }
  }

  CallFacts Finish(absl::Time now) {
    const absl::Time end = ended_.value_or(now);
    for (auto& [name, open] : open_) CloseSpan(open, end);
    if (registered_.has_value()) {
      facts_.start = *registered_;
    } else if (facts_.outcome.has_value() &&
               facts_.outcome->has_call_start_time()) {
      facts_.start = FromProto(facts_.outcome->call_start_time());
    } else {
      facts_.start = first_time_.value_or(now);
    }
    return std::move(facts_);
  }

  void SetOutcome(const v1::CallOutcome& outcome) {
    facts_.outcome = outcome;
    if (!outcome.agent_id().empty()) facts_.agent_id = outcome.agent_id();
    if (!outcome.team().empty()) facts_.team = outcome.team();
    if (!outcome.queue().empty()) facts_.queue = outcome.queue();
    if (!registered_.has_value() && outcome.has_call_start_time() &&
        !first_time_.has_value()) {
      first_time_ = FromProto(outcome.call_start_time());
    }
  }

 private:
  struct Open {
    size_t index = 0;
    v1::Mode mode = v1::MODE_UNSPECIFIED;  // of the open span
    absl::Time since;
    bool ended = false;
  };

  Open& Supervision(const v1::Event& e) {
    auto [it, added] = open_.try_emplace(e.supervision());
    if (added) {
      it->second.index = facts_.supervisions.size();
      SupervisionFacts s;
      s.name = e.supervision();
      s.supervisor = e.supervisor();
      facts_.supervisions.push_back(std::move(s));
    }
    return it->second;
  }

  void OpenSpan(Open& open, v1::Mode mode, absl::Time t) {
    if (open.ended || mode == v1::MODE_UNSPECIFIED) return;
    open.mode = mode;
    open.since = t;
  }

  void CloseSpan(Open& open, absl::Time t) {
    if (open.mode == v1::MODE_UNSPECIFIED) return;
    facts_.supervisions[open.index].spans.push_back(
        {open.mode, open.since, std::max(open.since, t)});
    open.mode = v1::MODE_UNSPECIFIED;
  }

  CallFacts facts_;
  std::optional<absl::Time> registered_;
  std::optional<absl::Time> ended_;
  std::optional<absl::Time> first_time_;
  std::map<std::string, Open> open_;
};

// Accumulates OutcomeStats over calls.
class OutcomeSum {
 public:
  void Add(const v1::CallOutcome& o) {
    ++calls_;
    fcr_ += o.first_contact_resolution() ? 1 : 0;
    transferred_ += o.transferred() ? 1 : 0;
    escalated_ += o.escalated() ? 1 : 0;
    handle_seconds_ +=
        static_cast<double>(TimeUtil::DurationToMicroseconds(o.handle_time())) /
        1e6;
    if (o.csat() > 0) {
      ++surveys_;
      csat_ += o.csat();
    }
    if (o.has_qa_score()) {
      ++evaluations_;
      qa_ += o.qa_score();
    }
    compliance_errors_ += o.compliance_errors();
  }

  v1::OutcomeStats Stats() const {
    v1::OutcomeStats s;
    s.set_calls(calls_);
    if (calls_ > 0) {
      const double n = static_cast<double>(calls_);
      s.set_first_contact_resolution_rate(fcr_ / n);
      s.set_transfer_rate(transferred_ / n);
      s.set_escalation_rate(escalated_ / n);
      s.set_mean_handle_time_seconds(handle_seconds_ / n);
      s.set_compliance_errors_per_call(compliance_errors_ / n);
    }
    if (surveys_ > 0) s.set_mean_csat(csat_ / surveys_);
    if (evaluations_ > 0) s.set_mean_qa_score(qa_ / evaluations_);
    return s;
  }

 private:
  uint64_t calls_ = 0;
  double fcr_ = 0, transferred_ = 0, escalated_ = 0, handle_seconds_ = 0;
  double surveys_ = 0, csat_ = 0, evaluations_ = 0, qa_ = 0;
  double compliance_errors_ = 0;
};

const std::string& KeyOf(const CallFacts& call, v1::GroupBy group_by) {
  switch (group_by) {
    case v1::GROUP_BY_AGENT:
      return call.agent_id;
    case v1::GROUP_BY_QUEUE:
      return call.queue;
    default:
      return call.team;
  }
}

// Per-key figures of the supervision activity report.
struct Activity {
  uint64_t calls = 0;
  uint64_t supervised_calls = 0;
  uint64_t sessions = 0;
  std::map<v1::Mode, double> seconds;
  std::map<v1::Mode, uint64_t> sessions_by_mode;
  uint64_t switches = 0;
  uint64_t barge_calls = 0;
  uint64_t takeover_calls = 0;
  double intervention_seconds = 0;
  uint64_t intervened_calls = 0;

  // One call seen through the given supervisions (all of the call's, or one
  // supervisor's).
  void AddCall(const CallFacts& call,
               const std::vector<const SupervisionFacts*>& sessions_seen) {
    ++calls;
    if (sessions_seen.empty()) return;
    ++supervised_calls;
    bool barge = false, takeover = false;
    std::optional<absl::Time> first;
    for (const SupervisionFacts* s : sessions_seen) {
      ++sessions;
      switches += s->mode_switches;
      for (v1::Mode mode : kModes) {
        if (s->Used(mode)) ++sessions_by_mode[mode];
      }
      for (const ModeSpan& span : s->spans) {
        seconds[span.mode] += absl::ToDoubleSeconds(span.end - span.start);
      }
      barge = barge || s->Used(v1::MODE_BARGE);
      takeover = takeover || s->Used(v1::MODE_TAKEOVER);
      std::optional<absl::Time> t = s->FirstIntervention();
      if (t.has_value() && (!first.has_value() || *t < *first)) first = t;
    }
    barge_calls += barge ? 1 : 0;
    takeover_calls += takeover ? 1 : 0;
    if (first.has_value()) {
      ++intervened_calls;
      intervention_seconds +=
          std::max(0.0, absl::ToDoubleSeconds(*first - call.start));
    }
  }

  v1::SupervisionActivityReport::Row ToRow(const std::string& key) const {
    v1::SupervisionActivityReport::Row row;
    row.set_key(key);
    row.set_calls(calls);
    row.set_supervised_calls(supervised_calls);
    row.set_sessions(sessions);
    for (v1::Mode mode : kModes) {
      auto s = seconds.find(mode);
      (*row.mutable_seconds_by_mode())[v1::Mode_Name(mode)] =
          s == seconds.end() ? 0 : s->second;
      auto n = sessions_by_mode.find(mode);
      (*row.mutable_sessions_by_mode())[v1::Mode_Name(mode)] =
          n == sessions_by_mode.end() ? 0 : n->second;
    }
    row.set_mode_switches(switches);
    if (supervised_calls > 0) {
      row.set_barge_rate(static_cast<double>(barge_calls) / supervised_calls);
      row.set_takeover_rate(static_cast<double>(takeover_calls) /
                            supervised_calls);
    }
    if (intervened_calls > 0) {
      row.set_mean_seconds_to_first_intervention(intervention_seconds /
                                                 intervened_calls);
    }
    return row;
  }
};

}  // namespace

bool SupervisionFacts::Used(v1::Mode mode) const {
  for (const ModeSpan& span : spans) {
    if (span.mode == mode) return true;
  }
  return false;
}

bool SupervisionFacts::Coaching() const {
  return FirstIntervention().has_value();
}

std::optional<absl::Time> SupervisionFacts::FirstIntervention() const {
  for (const ModeSpan& span : spans) {  // spans are in time order
    if (IsCoachingMode(span.mode)) return span.start;
  }
  return std::nullopt;
}

bool CallFacts::Coached() const { return CoachingSessions() > 0; }

int CallFacts::CoachingSessions() const {
  int n = 0;
  for (const SupervisionFacts& s : supervisions) n += s.Coaching() ? 1 : 0;
  return n;
}

bool CallFilter::Matches(const CallFacts& call) const {
  if (!teams.empty() && teams.count(call.team) == 0) return false;
  if (!queues.empty() && queues.count(call.queue) == 0) return false;
  if (!agent_ids.empty() && agent_ids.count(call.agent_id) == 0) return false;
  return !readable || readable(call.team);
}

std::vector<CallFacts> BuildCallFacts(const ReportData& data, absl::Time start,
                                      std::optional<absl::Time> end,
                                      absl::Time now) {
  std::map<std::string, std::vector<const v1::Event*>> by_call;
  for (const v1::Event& e : data.events) by_call[e.call()].push_back(&e);
  for (const auto& [call, outcome] : data.outcomes) by_call[call];
  std::vector<CallFacts> calls;
  for (auto& [call, events] : by_call) {
    std::sort(events.begin(), events.end(),
              [](const v1::Event* a, const v1::Event* b) {
                const int64_t ta = TimeUtil::TimestampToMicroseconds(a->time());
                const int64_t tb = TimeUtil::TimestampToMicroseconds(b->time());
                return std::make_tuple(ta, a->call_sequence(), a->event_id()) <
                       std::make_tuple(tb, b->call_sequence(), b->event_id());
              });
    CallReplay replay(call);
    for (const v1::Event* e : events) replay.Apply(*e);
    auto outcome = data.outcomes.find(call);
    if (outcome != data.outcomes.end()) replay.SetOutcome(outcome->second);
    CallFacts facts = replay.Finish(now);
    if (facts.start < start || (end.has_value() && facts.start >= *end)) {
      continue;
    }
    calls.push_back(std::move(facts));
  }
  return calls;
}

std::vector<v1::SupervisionActivityReport::Row> SupervisionActivityRows(
    const std::vector<CallFacts>& calls, v1::GroupBy group_by) {
  std::map<std::string, Activity> groups;
  for (const CallFacts& call : calls) {
    if (group_by == v1::GROUP_BY_SUPERVISOR) {
      std::map<std::string, std::vector<const SupervisionFacts*>> mine;
      for (const SupervisionFacts& s : call.supervisions) {
        mine[s.supervisor].push_back(&s);
      }
      for (const auto& [supervisor, sessions] : mine) {
        groups[supervisor].AddCall(call, sessions);
      }
      continue;
    }
    std::vector<const SupervisionFacts*> all;
    for (const SupervisionFacts& s : call.supervisions) all.push_back(&s);
    groups[KeyOf(call, group_by)].AddCall(call, all);
  }
  std::vector<v1::SupervisionActivityReport::Row> rows;
  for (const auto& [key, activity] : groups)
    rows.push_back(activity.ToRow(key));
  return rows;
}

absl::StatusOr<std::vector<v1::CoachingEffectivenessReport::Row>>
CoachingEffectivenessRows(const std::vector<CallFacts>& calls,
                          v1::GroupBy group_by, absl::Duration bucket,
                          absl::Time start, std::optional<absl::Time> end,
                          int max_buckets) {
  struct Group {
    OutcomeSum coached, not_coached;
    std::map<int64_t, OutcomeSum> buckets;
    std::map<int64_t, uint64_t> sessions;
  };
  std::map<std::string, Group> groups;
  int64_t last_bucket = -1;
  if (end.has_value()) {
    last_bucket = Whole(*end - start - absl::Nanoseconds(1), bucket);
  }
  for (const CallFacts& call : calls) {
    if (!call.outcome.has_value()) continue;
    Group& g = groups[KeyOf(call, group_by)];
    (call.Coached() ? g.coached : g.not_coached).Add(*call.outcome);
    const int64_t index = Whole(call.start - start, bucket);
    g.buckets[index].Add(*call.outcome);
    g.sessions[index] += call.CoachingSessions();
    if (!end.has_value()) last_bucket = std::max(last_bucket, index);
  }
  if (last_bucket + 1 > max_buckets) {
    return absl::InvalidArgumentError(
        absl::StrCat("bucket: the time range holds ", last_bucket + 1,
                     " buckets, more than ", max_buckets,
                     "; choose a longer bucket or a shorter time_range"));
  }
  std::vector<v1::CoachingEffectivenessReport::Row> rows;
  for (const auto& [key, g] : groups) {
    v1::CoachingEffectivenessReport::Row row;
    row.set_key(key);
    *row.mutable_coached() = g.coached.Stats();
    *row.mutable_not_coached() = g.not_coached.Stats();
    for (int64_t i = 0; i <= last_bucket; ++i) {
      v1::CoachingEffectivenessReport::Bucket* b = row.add_trend();
      *b->mutable_start_time() = ToProto(start + i * bucket);
      auto sessions = g.sessions.find(i);
      b->set_coaching_sessions(sessions == g.sessions.end() ? 0
                                                            : sessions->second);
      auto sum = g.buckets.find(i);
      *b->mutable_outcomes() =
          sum == g.buckets.end() ? OutcomeSum().Stats() : sum->second.Stats();
    }
    rows.push_back(std::move(row));
  }
  return rows;
}

std::vector<v1::RampUpReport::Row> RampUpRows(
    const std::vector<CallFacts>& calls, v1::GroupBy group_by, int weeks,
    const std::map<std::string, absl::Time>& agent_start) {
  std::map<std::pair<std::string, int64_t>, std::pair<OutcomeSum, uint64_t>>
      cells;
  for (const CallFacts& call : calls) {
    if (!call.outcome.has_value()) continue;
    auto started = agent_start.find(call.agent_id);
    if (started == agent_start.end() || call.start < started->second) continue;
    const int64_t week =
        Whole(call.start - started->second, absl::Hours(24 * 7));
    if (week >= weeks) continue;
    auto& cell = cells[{KeyOf(call, group_by), week}];
    cell.first.Add(*call.outcome);
    cell.second += call.CoachingSessions();
  }
  std::vector<v1::RampUpReport::Row> rows;
  for (const auto& [key, cell] : cells) {
    v1::RampUpReport::Row row;
    row.set_key(key.first);
    row.set_week(static_cast<uint32_t>(key.second));
    *row.mutable_outcomes() = cell.first.Stats();
    row.set_coaching_sessions(cell.second);
    rows.push_back(std::move(row));
  }
  return rows;
}

}  // namespace sotto::reporting
