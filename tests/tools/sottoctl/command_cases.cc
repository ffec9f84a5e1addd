#include "tests/tools/sottoctl/command_cases.h"

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/time/time.h"
#include "tools/sottoctl/args.h"

namespace sotto::sottoctl::cases {

Context TestContext() {
  Context context;
  context.tenant = "acme";
  context.token = "tok";
  context.request_id = "rid-1";
  context.now = absl::FromUnixSeconds(kNow);
  return context;
}

const Command* Find(const std::vector<std::string>& words, size_t* consumed) {
  if (const Command* alias = FindAlias(words.at(0))) {
    *consumed = 1;
    return alias;
  }
  *consumed = 2;
  return FindCommand(words.at(0), words.size() > 1 ? words[1] : "");
}

absl::StatusOr<RequestPtr> Build(const std::vector<std::string>& line,
                                 const Context& context) {
  size_t consumed = 0;
  const Command* command = Find(line, &consumed);
  if (command == nullptr) return absl::NotFoundError("no such command");
  std::vector<FlagSpec> specs = GlobalFlags();
  specs.insert(specs.end(), command->flags.begin(), command->flags.end());
  std::vector<std::string> rest(line.begin() + consumed, line.end());
  absl::StatusOr<ParsedArgs> args = ParseArgs(rest, specs);
  if (!args.ok()) return args.status();
  return BuildRequest(*command, *args, context);
}

void PrintTo(const Case& c, std::ostream* os) {
  *os << "sottoctl " << absl::StrJoin(c.line, " ");
}

std::vector<Case> Cases() {
  const std::string week =
      absl::StrCat("start_time { seconds: ", kWeekAgo, " }");
  return {
      {{"calls", "register", "c-1", "--queue=sales", "--agent=a-1",
        "--team=team-a", "--agent_name=Ann", "--customer_rtp=10.0.0.1:4000",
        "--customer_key=S0VZ", "--agent_rtp=[::1]:5000", "--agent_codec=pcma",
        "--agent_suite=plain", "--agent_ptime=30", "--attr=lang=fr", "--attr",
        "tier=gold", "--disclosed"},
       R"(parent: "tenants/acme" call_id: "c-1" queue: "sales"
          customer { media { remote_rtp { address: "10.0.0.1" port: 4000 }
                             codec: CODEC_PCMU
                             remote_key { suite: CRYPTO_SUITE_AES_CM_128_HMAC_SHA1_80
                                          inline_key: "S0VZ" } } }
          agent { user_id: "a-1" team: "team-a" display_name: "Ann"
                  media { remote_rtp { address: "::1" port: 5000 }
                          codec: CODEC_PCMA ptime_ms: 30
                          remote_key { suite: CRYPTO_SUITE_PLAIN_RTP } } }
          attributes { key: "lang" value: "fr" }
          attributes { key: "tier" value: "gold" }
          monitoring_disclosed: true request_id: "rid-1")"},
      {{"calls", "get", "c-1"}, R"(name: "tenants/acme/calls/c-1")"},
      {{"calls", "get", "tenants/globex/calls/x"},
       R"(name: "tenants/globex/calls/x")"},
      {{"calls", "list", "--queue=sales", "--team=team-a", "--agent=a-1",
        "--state=active,on-hold", "--state=ended", "--page_size=10",
        "--page_token=p2"},
       R"(parent: "tenants/acme" page_size: 10 page_token: "p2" queue: "sales"
          team: "team-a" agent_id: "a-1" states: [ACTIVE, ON_HOLD, ENDED])"},
      {{"calls", "end", "c-1", "--reason", "customer hung up"},
       R"(name: "tenants/acme/calls/c-1" reason: "customer hung up"
          request_id: "rid-1")"},
      {{"calls", "hold", "c-1"},
       R"(name: "tenants/acme/calls/c-1" request_id: "rid-1")"},
      {{"calls", "resume", "c-1"},
       R"(name: "tenants/acme/calls/c-1" request_id: "rid-1")"},
      {{"calls", "update", "c-1", "--queue=billing", "--disclosed=true"},
       R"(call { name: "tenants/acme/calls/c-1" queue: "billing"
                 monitoring_disclosed: true }
          update_mask { paths: ["queue", "monitoring_disclosed"] }
          request_id: "rid-1")"},
      {{"calls", "update", "c-1", "--attr=lang=de"},
       R"(call { name: "tenants/acme/calls/c-1"
                 attributes { key: "lang" value: "de" } }
          update_mask { paths: "attributes" } request_id: "rid-1")"},
      {{"calls", "transfer", "c-1", "--agent=a-2", "--team=team-b",
        "--agent_rtp=10.0.0.9:7000", "--agent_suite=plain-rtp",
        "--reason=escalated"},
       R"(name: "tenants/acme/calls/c-1"
          new_agent { user_id: "a-2" team: "team-b"
                      media { remote_rtp { address: "10.0.0.9" port: 7000 }
                              codec: CODEC_PCMU
                              remote_key { suite: CRYPTO_SUITE_PLAIN_RTP } } }
          reason: "escalated" request_id: "rid-1")"},
      {{"calls", "pause-recording", "c-1", "--reason=card number"},
       R"(name: "tenants/acme/calls/c-1" reason: "card number"
          request_id: "rid-1")"},
      {{"calls", "resume-recording", "c-1"},
       R"(name: "tenants/acme/calls/c-1" request_id: "rid-1")"},
      {{"calls", "update-media", "agent-1", "--call=c-1", "--key=TkVX",
        "--rtcp=separate-port", "--rtcp_endpoint=10.0.0.1:4011"},
       R"(participant: "tenants/acme/calls/c-1/participants/agent-1"
          media { remote_rtcp { address: "10.0.0.1" port: 4011 }
                  codec: CODEC_PCMU rtcp_mode: RTCP_MODE_SEPARATE_PORT
                  remote_key { suite: CRYPTO_SUITE_AES_CM_128_HMAC_SHA1_80
                               inline_key: "TkVX" } }
          request_id: "rid-1")"},
      {{"supervisions", "create", "c-1", "--mode=whisper",
        "--rtp=127.0.0.1:6000", "--suite=plain", "--display_name=Lee",
        "--reason=new hire"},
       R"(parent: "tenants/acme/calls/c-1" mode: MODE_WHISPER
          media { remote_rtp { address: "127.0.0.1" port: 6000 }
                  codec: CODEC_PCMU remote_key { suite: CRYPTO_SUITE_PLAIN_RTP } }
          display_name: "Lee" request_id: "rid-1" reason: "new hire")"},
      {{"supervise", "c-1", "--suite=plain"},
       R"(parent: "tenants/acme/calls/c-1" mode: MODE_LISTEN
          media { codec: CODEC_PCMU remote_key { suite: CRYPTO_SUITE_PLAIN_RTP } }
          request_id: "rid-1")"},
      {{"supervisions", "mode", kSup, "barge"},
       R"(name: "tenants/acme/calls/c-1/supervisions/s-1" mode: MODE_BARGE
          request_id: "rid-1")"},
      {{"mode", "s-1", "--call=c-1", "TAKEOVER", "--preempt",
        "--reason=customer asked for a manager"},
       R"(name: "tenants/acme/calls/c-1/supervisions/s-1" mode: MODE_TAKEOVER
          preempt_takeover: true request_id: "rid-1"
          reason: "customer asked for a manager")"},
      {{"supervisions", "release", kSup},
       R"(name: "tenants/acme/calls/c-1/supervisions/s-1" request_id: "rid-1")"},
      {{"release", kSup},
       R"(name: "tenants/acme/calls/c-1/supervisions/s-1" request_id: "rid-1")"},
      {{"supervisions", "get", kSup},
       R"(name: "tenants/acme/calls/c-1/supervisions/s-1")"},
      {{"supervisions", "list"}, R"(parent: "tenants/acme/calls/-")"},
      {{"supervisions", "list", kCall, "--supervisor=lead-1", "--include_ended",
        "--page_size=5"},
       R"(parent: "tenants/acme/calls/c-1" page_size: 5 supervisor: "lead-1"
          include_ended: true)"},
      {{"watch", "call", "c-1"}, R"(name: "tenants/acme/calls/c-1")"},
      {{"watch", "calls", "--queue=sales", "--team=team-a", "--agent=a-1"},
       R"(parent: "tenants/acme" queue: "sales" team: "team-a" agent_id: "a-1")"},
      {{"engines", "list"}, ""},
      {{"recordings", "list", "--call=c-1", "--team=team-a", "--agent=a-1",
        "--from=2026-12-01T00:00:00Z", "--to=2026-12-02T00:00:00Z"},
       R"(parent: "tenants/acme" call: "tenants/acme/calls/c-1" team: "team-a"
          agent_id: "a-1"
          time_range { start_time { seconds: 1796083200 }
                       end_time { seconds: 1796169600 } })"},
      {{"recordings", "get", "r-1"}, R"(name: "tenants/acme/recordings/r-1")"},
      {{"recordings", "download", "r-1", "--file=1", "--out=-"},
       R"(name: "tenants/acme/recordings/r-1" file: 1)"},
      {{"recordings", "start", "c-1", "--engine_address=127.0.0.1:7102",
        "--team=team-a", "--agent=a-1", "--queue=sales",
        "--leg=customer=customer", "--leg=agent-1=agent", "--retention=90d",
        "--require_disclosure", "--disclosed"},
       R"(call: "tenants/acme/calls/c-1" queue: "sales" team: "team-a"
          agent_id: "a-1" engine_address: "127.0.0.1:7102"
          room_id: "tenants/acme/calls/c-1"
          legs { key: "customer" value: ROLE_CUSTOMER }
          legs { key: "agent-1" value: ROLE_AGENT }
          policy { enabled: true require_disclosure: true layout: MULTICHANNEL
                   retention { seconds: 7776000 } }
          monitoring_disclosed: true request_id: "rid-1")"},
      {{"recordings", "stop", "r-1"},
       R"(name: "tenants/acme/recordings/r-1" request_id: "rid-1")"},
      {{"recordings", "pause", "r-1", "--reason=card"},
       R"(name: "tenants/acme/recordings/r-1" reason: "card"
          request_id: "rid-1")"},
      {{"recordings", "resume", "r-1"},
       R"(name: "tenants/acme/recordings/r-1" request_id: "rid-1")"},
      {{"recordings", "annotate", "r-1", "--supervision=s-1", "--call=c-1",
        "--supervisor=lead-1", "--mode=whisper", "--time=2026-12-03T11:00:00Z",
        "--ended"},
       R"(name: "tenants/acme/recordings/r-1"
          supervision: "tenants/acme/calls/c-1/supervisions/s-1"
          supervisor: "lead-1" mode: MODE_WHISPER
          time { seconds: 1796295600 } supervision_ended: true
          request_id: "rid-1")"},
      {{"retention", "apply", "--dry_run"}, R"(tenant: "acme" dry_run: true)"},
      {{"retention", "apply", "--all_tenants"}, ""},
      {{"reports", "activity", "--team=team-a,team-b", "--group_by=supervisor"},
       absl::StrCat(R"(scope { parent: "tenants/acme" time_range { )", week,
                    R"( } teams: ["team-a", "team-b"] }
                       group_by: GROUP_BY_SUPERVISOR)")},
      {{"reports", "coaching", "--last=30d", "--agent=a-1", "--bucket=1d"},
       absl::StrCat(R"(scope { parent: "tenants/acme" time_range {
                         start_time { seconds: )",
                    kNow - 30 * 86400, R"( } } agent_ids: "a-1" }
                       group_by: GROUP_BY_AGENT bucket { seconds: 86400 })")},
      {{"reports", "ramp-up", "--queue=sales", "--weeks=4",
        "--from=2026-12-01T00:00:00Z"},
       R"(scope { parent: "tenants/acme"
                  time_range { start_time { seconds: 1796083200 } }
                  queues: "sales" }
          group_by: GROUP_BY_TEAM weeks: 4)"},
      {{"reports", "export-csv", "ramp-up", "--weeks=2", "--out=x.csv"},
       absl::StrCat(R"(ramp_up { scope { parent: "tenants/acme" time_range { )",
                    week, R"( } } group_by: GROUP_BY_TEAM weeks: 2 })")},
      {{"outcomes", "report", "c-1", "--agent=a-1", "--team=team-a", "--fcr",
        "--csat=5", "--qa_score=87.5", "--handle_time=6m30s",
        "--agent_start=2026-01-05T00:00:00Z"},
       R"(call: "tenants/acme/calls/c-1"
          outcome { agent_id: "a-1" team: "team-a"
                    first_contact_resolution: true csat: 5 qa_score: 87.5
                    handle_time { seconds: 390 }
                    agent_start_time { seconds: 1767571200 } }
          request_id: "rid-1")"},
      {{"audit", "list", "--call=c-1", "--actor=lead-1", "--last=1h"},
       absl::StrCat(R"(parent: "tenants/acme" call: "tenants/acme/calls/c-1"
                       actor: "lead-1"
                       time_range { start_time { seconds: )",
                    kNow - 3600, " } }")},
      {{"audit", "verify"}, R"(tenant: "acme")"},
      {{"whoami"}, R"(token: "tok")"},
      {{"authorize", "check", "--action=calls.supervise", "--mode=barge",
        "--call=c-1", "--team=team-a", "--disclosed"},
       R"(action: ACTION_CALLS_SUPERVISE mode: MODE_BARGE
          resource { tenant: "acme" call: "tenants/acme/calls/c-1"
                     team: "team-a" monitoring_disclosed: true })"},
      {{"authorize", "check", "--action=reports_read", "--subject=qa-1",
        "--roles=qa_analyst"},
       R"(action: ACTION_REPORTS_READ
          principal { tenant: "acme" subject: "qa-1" roles: "qa_analyst" }
          resource { tenant: "acme" })"},
      {{"policy", "status"}, ""},
      {{"policy", "recording", "--queue=payments"},
       R"(tenant: "acme" queue: "payments")"},
      {{"media", "info"}, ""},
      {{"media", "rooms"}, ""},
      {{"media", "stats", "tenants/acme/calls/c-1"},
       R"(room_id: "tenants/acme/calls/c-1")"},
      {{"media", "drain", "--deadline=10m"}, R"(deadline { seconds: 600 })"},
  };
}

}  // namespace sotto::sottoctl::cases
