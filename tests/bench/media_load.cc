// media_load: load generator for the media engine (issue 3's benchmark).
//
//   bazel run -c opt //tests/bench:media_load -- --rooms=N --seconds=S
//
// Drives N rooms of three PCMU legs (customer, agent, supervisor in WHISPER)
// at 50 packets/s per leg over loopback, against a sotto-media it starts
// itself (from runfiles, pinned to --engine_cpu) or one named by --engine, or
// against Janus AudioBridge (--janus=http://127.0.0.1:8088, plain RTP, full
// mix). Prints as its LAST line one JSON object with the results.
//
// Latency is measured exactly on the customer sink: in WHISPER the customer
// hears only the agent at unity gain, so the agent's μ-law payload passes the
// mixer bit-exact. The agent embeds a packet counter in its payload (bytes
// chosen so that μ-law decode→encode gives them back); the customer's
// received payload is matched to that agent packet's send time. Send time is
// CLOCK_REALTIME just before sendto(); receive time is the kernel's
// SO_TIMESTAMPNS, so the generator's own scheduling does not inflate it.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sched.h>
#include <signal.h>
#include <sys/epoll.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <map>
#include <memory>
#include <optional>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "absl/flags/flag.h"
#include "absl/flags/parse.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_split.h"
#include "grpcpp/grpcpp.h"
#include "media_engine/codec/g711.h"
#include "media_engine/rtp/rtp_packet.h"
#include "media_engine/srtp/srtp_key.h"
#include "media_engine/srtp/srtp_library.h"
#include "media_engine/srtp/srtp_session.h"
#include "nlohmann/json.hpp"
#include "sotto/v1/media.grpc.pb.h"

ABSL_FLAG(int, rooms, 100, "Rooms (three legs each).");
ABSL_FLAG(int, seconds, 10, "Measured window, seconds (after the warm-up).");
ABSL_FLAG(int, warmup_seconds, 3, "Warm-up before the measured window.");
ABSL_FLAG(std::string, engine, "",
          "HOST:PORT of a running sotto-media; empty: start one from "
          "runfiles.");
ABSL_FLAG(int, engine_pid, 0,
          "PID of the engine (or Janus) for CPU/RSS when not started here.");
ABSL_FLAG(int, engine_workers, 1, "--workers of the engine started here.");
ABSL_FLAG(int, engine_cpu, 0,
          "CPU the engine started here is pinned to (-1: not pinned).");
ABSL_FLAG(int, generator_cpu, 1,
          "CPU this load generator pins itself to (-1: not pinned).");
ABSL_FLAG(int, sender_threads, 2, "Sender threads.");
ABSL_FLAG(bool, same_phase, false,
          "Send a room's three legs back to back (default: every leg has its "
          "own phase, spread uniformly over the 20 ms).");
ABSL_FLAG(bool, plain_rtp, false, "Plain RTP legs instead of SRTP.");
ABSL_FLAG(int, receiver_poll_us, 500,
          "The receiver polls its sockets every N us instead of blocking in "
          "epoll_wait (0: block). On loopback a sender pays for waking a "
          "blocked receiver inside its own sendto; a real engine's sendto "
          "goes to a NIC and wakes no one, so by default the generator never "
          "sleeps where the engine's packets would have to wake it. Latency "
          "is unaffected: it is taken from kernel receive timestamps.");
ABSL_FLAG(std::string, engine_binary, "",
          "sotto-media to start (default: the one in this binary's runfiles); "
          "for A/B runs of two builds.");
ABSL_FLAG(std::string, engine_args, "",
          "Extra flags for the engine started here, space-separated (e.g. "
          "--coalesce_us=200).");
ABSL_FLAG(bool, floor_relay, false,
          "Instead of an engine, fork a do-nothing relay pinned to "
          "--engine_cpu with the engine's socket pattern (a UDP socket per "
          "leg, level-triggered epoll, one recvmsg with a kernel timestamp "
          "and one sendto per packet; agent<->customer forwarded as is, the "
          "supervisor echoed) over plain RTP: the kernel's per-packet floor "
          "for any engine with a port per leg on this machine.");
ABSL_FLAG(std::string, srtp_crypto, "openssl",
          "libsrtp crypto backend, here and in the engine started here: "
          "openssl or library.");
ABSL_FLAG(bool, verify_all, false,
          "Decrypt every received packet (default: only the customer sink's, "
          "which carries the latency probe; others are counted by header).");
ABSL_FLAG(std::string, janus, "",
          "Janus HTTP API base (e.g. http://127.0.0.1:8088): drive Janus "
          "AudioBridge with plain RTP instead of sotto-media.");
ABSL_FLAG(int, port_min, 10000,
          "Engine media port range (engine started here).");
ABSL_FLAG(int, port_max, 19999,
          "Engine media port range (engine started here).");
ABSL_FLAG(int, stall_engine_ms, 0,
          "Fault injection: SIGSTOP the engine for this long, 2 s into the "
          "measured window (then SIGCONT), to test recovery after a stall.");
ABSL_FLAG(std::string, engine_log, "/tmp/media_load_engine.log",
          "Where the engine started here logs.");

