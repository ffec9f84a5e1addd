// Load generator for the broker's supervision round trip: each of
// --concurrency threads owns one registered call and repeats
// CreateSupervision(LISTEN) -> SetSupervisionMode(WHISPER) ->
// DeleteSupervision for --seconds. Prints round trips per second and the
// p50/p99 latency of each RPC and of the whole round trip.
// tests/bench/broker_bench.sh starts the services it needs.
#include <algorithm>
#include <atomic>
#include <cstdio>
#include <string>
#include <thread>
#include <vector>

#include "absl/flags/flag.h"
#include "absl/flags/parse.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "grpcpp/client_context.h"
#include "grpcpp/create_channel.h"
#include "sotto/v1/broker.grpc.pb.h"

ABSL_FLAG(std::string, broker, "127.0.0.1:7100", "sotto-broker address");
ABSL_FLAG(std::string, integrator_token, "", "JWT that may manage calls");
ABSL_FLAG(std::string, supervisor_token, "", "JWT that may supervise");
ABSL_FLAG(int, concurrency, 4, "Threads, one call each");
ABSL_FLAG(int, seconds, 10, "How long to run");
ABSL_FLAG(std::string, label, "", "Printed with the results (store name)");

namespace {

namespace v1 = sotto::v1;

struct Samples {
  std::vector<double> create, mode, release, cycle;  // milliseconds
};

double Percentile(std::vector<double> values, double p) {
  if (values.empty()) return 0;
  std::sort(values.begin(), values.end());
  const size_t index = std::min(
      values.size() - 1, static_cast<size_t>(p * (values.size() - 1) + 0.5));
  return values[index];
}

void Authorize(grpc::ClientContext& context, const std::string& token) {
  context.AddMetadata("authorization", "Bearer " + token);
  context.set_deadline(absl::ToChronoTime(absl::Now() + absl::Seconds(10)));
}

v1::MediaOffer Offer() {
  v1::MediaOffer offer;
  offer.mutable_remote_rtp()->set_address("127.0.0.1");
  offer.mutable_remote_rtp()->set_port(9);  // discard
  offer.set_codec(v1::CODEC_PCMU);
  offer.mutable_remote_key()->set_suite(v1::CRYPTO_SUITE_PLAIN_RTP);
  return offer;
}

}  // namespace

