// The Prometheus metrics reporting exports for the Grafana dashboards
// (prefix sotto_reporting_). Label sets stay bounded: tenant, team, queue,
// mode, coached, policy action and rule, media engine id; never a call,
// supervision or agent id (per-agent figures live in the gRPC reports).
//
// Counters move when an event or outcome is stored for the first time, by
// the replica that stored it, so sum() over replicas counts each once. The
// active-supervisions gauge is recomputed from the store (every replica
// shows the same figure: use max(), not sum()).
#ifndef SOTTO_SERVICES_REPORTING_REPORTING_METRICS_H_
#define SOTTO_SERVICES_REPORTING_REPORTING_METRICS_H_

#include <map>
#include <mutex>
#include <string>
#include <vector>

#include "prometheus/counter.h"
#include "prometheus/family.h"
#include "prometheus/gauge.h"
#include "prometheus/histogram.h"
#include "prometheus/registry.h"
#include "services/reporting/sql_reporting_store.h"
#include "sotto/v1/reporting.pb.h"

namespace sotto::reporting {

// Thread-safe.
class ReportingMetrics {
 public:
  explicit ReportingMetrics(prometheus::Registry& registry);

  void OnIngest(const IngestResult& result);
  // A call's first outcome report (replacements are not counted again).
  void OnOutcome(const std::string& tenant, const v1::CallOutcome& outcome,
                 bool coached);
  void OnMediaQuality(const v1::IngestMediaQualityRequest& request);
  // Replaces the gauge's figures; label sets no longer listed drop to 0.
  void SetActiveSupervisions(const std::vector<ActiveSupervisions>& counts);

 private:
  prometheus::Family<prometheus::Counter>& events_;
  prometheus::Family<prometheus::Counter>& supervisions_;
  prometheus::Family<prometheus::Counter>& supervised_seconds_;
  prometheus::Family<prometheus::Counter>& mode_switches_;
  prometheus::Family<prometheus::Gauge>& active_;
  prometheus::Family<prometheus::Counter>& denials_;
  prometheus::Family<prometheus::Counter>& outcomes_;
  prometheus::Family<prometheus::Counter>& resolved_;
  prometheus::Family<prometheus::Counter>& transfers_;
  prometheus::Family<prometheus::Counter>& escalations_;
  prometheus::Family<prometheus::Counter>& handle_seconds_;
  prometheus::Family<prometheus::Counter>& csat_points_;
  prometheus::Family<prometheus::Counter>& csat_surveys_;
  prometheus::Family<prometheus::Counter>& qa_points_;
  prometheus::Family<prometheus::Counter>& qa_evaluations_;
  prometheus::Family<prometheus::Counter>& compliance_errors_;
  prometheus::Family<prometheus::Counter>& media_legs_;
  prometheus::Family<prometheus::Histogram>& media_loss_;
  prometheus::Family<prometheus::Histogram>& media_jitter_;
  prometheus::Family<prometheus::Histogram>& media_mos_;

  std::mutex mu_;
  // Gauge label sets ever set, so that vanished ones are reset to 0.
  std::vector<std::map<std::string, std::string>> active_labels_;
};

}  // namespace sotto::reporting

#endif  // SOTTO_SERVICES_REPORTING_REPORTING_METRICS_H_