namespace {

using sotto::media::srtp::SrtpCryptoSuite;
using sotto::media::srtp::SrtpDirection;
using sotto::media::srtp::SrtpKeyMaterial;
using sotto::media::srtp::SrtpResult;
using sotto::media::srtp::SrtpSession;

constexpr int64_t kFrameNs = 20'000'000;
constexpr int kSamples = 160;
constexpr int kRing = 4096;  // agent send-time ring (80 s of packets)
enum Role { kCustomer = 0, kAgent = 1, kSupervisor = 2 };
const char* kRoleName[] = {"customer", "agent", "supervisor"};

int64_t NowNs(clockid_t clock) {
  timespec ts;
  clock_gettime(clock, &ts);
  return int64_t{ts.tv_sec} * 1'000'000'000 + ts.tv_nsec;
}

void Die(const std::string& message) {
  std::fprintf(stderr, "media_load: %s\n", message.c_str());
  std::exit(1);
}

// μ-law bytes that survive decode→encode (0x7F does not: it decodes to 0,
// which encodes as 0xFF). 16 of them carry a counter nibble by nibble.
std::vector<uint8_t> g_digit;  // nibble -> byte
int g_digit_of[256];           // byte -> nibble or -1

void InitDigits() {
  std::fill(std::begin(g_digit_of), std::end(g_digit_of), -1);
  for (int b = 0xC0; b < 0x100 + 0xC0 && g_digit.size() < 16; ++b) {
    const uint8_t byte = static_cast<uint8_t>(b & 0xFF);
    if (sotto::media::codec::LinearToUlaw(
            sotto::media::codec::UlawToLinear(byte)) == byte &&
        byte != 0xFF) {
      g_digit_of[byte] = static_cast<int>(g_digit.size());
      g_digit.push_back(byte);
    }
  }
  if (g_digit.size() < 16) Die("not enough round-trip μ-law bytes");
}

void EncodeCounter(uint32_t counter, uint8_t* payload) {
  for (int copy = 0; copy < 2; ++copy)
    for (int i = 0; i < 8; ++i)
      payload[copy * 8 + i] = g_digit[(counter >> (28 - 4 * i)) & 0xF];
}

bool DecodeCounter(const uint8_t* payload, size_t length, uint32_t* counter) {
  if (length < 16) return false;
  uint32_t values[2] = {0, 0};
  for (int copy = 0; copy < 2; ++copy)
    for (int i = 0; i < 8; ++i) {
      const int d = g_digit_of[payload[copy * 8 + i]];
      if (d < 0) return false;
      values[copy] = (values[copy] << 4) | static_cast<uint32_t>(d);
    }
  if (values[0] != values[1]) return false;
  *counter = values[0];
  return true;
}

struct Leg {
  int room = 0;
  Role role = kCustomer;
  int fd = -1;
  uint16_t local_port = 0;
  sockaddr_in target{};
  std::optional<SrtpSession> out;
  std::optional<SrtpSession> in;
  int64_t phase_ns = 0;
  // Sender state (one sender thread owns a leg).
  uint16_t seq = 0;
  uint32_t ts = 0;
  uint32_t ssrc = 0;
  uint32_t counter = 0;
  uint64_t sent_in_window = 0;
  // Agent only: send time (CLOCK_REALTIME ns) by counter % kRing.
  std::unique_ptr<std::atomic<int64_t>[]> sent_ns;
  // Receiver state (receiver thread only).
  uint64_t rx_window = 0;
  bool have_ts = false;
  uint32_t first_ts = 0, last_ts = 0;
  uint64_t ts_backwards = 0;
  // Customer only: counters heard in the window.
  bool have_counter = false;
  uint32_t first_counter = 0, last_counter = 0;
  uint64_t counters_heard = 0;
};

std::vector<std::unique_ptr<Leg>> g_legs;
std::atomic<bool> g_stop{false};
int64_t g_window_start_rt = 0, g_window_end_rt = 0;  // CLOCK_REALTIME ns

// Receiver results.
std::vector<int64_t> g_latency_ns;
std::vector<int64_t> g_latency_at_ns;  // receive time of each sample
uint64_t g_rx_total = 0, g_rx_rtcp = 0, g_rx_undecryptable = 0,
         g_rx_unmatched = 0;

void PinSelf(int cpu) {
  if (cpu < 0) return;
  cpu_set_t set;
  CPU_ZERO(&set);
  CPU_SET(cpu, &set);
  if (sched_setaffinity(0, sizeof(set), &set) != 0)
    Die(absl::StrCat("sched_setaffinity(", cpu, "): ", std::strerror(errno)));
}

void RaiseFdLimit() {
  rlimit limit;
  getrlimit(RLIMIT_NOFILE, &limit);
  limit.rlim_cur = limit.rlim_max;
  setrlimit(RLIMIT_NOFILE, &limit);
}

int BindUdp() {
  int fd = socket(AF_INET, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (fd < 0) Die(absl::StrCat("socket: ", std::strerror(errno)));
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) != 0)
    Die(absl::StrCat("bind: ", std::strerror(errno)));
  int on = 1;
  setsockopt(fd, SOL_SOCKET, SO_TIMESTAMPNS, &on, sizeof(on));
  socklen_t len = sizeof(addr);
  getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len);
  return fd;
}

uint16_t LocalPort(int fd) {
  sockaddr_in addr{};
  socklen_t len = sizeof(addr);
  getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len);
  return ntohs(addr.sin_port);
}

sockaddr_in Loopback(uint16_t port) {
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  addr.sin_port = htons(port);
  return addr;
}

// ---------------------------------------------------------------- engine --

struct Process {
  pid_t pid = 0;
};

std::string RunfilesPath(const char* argv0, const std::string& rel) {
  std::vector<std::string> candidates;
  if (const char* dir = std::getenv("RUNFILES_DIR"))
    candidates.push_back(absl::StrCat(dir, "/sotto/", rel));
  candidates.push_back(absl::StrCat(argv0, ".runfiles/sotto/", rel));
  candidates.push_back(rel);
  for (const std::string& c : candidates)
    if (access(c.c_str(), X_OK) == 0) return c;
  Die("cannot find " + rel + " in runfiles");
  return "";
}