int main(int argc, char** argv) {
  absl::ParseCommandLine(argc, argv);
  const std::string integrator = absl::GetFlag(FLAGS_integrator_token);
  const std::string supervisor = absl::GetFlag(FLAGS_supervisor_token);
  if (integrator.empty() || supervisor.empty()) {
    std::fprintf(stderr,
                 "broker_load: --integrator_token and --supervisor_token are "
                 "required (tests/bench/broker_bench.sh makes them)\n");
    return 2;
  }
  auto channel = grpc::CreateChannel(absl::GetFlag(FLAGS_broker),
                                     grpc::InsecureChannelCredentials());
  auto stub = v1::Broker::NewStub(channel);
  const int threads = absl::GetFlag(FLAGS_concurrency);
  const std::string run = absl::StrCat(absl::ToUnixMillis(absl::Now()));

  std::vector<std::string> calls;
  for (int i = 0; i < threads; ++i) {
    v1::RegisterCallRequest request;
    request.set_parent("tenants/acme");
    request.set_call_id(absl::StrCat("bench-", run, "-", i));
    request.set_queue("sales");
    *request.mutable_customer()->mutable_media() = Offer();
    request.mutable_agent()->set_user_id("a-1");
    request.mutable_agent()->set_team("team-a");
    *request.mutable_agent()->mutable_media() = Offer();
    request.set_monitoring_disclosed(true);
    request.set_request_id(absl::StrCat("bench-register-", run, "-", i));
    grpc::ClientContext context;
    Authorize(context, integrator);
    v1::Call call;
    grpc::Status status = stub->RegisterCall(&context, request, &call);
    // The media engine may not have registered yet: retry for 10 s.
    for (int attempt = 0;
         status.error_code() == grpc::StatusCode::UNAVAILABLE && attempt < 100;
         ++attempt) {
      absl::SleepFor(absl::Milliseconds(100));
      grpc::ClientContext again;
      Authorize(again, integrator);
      status = stub->RegisterCall(&again, request, &call);
    }
    if (!status.ok()) {
      std::fprintf(stderr, "broker_load: RegisterCall: %s\n",
                   status.error_message().c_str());
      return 1;
    }
    calls.push_back(call.name());
  }

  std::vector<Samples> samples(threads);
  std::atomic<int> errors{0};
  const absl::Time end =
      absl::Now() + absl::Seconds(absl::GetFlag(FLAGS_seconds));
  std::vector<std::thread> workers;
  for (int t = 0; t < threads; ++t) {
    workers.emplace_back([&, t] {
      Samples& mine = samples[t];
      for (int n = 0; absl::Now() < end; ++n) {
        const std::string id = absl::StrCat(run, "-", t, "-", n);
        const absl::Time start = absl::Now();
        v1::CreateSupervisionRequest create;
        create.set_parent(calls[t]);
        create.set_mode(v1::MODE_LISTEN);
        *create.mutable_media() = Offer();
        create.set_request_id("c-" + id);
        v1::Supervision supervision;
        grpc::ClientContext c1;
        Authorize(c1, supervisor);
        if (!stub->CreateSupervision(&c1, create, &supervision).ok()) {
          ++errors;
          continue;
        }
        const absl::Time created = absl::Now();
        v1::SetSupervisionModeRequest mode;
        mode.set_name(supervision.name());
        mode.set_mode(v1::MODE_WHISPER);
        mode.set_request_id("m-" + id);
        grpc::ClientContext c2;
        Authorize(c2, supervisor);
        if (!stub->SetSupervisionMode(&c2, mode, &supervision).ok()) ++errors;
        const absl::Time switched = absl::Now();
        v1::DeleteSupervisionRequest release;
        release.set_name(supervision.name());
        release.set_request_id("d-" + id);
        grpc::ClientContext c3;
        Authorize(c3, supervisor);
        if (!stub->DeleteSupervision(&c3, release, &supervision).ok()) ++errors;
        const absl::Time released = absl::Now();
        mine.create.push_back(absl::ToDoubleMilliseconds(created - start));
        mine.mode.push_back(absl::ToDoubleMilliseconds(switched - created));
        mine.release.push_back(absl::ToDoubleMilliseconds(released - switched));
        mine.cycle.push_back(absl::ToDoubleMilliseconds(released - start));
      }
    });
  }
  for (std::thread& w : workers) w.join();

  for (const std::string& call : calls) {
    v1::EndCallRequest request;
    request.set_name(call);
    request.set_request_id("bench-end-" + call);
    grpc::ClientContext context;
    Authorize(context, integrator);
    v1::Call ended;
    (void)stub->EndCall(&context, request, &ended);
  }

  Samples all;
  for (const Samples& s : samples) {
    all.create.insert(all.create.end(), s.create.begin(), s.create.end());
    all.mode.insert(all.mode.end(), s.mode.begin(), s.mode.end());
    all.release.insert(all.release.end(), s.release.begin(), s.release.end());
    all.cycle.insert(all.cycle.end(), s.cycle.begin(), s.cycle.end());
  }
  const double seconds = absl::GetFlag(FLAGS_seconds);
  std::printf(
      "store=%s concurrency=%d seconds=%.0f round_trips=%zu "
      "round_trips_per_s=%.1f errors=%d\n",
      absl::GetFlag(FLAGS_label).c_str(), threads, seconds, all.cycle.size(),
      all.cycle.size() / seconds, errors.load());
  for (const auto& [name, values] :
       {std::pair<const char*, const std::vector<double>*>{"supervise",
                                                           &all.create},
        {"set_mode", &all.mode},
        {"release", &all.release},
        {"round_trip", &all.cycle}}) {
    std::printf("  %-10s p50=%.2f ms p99=%.2f ms\n", name,
                Percentile(*values, 0.50), Percentile(*values, 0.99));
  }
  return errors.load() == 0 ? 0 : 1;
}
