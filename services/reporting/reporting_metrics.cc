#include "services/reporting/reporting_metrics.h"

#include <algorithm>

#include "google/protobuf/util/time_util.h"

namespace sotto::reporting {
namespace {

using Labels = std::map<std::string, std::string>;

prometheus::Family<prometheus::Counter>& Counter(prometheus::Registry& r,
                                                 const std::string& name,
                                                 const std::string& help) {
  return prometheus::BuildCounter().Name(name).Help(help).Register(r);
}

prometheus::Family<prometheus::Histogram>& Histogram(prometheus::Registry& r,
                                                     const std::string& name,
                                                     const std::string& help) {
  return prometheus::BuildHistogram().Name(name).Help(help).Register(r);
}

std::string ModeLabel(v1::Mode mode) {
  switch (mode) {
    case v1::MODE_LISTEN:
      return "listen";
    case v1::MODE_WHISPER:
      return "whisper";
    case v1::MODE_BARGE:
      return "barge";
    case v1::MODE_TAKEOVER:
      return "takeover";
    default:
      return "unspecified";
  }
}

Labels Where(const std::string& tenant, const std::string& team,
             const std::string& queue) {
  return {{"tenant", tenant}, {"team", team}, {"queue", queue}};
}

Labels WithMode(Labels labels, v1::Mode mode) {
  labels["mode"] = ModeLabel(mode);
  return labels;
}

}  // namespace

ReportingMetrics::ReportingMetrics(prometheus::Registry& r)
    : events_(Counter(r, "sotto_reporting_events_ingested_total",
                      "Events received by IngestEvents, by result (new, "
                      "duplicate).")),
      supervisions_(Counter(r, "sotto_reporting_supervisions_total",
                            "Supervisions started, by initial mode.")),
      supervised_seconds_(Counter(
          r, "sotto_reporting_supervised_seconds_total",
          "Seconds supervised, by mode; counted when a span in a mode ends "
          "(mode change, downgrade, end, detach).")),
      mode_switches_(Counter(r, "sotto_reporting_mode_switches_total",
                             "Supervision mode changes, by the new mode.")),
      active_(prometheus::BuildGauge()
                  .Name("sotto_reporting_active_supervisions")
                  .Help("Supervisions not ended, by current mode (from the "
                        "store; equal on every replica).")
                  .Register(r)),
      denials_(Counter(r, "sotto_reporting_policy_denials_total",
                       "ACCESS_DENIED events, by policy action and rule.")),
      outcomes_(Counter(r, "sotto_reporting_outcomes_total",
                        "Calls with a reported outcome, by whether the call "
                        "was coached (whisper, barge or takeover).")),
      resolved_(Counter(r,
                        "sotto_reporting_outcome_first_contact_resolutions_"
                        "total",
                        "Reported calls resolved on first contact.")),
      transfers_(Counter(r, "sotto_reporting_outcome_transfers_total",
                         "Reported calls that were transferred.")),
      escalations_(Counter(r, "sotto_reporting_outcome_escalations_total",
                           "Reported calls that were escalated.")),
      handle_seconds_(Counter(r, "sotto_reporting_outcome_handle_seconds_total",
                              "Handle time of reported calls, seconds.")),
      csat_points_(Counter(r, "sotto_reporting_outcome_csat_points_total",
                           "Sum of CSAT scores (1-5) of surveyed calls.")),
      csat_surveys_(Counter(r, "sotto_reporting_outcome_csat_surveys_total",
                            "Reported calls with a CSAT survey.")),
      qa_points_(Counter(r, "sotto_reporting_outcome_qa_score_points_total",
                         "Sum of QA scores (0-100) of evaluated calls.")),
      qa_evaluations_(Counter(r, "sotto_reporting_outcome_qa_evaluations_total",
                              "Reported calls with a QA evaluation.")),
      compliance_errors_(
          Counter(r, "sotto_reporting_outcome_compliance_errors_total",
                  "Compliance errors found on reported calls.")),
      media_legs_(Counter(r, "sotto_reporting_media_legs_total",
                          "Leg quality summaries received, by media engine.")),
      media_loss_(Histogram(r, "sotto_reporting_media_loss_ratio",
                            "Packet loss ratio of ended legs, by engine.")),
      media_jitter_(
          Histogram(r, "sotto_reporting_media_jitter_milliseconds",
                    "Interarrival jitter of ended legs (ms), by engine.")),
      media_mos_(Histogram(r, "sotto_reporting_media_mos",
                           "Estimated MOS of ended legs, by engine.")) {
  // Both results exist from the start, so rate() works from the first event.
  events_.Add({{"result", "new"}});
  events_.Add({{"result", "duplicate"}});
}

void ReportingMetrics::OnIngest(const IngestResult& result) {
  events_.Add({{"result", "new"}}).Increment(result.accepted);
  events_.Add({{"result", "duplicate"}}).Increment(result.duplicates);
  for (const FreshEvent& fresh : result.fresh) {
    const v1::Event& e = fresh.event;
    const Labels where = Where(e.tenant(), e.team(), e.queue());
    if (fresh.closed_mode != v1::MODE_UNSPECIFIED && fresh.closed_seconds > 0) {
      supervised_seconds_.Add(WithMode(where, fresh.closed_mode))
          .Increment(fresh.closed_seconds);
    }
    switch (e.type()) {
      case v1::EVENT_TYPE_SUPERVISION_STARTED:
        supervisions_.Add(WithMode(where, e.mode())).Increment();
        break;
      case v1::EVENT_TYPE_SUPERVISION_MODE_CHANGED:
        mode_switches_.Add(WithMode(where, e.mode())).Increment();
        break;
      case v1::EVENT_TYPE_ACCESS_DENIED:
        denials_
            .Add({{"tenant", e.tenant()},
                  {"action", e.action()},
                  {"rule", e.policy_rule()}})
            .Increment();
        break;
      default:
        break;
    }
  }
}

void ReportingMetrics::OnOutcome(const std::string& tenant,
                                 const v1::CallOutcome& o, bool coached) {
  Labels labels = Where(tenant, o.team(), o.queue());
  labels["coached"] = coached ? "true" : "false";
  outcomes_.Add(labels).Increment();
  resolved_.Add(labels).Increment(o.first_contact_resolution() ? 1 : 0);
  transfers_.Add(labels).Increment(o.transferred() ? 1 : 0);
  escalations_.Add(labels).Increment(o.escalated() ? 1 : 0);
  handle_seconds_.Add(labels).Increment(
      std::max<double>(0,
                       google::protobuf::util::TimeUtil::DurationToMicroseconds(
                           o.handle_time())) /
      1e6);
  csat_surveys_.Add(labels).Increment(o.csat() > 0 ? 1 : 0);
  csat_points_.Add(labels).Increment(o.csat());
  qa_evaluations_.Add(labels).Increment(o.has_qa_score() ? 1 : 0);
  qa_points_.Add(labels).Increment(
      o.has_qa_score() ? std::max(0.0, o.qa_score()) : 0);
  compliance_errors_.Add(labels).Increment(o.compliance_errors());
}

void ReportingMetrics::OnMediaQuality(
    const v1::IngestMediaQualityRequest& request) {
  const Labels engine = {{"engine", request.engine_id()}};
  const v1::MediaQuality& q = request.quality();
  media_legs_.Add(engine).Increment();
  media_loss_
      .Add(engine,
           prometheus::Histogram::BucketBoundaries{0.001, 0.005, 0.01, 0.02,
                                                   0.05, 0.1, 0.2, 0.5})
      .Observe(q.loss_ratio());
  media_jitter_
      .Add(engine, prometheus::Histogram::BucketBoundaries{1, 5, 10, 20, 30, 50,
                                                           100, 200, 500})
      .Observe(q.jitter_ms());
  if (q.mos() > 0) {  // 0: the leg heard nothing, no estimate
    media_mos_
        .Add(engine,
             prometheus::Histogram::BucketBoundaries{1, 2, 2.5, 3, 3.5, 3.8, 4,
                                                     4.2, 4.4, 4.5})
        .Observe(q.mos());
  }
}

void ReportingMetrics::SetActiveSupervisions(
    const std::vector<ActiveSupervisions>& counts) {
  std::lock_guard<std::mutex> lock(mu_);
  std::vector<Labels> now;
  for (const ActiveSupervisions& c : counts) {
    Labels labels = WithMode(Where(c.tenant, c.team, c.queue), c.mode);
    active_.Add(labels).Set(static_cast<double>(c.count));
    now.push_back(labels);
  }
  for (const Labels& old : active_labels_) {
    if (std::find(now.begin(), now.end(), old) == now.end()) {
      active_.Add(old).Set(0);
      now.push_back(old);
    }
  }
  active_labels_ = std::move(now);
}

}  // namespace sotto::reporting