pid_t StartEngine(const std::string& binary, int rooms, int* grpc_port) {
  char dir_template[] = "/tmp/media_load.XXXXXX";
  const char* dir = mkdtemp(dir_template);
  if (dir == nullptr) Die("mkdtemp");
  const std::string ready = absl::StrCat(dir, "/ready.json");
  std::vector<std::string> args = {
      binary,
      "--grpc_address=127.0.0.1:0",
      "--metrics_address=127.0.0.1:0",
      "--ready_file=" + ready,
      "--media_bind_ip=127.0.0.1",
      "--media_ip=127.0.0.1",
      absl::StrCat("--port_min=", absl::GetFlag(FLAGS_port_min)),
      absl::StrCat("--port_max=", absl::GetFlag(FLAGS_port_max)),
      absl::StrCat("--workers=", absl::GetFlag(FLAGS_engine_workers)),
      absl::StrCat("--srtp_crypto=", absl::GetFlag(FLAGS_srtp_crypto)),
      absl::StrCat("--capacity_rooms=", std::max(rooms + 10, 2000)),
      "--drain_deadline=2s",
      "--log_level=warning",
  };
  for (absl::string_view extra : absl::StrSplit(
           absl::GetFlag(FLAGS_engine_args), ' ', absl::SkipEmpty())) {
    args.emplace_back(extra);
  }
  const int engine_cpu = absl::GetFlag(FLAGS_engine_cpu);
  const std::string log = absl::GetFlag(FLAGS_engine_log);
  pid_t pid = fork();
  if (pid < 0) Die("fork");
  if (pid == 0) {
    if (engine_cpu >= 0) {
      cpu_set_t set;
      CPU_ZERO(&set);
      CPU_SET(engine_cpu, &set);
      sched_setaffinity(0, sizeof(set), &set);
    }
    prctl(PR_SET_PDEATHSIG, SIGKILL);
    FILE* f = std::fopen(log.c_str(), "w");
    if (f) {
      dup2(fileno(f), 1);
      dup2(fileno(f), 2);
    }
    std::vector<char*> argv;
    for (auto& a : args) argv.push_back(a.data());
    argv.push_back(nullptr);
    execv(argv[0], argv.data());
    _exit(127);
  }
  for (int i = 0; i < 300; ++i) {
    std::ifstream in(ready);
    if (in) {
      std::stringstream ss;
      ss << in.rdbuf();
      try {
        auto j = nlohmann::json::parse(ss.str());
        *grpc_port = j.at("grpc_port").get<int>();
        return pid;
      } catch (...) {
      }
    }
    int status;
    if (waitpid(pid, &status, WNOHANG) == pid)
      Die("engine exited during start; see " + log);
    usleep(100'000);
  }
  Die("engine not ready after 30 s; see " + log);
  return 0;
}

void StopEngine(pid_t pid) {
  kill(pid, SIGTERM);
  for (int i = 0; i < 50; ++i) {
    int status;
    if (waitpid(pid, &status, WNOHANG) == pid) return;
    usleep(100'000);
  }
  kill(pid, SIGKILL);
  waitpid(pid, nullptr, 0);
}

// utime + stime in seconds, whole process.
double ProcessCpuSeconds(int pid) {
  std::ifstream in(absl::StrCat("/proc/", pid, "/stat"));
  std::string line;
  std::getline(in, line);
  const size_t close = line.rfind(')');
  if (close == std::string::npos) return -1;
  std::istringstream rest(line.substr(close + 2));
  std::string field;
  long utime = 0, stime = 0;
  for (int i = 3; i <= 15; ++i) {
    rest >> field;
    if (i == 14) utime = std::stol(field);
    if (i == 15) stime = std::stol(field);
  }
  return static_cast<double>(utime + stime) / sysconf(_SC_CLK_TCK);
}

long ProcessRssKib(int pid) {
  std::ifstream in(absl::StrCat("/proc/", pid, "/status"));
  std::string line;
  while (std::getline(in, line)) {
    if (line.rfind("VmRSS:", 0) == 0) return std::stol(line.substr(6));
  }
  return -1;
}

// ------------------------------------------------------------ sotto setup --

// -------------------------------------------------------------- floor --

// The relay behind --floor_relay (runs in a forked child until killed).
[[noreturn]] void RelayLoop(const std::vector<int>& fds) {
  const int ep = epoll_create1(EPOLL_CLOEXEC);
  for (size_t i = 0; i < fds.size(); ++i) {
    epoll_event ev{};
    ev.events = EPOLLIN;
    ev.data.u64 = i;
    epoll_ctl(ep, EPOLL_CTL_ADD, fds[i], &ev);
  }
  std::vector<sockaddr_in> peer(fds.size());
  std::vector<bool> latched(fds.size(), false);
  epoll_event events[512];
  uint8_t data[2048];
  alignas(cmsghdr) char control[256];
  for (;;) {
    const int n = epoll_wait(ep, events, 512, 1000);
    for (int e = 0; e < n; ++e) {
      const size_t i = events[e].data.u64;
      sockaddr_in from{};
      iovec iov{data, sizeof(data)};
      msghdr msg{};
      msg.msg_name = &from;
      msg.msg_namelen = sizeof(from);
      msg.msg_iov = &iov;
      msg.msg_iovlen = 1;
      msg.msg_control = control;
      msg.msg_controllen = sizeof(control);
      const ssize_t got = recvmsg(fds[i], &msg, 0);
      if (got <= 0) continue;
      if (!latched[i]) {
        peer[i] = from;
        latched[i] = true;
      }
      const size_t base = i - i % 3;
      const size_t out = i % 3 == kAgent      ? base + kCustomer
                         : i % 3 == kCustomer ? base + kAgent
                                              : i;
      if (latched[out]) {
        sendto(fds[out], data, static_cast<size_t>(got), 0,
               reinterpret_cast<const sockaddr*>(&peer[out]),
               sizeof(peer[out]));
      }
    }
  }
}

pid_t StartRelay(int rooms) {
  std::vector<int> fds;
  for (int i = 0; i < rooms * 3; ++i) fds.push_back(BindUdp());
  for (int i = 0; i < rooms * 3; ++i) {
    g_legs[static_cast<size_t>(i)]->target =
        Loopback(LocalPort(fds[static_cast<size_t>(i)]));
  }
  const pid_t pid = fork();
  if (pid < 0) Die(absl::StrCat("fork: ", std::strerror(errno)));
  if (pid == 0) {
    prctl(PR_SET_PDEATHSIG, SIGKILL);
    PinSelf(absl::GetFlag(FLAGS_engine_cpu));
    RelayLoop(fds);
  }
  for (int fd : fds) close(fd);
  return pid;
}

void SetUpSottoRooms(const std::string& address, int rooms, bool plain) {
  auto channel =
      grpc::CreateChannel(address, grpc::InsecureChannelCredentials());
  auto stub = sotto::v1::MediaEngine::NewStub(channel);
  int request = 0;
  for (int r = 0; r < rooms; ++r) {
    const std::string room_id = absl::StrCat("bench-room-", r);
    for (int role = 0; role < 3; ++role) {
      Leg& leg = *g_legs[static_cast<size_t>(r * 3 + role)];
      sotto::v1::AddLegRequest req;
      req.set_room_id(room_id);
      req.set_leg_id(kRoleName[role]);
      req.set_request_id(absl::StrCat("req-", ++request));
      auto* offer = req.mutable_offer();
      offer->mutable_remote_rtp()->set_address("127.0.0.1");
      offer->mutable_remote_rtp()->set_port(leg.local_port);
      offer->set_codec(sotto::v1::CODEC_PCMU);
      offer->set_rtcp_mode(sotto::v1::RTCP_MODE_MUX);
      std::optional<SrtpKeyMaterial> send_key;
      if (plain) {
        offer->mutable_remote_key()->set_suite(
            sotto::v1::CRYPTO_SUITE_PLAIN_RTP);
      } else {
        send_key =
            *SrtpKeyMaterial::Generate(SrtpCryptoSuite::kAesCm128HmacSha1_80);
        offer->mutable_remote_key()->set_suite(
            sotto::v1::CRYPTO_SUITE_AES_CM_128_HMAC_SHA1_80);
        offer->mutable_remote_key()->set_inline_key(
            send_key->ToSdesKeyParams());
      }
      sotto::v1::Leg reply;
      grpc::ClientContext ctx;
      ctx.set_deadline(std::chrono::system_clock::now() +
                       std::chrono::seconds(10));
      grpc::Status status = stub->AddLeg(&ctx, req, &reply);
      if (!status.ok())
        Die(absl::StrCat("AddLeg ", room_id, "/", kRoleName[role], ": ",
                         status.error_message()));
      leg.target =
          Loopback(static_cast<uint16_t>(reply.answer().local_rtp().port()));
      if (!plain) {
        auto receive_key = SrtpKeyMaterial::FromSdesKeyParams(
            SrtpCryptoSuite::kAesCm128HmacSha1_80,
            // The answer carries bare base64 (as media.proto says); the
            // parser wants SDES key-params.
            absl::StartsWith(reply.answer().local_key().inline_key(), "inline:")
                ? reply.answer().local_key().inline_key()
                : "inline:" + reply.answer().local_key().inline_key());
        if (!receive_key.ok())
          Die(absl::StrCat("bad answer key: ", receive_key.status().ToString(),
                           " suite ", reply.answer().local_key().suite(),
                           " len ",
                           reply.answer().local_key().inline_key().size()));
        leg.out.emplace(
            *SrtpSession::Create(SrtpDirection::kOutbound, *send_key));
        leg.in.emplace(
            *SrtpSession::Create(SrtpDirection::kInbound, *receive_key));
      }
    }
    // WHISPER (docs/design.md): customer hears agent; agent hears customer and
    // supervisor; supervisor hears customer and agent.
    sotto::v1::SetRoutingRequest routing;
    routing.set_room_id(room_id);
    routing.set_request_id(absl::StrCat("req-", ++request));
    auto add = [&](const char* src, const char* sink) {
      auto* e = routing.add_entries();
      e->set_source_leg_id(src);
      e->set_sink_leg_id(sink);
      e->set_gain(1.0f);
    };
    add("customer", "agent");
    add("customer", "supervisor");
    add("agent", "customer");
    add("agent", "supervisor");
    add("supervisor", "agent");
    sotto::v1::SetRoutingResponse reply;
    grpc::ClientContext ctx;
    grpc::Status status = stub->SetRouting(&ctx, routing, &reply);
    if (!status.ok())
      Die(absl::StrCat("SetRouting ", room_id, ": ", status.error_message()));
  }
}

// ------------------------------------------------------------ janus setup --

std::string HttpRequest(const std::string& base, const std::string& method,
                        const std::string& path, const std::string& body) {
  // base: http://HOST:PORT
  std::string hostport = base.substr(base.find("//") + 2);
  const size_t colon = hostport.find(':');
  const std::string host = hostport.substr(0, colon);
  const int port =
      colon == std::string::npos ? 80 : std::stoi(hostport.substr(colon + 1));
  int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(static_cast<uint16_t>(port));
  inet_pton(AF_INET, host.c_str(), &addr.sin_addr);
  if (connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) != 0)
    Die(absl::StrCat("connect ", base, ": ", std::strerror(errno)));
  std::string request = absl::StrCat(
      method, " ", path, " HTTP/1.0\r\nHost: ", hostport,
      "\r\nContent-Type: application/json\r\nContent-Length: ", body.size(),
      "\r\nConnection: close\r\n\r\n", body);
  size_t off = 0;
  while (off < request.size()) {
    ssize_t n = write(fd, request.data() + off, request.size() - off);
    if (n <= 0) Die("http write");
    off += static_cast<size_t>(n);
  }
  std::string response;
  char buffer[8192];
  for (;;) {
    ssize_t n = read(fd, buffer, sizeof(buffer));
    if (n <= 0) break;
    response.append(buffer, static_cast<size_t>(n));
  }
  close(fd);
  const size_t split = response.find("\r\n\r\n");
  if (split == std::string::npos) Die("bad http response: " + response);
  return response.substr(split + 4);
}

nlohmann::json JanusPost(const std::string& base, const std::string& path,
                         nlohmann::json body) {
  static int transaction = 0;
  body["transaction"] = absl::StrCat("t", ++transaction);
  auto reply =
      nlohmann::json::parse(HttpRequest(base, "POST", path, body.dump()));
  if (reply.value("janus", "") == "error") Die("janus error: " + reply.dump());
  return reply;
}

void SetUpJanusRooms(const std::string& base, int rooms) {
  auto session = JanusPost(base, "/janus", {{"janus", "create"}});
  const uint64_t sid = session["data"]["id"].get<uint64_t>();
  const std::string spath = absl::StrCat("/janus/", sid);
  auto attach = [&]() {
    auto r = JanusPost(
        base, spath,
        {{"janus", "attach"}, {"plugin", "janus.plugin.audiobridge"}});
    return r["data"]["id"].get<uint64_t>();
  };
  const uint64_t admin = attach();
  std::map<uint64_t, Leg*> by_handle;
  for (int r = 0; r < rooms; ++r) {
    const uint64_t room_number = 100000 + static_cast<uint64_t>(r);
    auto created = JanusPost(base, absl::StrCat(spath, "/", admin),
                             {{"janus", "message"},
                              {"body",
                               {{"request", "create"},
                                {"room", room_number},
                                {"sampling_rate", 8000},
                                {"allow_rtp_participants", true},
                                {"audiolevel_ext", false}}}});
    auto data = created["plugindata"]["data"];
    if (data.value("audiobridge", "") != "created")
      Die("janus create room: " + created.dump());
    for (int role = 0; role < 3; ++role) {
      Leg& leg = *g_legs[static_cast<size_t>(r * 3 + role)];
      const uint64_t handle = attach();
      by_handle[handle] = &leg;
      JanusPost(base, absl::StrCat(spath, "/", handle),
                {{"janus", "message"},
                 {"body",
                  {{"request", "join"},
                   {"room", room_number},
                   {"display", kRoleName[role]},
                   {"codec", "pcmu"},
                   {"rtp",
                    {{"ip", "127.0.0.1"},
                     {"port", leg.local_port},
                     {"payload_type", 0}}}}}});
    }
  }
  // Collect the "joined" events: they carry Janus' port for each leg.
  size_t joined = 0;
  const int64_t give_up = NowNs(CLOCK_MONOTONIC) + 60'000'000'000;
  while (joined < by_handle.size() && NowNs(CLOCK_MONOTONIC) < give_up) {
    auto events = nlohmann::json::parse(
        HttpRequest(base, "GET", spath + "?maxev=100", ""));
    if (!events.is_array()) events = nlohmann::json::array({events});
    for (auto& ev : events) {
      if (ev.value("janus", "") != "event" || !ev.contains("sender")) continue;
      auto it = by_handle.find(ev["sender"].get<uint64_t>());
      if (it == by_handle.end()) continue;
      auto data = ev["plugindata"]["data"];
      if (data.value("audiobridge", "") == "joined" && data.contains("rtp")) {
        it->second->target =
            Loopback(static_cast<uint16_t>(data["rtp"]["port"].get<int>()));
        ++joined;
      }
    }
  }
  if (joined < by_handle.size())
    Die(absl::StrCat("janus: only ", joined, " of ", by_handle.size(),
                     " legs joined"));
}

// ---------------------------------------------------------------- sending --

void SendOne(Leg& leg, uint8_t* buffer, int64_t window_start_rt,
             int64_t window_end_rt) {
  sotto::media::rtp::RtpHeaderFields fields;
  fields.payload_type = 0;
  fields.sequence_number = leg.seq++;
  fields.timestamp = leg.ts;
  fields.ssrc = leg.ssrc;
  leg.ts += kSamples;
  const size_t header =
      sotto::media::rtp::WriteRtpHeader(fields, absl::MakeSpan(buffer, 1500));
  uint8_t* payload = buffer + header;
  std::memset(payload, 0xFF, kSamples);  // μ-law silence
  int64_t now_rt = 0;
  if (leg.role == kAgent) {
    const uint32_t counter = leg.counter++;
    EncodeCounter(counter, payload);
    now_rt = NowNs(CLOCK_REALTIME);
    leg.sent_ns[counter % kRing].store(now_rt, std::memory_order_relaxed);
  }
  size_t length = header + kSamples;
  if (leg.out) leg.out->ProtectRtp(absl::MakeSpan(buffer, 1500), &length);
  sendto(leg.fd, buffer, length, 0, reinterpret_cast<sockaddr*>(&leg.target),
         sizeof(leg.target));
  if (now_rt == 0) now_rt = NowNs(CLOCK_REALTIME);
  if (now_rt >= window_start_rt && now_rt < window_end_rt) ++leg.sent_in_window;
}

void SenderThread(std::vector<Leg*> legs, int64_t start_mono) {
  std::sort(legs.begin(), legs.end(), [](const Leg* a, const Leg* b) {
    return a->phase_ns < b->phase_ns;
  });
  uint8_t buffer[1500];
  const int64_t ws = g_window_start_rt, we = g_window_end_rt;
  for (int64_t tick = 0; !g_stop.load(std::memory_order_relaxed); ++tick) {
    for (Leg* leg : legs) {
      const int64_t deadline = start_mono + tick * kFrameNs + leg->phase_ns;
      if (NowNs(CLOCK_MONOTONIC) < deadline) {
        timespec ts{static_cast<time_t>(deadline / 1'000'000'000),
                    static_cast<long>(deadline % 1'000'000'000)};
        while (clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &ts, nullptr) ==
               EINTR) {
        }
      }
      SendOne(*leg, buffer, ws, we);
    }
  }
}

// -------------------------------------------------------------- receiving --

void HandlePacket(Leg& leg, uint8_t* data, size_t length, int64_t rx_rt,
                  bool decrypt_all) {
  if (length < 12) return;
  if (data[1] >= 192 && data[1] <= 223) {  // RTCP (muxed)
    ++g_rx_rtcp;
    return;
  }
  ++g_rx_total;
  const bool in_window = rx_rt >= g_window_start_rt && rx_rt < g_window_end_rt;
  const bool customer = leg.role == kCustomer;
  if (leg.in && (customer || decrypt_all)) {
    if (leg.in->UnprotectRtp(absl::MakeSpan(data, 2048), &length) !=
        SrtpResult::kOk) {
      ++g_rx_undecryptable;
      return;
    }
  }
  sotto::media::rtp::RtpPacketView view;
  if (sotto::media::rtp::ParseRtp(absl::MakeConstSpan(data, length), &view) !=
      sotto::media::rtp::RtpParseError::kOk)
    return;
  if (!in_window) return;
  ++leg.rx_window;
  const uint32_t ts = view.timestamp();
  if (!leg.have_ts) {
    leg.have_ts = true;
    leg.first_ts = leg.last_ts = ts;
  } else if (static_cast<int32_t>(ts - leg.last_ts) > 0) {
    leg.last_ts = ts;
  } else {
    ++leg.ts_backwards;
  }
  if (!customer) return;
  uint32_t counter;
  if (!DecodeCounter(view.payload().data(), view.payload().size(), &counter)) {
    ++g_rx_unmatched;  // concealment, or the probe did not survive
    return;
  }
  Leg& agent = *g_legs[static_cast<size_t>(leg.room * 3 + kAgent)];
  const int64_t sent =
      agent.sent_ns[counter % kRing].load(std::memory_order_relaxed);
  if (sent <= 0 || rx_rt - sent < 0 || rx_rt - sent > 10'000'000'000LL) {
    ++g_rx_unmatched;
    return;
  }
  g_latency_ns.push_back(rx_rt - sent);
  g_latency_at_ns.push_back(rx_rt);
  if (!leg.have_counter) {
    leg.have_counter = true;
    leg.first_counter = leg.last_counter = counter;
    leg.counters_heard = 1;
  } else if (counter > leg.last_counter) {
    leg.last_counter = counter;
    ++leg.counters_heard;
  }
}

void ReceiverThread() {
  int ep = epoll_create1(EPOLL_CLOEXEC);
  for (size_t i = 0; i < g_legs.size(); ++i) {
    epoll_event ev{};
    ev.events = EPOLLIN;
    ev.data.u64 = i;
    epoll_ctl(ep, EPOLL_CTL_ADD, g_legs[i]->fd, &ev);
  }
  const bool decrypt_all = absl::GetFlag(FLAGS_verify_all);
  epoll_event events[512];
  uint8_t data[2048];
  alignas(cmsghdr) char control[256];
  const int poll_us = absl::GetFlag(FLAGS_receiver_poll_us);
  while (!g_stop.load(std::memory_order_relaxed)) {
    const int n = epoll_wait(ep, events, 512, poll_us > 0 ? 0 : 50);
    if (n == 0 && poll_us > 0) {
      timespec nap{0, poll_us * 1000L};
      nanosleep(&nap, nullptr);
      continue;
    }
    for (int i = 0; i < n; ++i) {
      Leg& leg = *g_legs[events[i].data.u64];
      for (;;) {
        iovec iov{data, sizeof(data)};
        msghdr msg{};
        msg.msg_iov = &iov;
        msg.msg_iovlen = 1;
        msg.msg_control = control;
        msg.msg_controllen = sizeof(control);
        const ssize_t got = recvmsg(leg.fd, &msg, 0);
        if (got < 0) break;
        int64_t rx_rt = 0;
        for (cmsghdr* c = CMSG_FIRSTHDR(&msg); c; c = CMSG_NXTHDR(&msg, c)) {
          if (c->cmsg_level == SOL_SOCKET && c->cmsg_type == SCM_TIMESTAMPNS) {
            timespec ts;
            std::memcpy(&ts, CMSG_DATA(c), sizeof(ts));
            rx_rt = int64_t{ts.tv_sec} * 1'000'000'000 + ts.tv_nsec;
          }
        }
        if (rx_rt == 0) rx_rt = NowNs(CLOCK_REALTIME);
        HandlePacket(leg, data, static_cast<size_t>(got), rx_rt, decrypt_all);
      }
    }
  }
  close(ep);
}

// Busy jiffies and total jiffies of one CPU from /proc/stat.
std::pair<long, long> CpuJiffies(int cpu) {
  std::ifstream in("/proc/stat");
  std::string line;
  const std::string want = absl::StrCat("cpu", cpu, " ");
  while (std::getline(in, line)) {
    if (line.rfind(want, 0) != 0) continue;
    std::istringstream fields(line.substr(want.size()));
    long v, total = 0, idle = 0;
    for (int i = 0; fields >> v; ++i) {
      total += v;
      if (i == 3 || i == 4) idle += v;  // idle, iowait
    }
    return {total - idle, total};
  }
  return {0, 0};
}

double Round3(double value) { return std::round(value * 1000.0) / 1000.0; }

int64_t Percentile(std::vector<int64_t>& v, double p) {
  if (v.empty()) return -1;
  const size_t k = std::min(
      v.size() - 1, static_cast<size_t>(p * static_cast<double>(v.size())));
  std::nth_element(v.begin(), v.begin() + static_cast<ptrdiff_t>(k), v.end());
  return v[k];
}

}  // namespace

int main(int argc, char** argv) {
  absl::ParseCommandLine(argc, argv);
  const int rooms = absl::GetFlag(FLAGS_rooms);
  const int seconds = absl::GetFlag(FLAGS_seconds);
  const int warmup = absl::GetFlag(FLAGS_warmup_seconds);
  const std::string janus = absl::GetFlag(FLAGS_janus);
  const bool floor_relay = absl::GetFlag(FLAGS_floor_relay);
  const bool plain =
      absl::GetFlag(FLAGS_plain_rtp) || !janus.empty() || floor_relay;
  if (rooms < 1 || seconds < 1) Die("--rooms and --seconds must be >= 1");
  RaiseFdLimit();
  InitDigits();
  const absl::optional<sotto::media::srtp::SrtpCryptoBackend> srtp_crypto =
      sotto::media::srtp::ParseSrtpCryptoBackend(
          absl::GetFlag(FLAGS_srtp_crypto));
  if (!srtp_crypto.has_value()) Die("--srtp_crypto must be openssl or library");
  if (!sotto::media::srtp::InitSrtpLibrary(*srtp_crypto).ok()) {
    Die("srtp init");
  }

  // Engine first (pinned to its core), then pin ourselves to the other.
  pid_t engine_pid = absl::GetFlag(FLAGS_engine_pid);
  bool own_engine = false;
  std::string address = absl::GetFlag(FLAGS_engine);
  if (janus.empty() && address.empty() && !floor_relay) {
    int grpc_port = 0;
    const std::string binary =
        absl::GetFlag(FLAGS_engine_binary).empty()
            ? RunfilesPath(argv[0], "media_engine/sotto-media")
            : absl::GetFlag(FLAGS_engine_binary);
    engine_pid = StartEngine(binary, rooms, &grpc_port);
    own_engine = true;
    address = absl::StrCat("127.0.0.1:", grpc_port);
  }
  PinSelf(absl::GetFlag(FLAGS_generator_cpu));

  // Legs: sockets, phases.
  const bool same_phase = absl::GetFlag(FLAGS_same_phase);
  const int total_legs = rooms * 3;
  for (int i = 0; i < total_legs; ++i) {
    auto leg = std::make_unique<Leg>();
    leg->room = i / 3;
    leg->role = static_cast<Role>(i % 3);
    leg->fd = BindUdp();
    leg->local_port = LocalPort(leg->fd);
    leg->phase_ns =
        same_phase ? kFrameNs * leg->room / rooms : kFrameNs * i / total_legs;
    leg->ssrc = 0x50000000u + static_cast<uint32_t>(i);
    leg->seq = static_cast<uint16_t>(i * 7919);
    leg->ts = static_cast<uint32_t>(i) * 1000003u;
    if (leg->role == kAgent) {
      leg->sent_ns.reset(new std::atomic<int64_t>[kRing]);
      for (int k = 0; k < kRing; ++k) leg->sent_ns[k].store(0);
    }
    g_legs.push_back(std::move(leg));
  }
  const int64_t setup_start = NowNs(CLOCK_MONOTONIC);
  pid_t relay_pid = 0;
  if (floor_relay) {
    relay_pid = StartRelay(rooms);
    engine_pid = relay_pid;
  } else if (janus.empty()) {
    SetUpSottoRooms(address, rooms, plain);
  } else {
    SetUpJanusRooms(janus, rooms);
  }
  const double setup_seconds =
      static_cast<double>(NowNs(CLOCK_MONOTONIC) - setup_start) / 1e9;
  std::fprintf(stderr, "media_load: %d rooms set up in %.1f s\n", rooms,
               setup_seconds);

  // Timeline: start sending, warm up, measure, stop.
  const int64_t start_mono = NowNs(CLOCK_MONOTONIC) + 100'000'000;
  const int64_t start_rt = NowNs(CLOCK_REALTIME) + 100'000'000;
  g_window_start_rt = start_rt + int64_t{warmup} * 1'000'000'000;
  g_window_end_rt = g_window_start_rt + int64_t{seconds} * 1'000'000'000;
  g_latency_ns.reserve(static_cast<size_t>(rooms) * 50 *
                       static_cast<size_t>(seconds + 1));

  std::thread receiver(ReceiverThread);
  const int threads = std::max(1, absl::GetFlag(FLAGS_sender_threads));
  std::vector<std::vector<Leg*>> shares(static_cast<size_t>(threads));
  for (int i = 0; i < total_legs; ++i)
    shares[static_cast<size_t>(i % threads)].push_back(
        g_legs[static_cast<size_t>(i)].get());
  std::vector<std::thread> senders;
  for (auto& share : shares)
    senders.emplace_back(SenderThread, share, start_mono);

  auto sleep_until_rt = [](int64_t t) {
    timespec ts{static_cast<time_t>(t / 1'000'000'000),
                static_cast<long>(t % 1'000'000'000)};
    while (clock_nanosleep(CLOCK_REALTIME, TIMER_ABSTIME, &ts, nullptr) ==
           EINTR) {
    }
  };
  sleep_until_rt(g_window_start_rt);
  const double cpu0 = engine_pid > 0 ? ProcessCpuSeconds(engine_pid) : -1;
  const auto busy0_a = CpuJiffies(0), busy1_a = CpuJiffies(1);
  const rusage self0 = [] {
    rusage u;
    getrusage(RUSAGE_SELF, &u);
    return u;
  }();
  if (const int stall = absl::GetFlag(FLAGS_stall_engine_ms);
      stall > 0 && engine_pid > 0) {
    sleep_until_rt(g_window_start_rt + 2'000'000'000);
    kill(engine_pid, SIGSTOP);
    usleep(static_cast<useconds_t>(stall) * 1000);
    kill(engine_pid, SIGCONT);
    std::fprintf(stderr, "media_load: engine stalled %d ms\n", stall);
  }
  sleep_until_rt(g_window_end_rt);
  const double cpu1 = engine_pid > 0 ? ProcessCpuSeconds(engine_pid) : -1;
  const auto busy0_b = CpuJiffies(0), busy1_b = CpuJiffies(1);
  const rusage self1 = [] {
    rusage u;
    getrusage(RUSAGE_SELF, &u);
    return u;
  }();
  const long rss = engine_pid > 0 ? ProcessRssKib(engine_pid) : -1;
  // Let the last in-window packets come back, then stop.
  usleep(300'000);
  g_stop.store(true);
  for (auto& t : senders) t.join();
  receiver.join();
  if (own_engine) StopEngine(engine_pid);
  if (relay_pid > 0) {
    kill(relay_pid, SIGKILL);
    waitpid(relay_pid, nullptr, 0);
  }

  // Results.
  uint64_t sent = 0, received = 0, expected = 0, ts_backwards = 0;
  uint64_t probe_expected = 0, probe_heard = 0;
  int silent_legs = 0;
  const uint64_t by_time = static_cast<uint64_t>(seconds) * 50;
  for (auto& leg : g_legs) {
    sent += leg->sent_in_window;
    received += leg->rx_window;
    ts_backwards += leg->ts_backwards;
    uint64_t by_ts =
        leg->have_ts ? (leg->last_ts - leg->first_ts) / kSamples + 1 : 0;
    if (!leg->have_ts) ++silent_legs;
    // The timestamp span catches gaps and skipped slots; the time bound
    // catches a stream that stopped early.
    expected += std::max(by_ts, by_time - 1);
    if (leg->role == kCustomer && leg->have_counter) {
      probe_expected += leg->last_counter - leg->first_counter + 1;
      probe_heard += leg->counters_heard;
    }
  }
  const double loss =
      expected == 0 ? 1.0
                    : std::max(0.0, 1.0 - static_cast<double>(received) /
                                              static_cast<double>(expected));
  // Per-second latency (stderr), to see a trend within the window.
  {
    std::map<int64_t, std::vector<int64_t>> by_second;
    for (size_t i = 0; i < g_latency_ns.size(); ++i)
      by_second[(g_latency_at_ns[i] - g_window_start_rt) / 1'000'000'000]
          .push_back(g_latency_ns[i]);
    for (auto& [second, v] : by_second) {
      const int64_t a = Percentile(v, 0.5), b = Percentile(v, 0.99);
      std::fprintf(stderr,
                   "media_load: second %ld: p50 %ld us p99 %ld us n %zu\n",
                   static_cast<long>(second), static_cast<long>(a / 1000),
                   static_cast<long>(b / 1000), v.size());
    }
  }
  const int64_t p50 = Percentile(g_latency_ns, 0.50);
  const int64_t p90 = Percentile(g_latency_ns, 0.90);
  const int64_t p99 = Percentile(g_latency_ns, 0.99);
  const int64_t p999 = Percentile(g_latency_ns, 0.999);
  const int64_t pmax =
      g_latency_ns.empty()
          ? -1
          : *std::max_element(g_latency_ns.begin(), g_latency_ns.end());
  auto tv = [](const timeval& t) { return t.tv_sec + t.tv_usec / 1e6; };
  const double gen_cpu = tv(self1.ru_utime) + tv(self1.ru_stime) -
                         tv(self0.ru_utime) - tv(self0.ru_stime);
  nlohmann::json out = {
      {"target", floor_relay     ? "floor-relay"
                 : janus.empty() ? "sotto-media"
                                 : "janus-audiobridge"},
      {"transport", plain ? "rtp" : "srtp"},
      {"srtp_crypto", plain ? "none" : absl::GetFlag(FLAGS_srtp_crypto)},
      {"receiver_poll_us", absl::GetFlag(FLAGS_receiver_poll_us)},
      {"engine_args", absl::GetFlag(FLAGS_engine_args)},
      {"rooms", rooms},
      {"seconds", seconds},
      {"engine_workers",
       janus.empty() ? absl::GetFlag(FLAGS_engine_workers) : 0},
      {"same_phase", same_phase},
      {"packets_sent", sent},
      {"packets_received", received},
      {"packets_expected", expected},
      {"loss_ratio", loss},
      {"probe_missing", probe_expected - probe_heard},
      {"probe_expected", probe_expected},
      {"silent_legs", silent_legs},
      {"ts_backwards", ts_backwards},
      {"undecryptable", g_rx_undecryptable},
      {"unmatched", g_rx_unmatched},
      {"latency_samples", g_latency_ns.size()},
      {"latency_p50_us", p50 < 0 ? -1 : p50 / 1000},
      {"latency_p90_us", p90 < 0 ? -1 : p90 / 1000},
      {"latency_p99_us", p99 < 0 ? -1 : p99 / 1000},
      {"latency_p999_us", p999 < 0 ? -1 : p999 / 1000},
      {"latency_max_us", pmax < 0 ? -1 : pmax / 1000},
      // Clock ticks (10 ms) apart: rounded so as not to print 0.94000001.
      {"engine_cpu_seconds", cpu0 < 0 ? -1.0 : Round3(cpu1 - cpu0)},
      {"engine_cpu_share", cpu0 < 0 ? -1.0 : Round3((cpu1 - cpu0) / seconds)},
      {"engine_rss_kib", rss},
      {"generator_cpu_share", Round3(gen_cpu / seconds)},
      {"setup_seconds", setup_seconds},
      {"cpu0_busy", static_cast<double>(busy0_b.first - busy0_a.first) /
                        std::max(1L, busy0_b.second - busy0_a.second)},
      {"cpu1_busy", static_cast<double>(busy1_b.first - busy1_a.first) /
                        std::max(1L, busy1_b.second - busy1_a.second)},
      {"engine_pid", engine_pid},
  };
  std::printf("%s\n", out.dump().c_str());
  return 0;
}
