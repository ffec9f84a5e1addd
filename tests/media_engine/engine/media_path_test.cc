// The media path allocates nothing and locks nothing: once a room is set
// up, its workers mix, protect, send RTCP and feed the tap without a single
// malloc or mutex. Every allocation and pthread lock in the process goes
// through this binary's definitions (glibc lets an executable interpose
// them for libsrtp, OpenSSL and libstdc++ alike), and those made on engine
// threads are counted.
#include <dlfcn.h>
#include <gtest/gtest.h>
#include <pthread.h>

#include <atomic>
#include <chrono>
#include <cstdlib>
#include <thread>

#include "media_engine/engine/engine.h"
#include "tests/media_engine/engine/loopback_engine_options.h"
#include "tests/media_engine/engine/srtp_peer.h"

extern "C" {
void* __libc_malloc(size_t size);
void* __libc_calloc(size_t count, size_t size);
void* __libc_realloc(void* pointer, size_t size);
void* __libc_memalign(size_t alignment, size_t size);
void __libc_free(void* pointer);
}

namespace {

std::atomic<uint64_t> g_engine_thread_allocations{0};
std::atomic<uint64_t> g_engine_thread_locks{0};
// Threads the test owns (the main thread, the tap reader) are not counted:
// only the engine's own threads are.
thread_local bool t_test_thread = false;

inline void CountAllocation() {
  if (!t_test_thread) {
    g_engine_thread_allocations.fetch_add(1, std::memory_order_relaxed);
  }
}

inline void CountLock() {
  if (!t_test_thread) g_engine_thread_locks.fetch_add(1);
}

template <typename F>
F Real(const char* name) {
  return reinterpret_cast<F>(dlsym(RTLD_NEXT, name));
}
using MutexFn = int (*)(pthread_mutex_t*);
using RwlockFn = int (*)(pthread_rwlock_t*);
// Resolved before main(), so no engine thread ever calls dlsym.
const MutexFn real_mutex_lock = Real<MutexFn>("pthread_mutex_lock");
const MutexFn real_mutex_trylock = Real<MutexFn>("pthread_mutex_trylock");
const RwlockFn real_rdlock = Real<RwlockFn>("pthread_rwlock_rdlock");
const RwlockFn real_wrlock = Real<RwlockFn>("pthread_rwlock_wrlock");

}  // namespace

extern "C" {
int pthread_mutex_lock(pthread_mutex_t* mutex) {
  CountLock();
  return real_mutex_lock(mutex);
}
int pthread_mutex_trylock(pthread_mutex_t* mutex) {
  CountLock();
  return real_mutex_trylock(mutex);
}
int pthread_rwlock_rdlock(pthread_rwlock_t* lock) {
  CountLock();
  return real_rdlock(lock);
}
int pthread_rwlock_wrlock(pthread_rwlock_t* lock) {
  CountLock();
  return real_wrlock(lock);
}
void* malloc(size_t size) {
  CountAllocation();
  return __libc_malloc(size);
}
void* calloc(size_t count, size_t size) {
  CountAllocation();
  return __libc_calloc(count, size);
}
void* realloc(void* pointer, size_t size) {
  CountAllocation();
  return __libc_realloc(pointer, size);
}
void* memalign(size_t alignment, size_t size) {
  CountAllocation();
  return __libc_memalign(alignment, size);
}
void* aligned_alloc(size_t alignment, size_t size) {
  CountAllocation();
  return __libc_memalign(alignment, size);
}
int posix_memalign(void** out, size_t alignment, size_t size) {
  CountAllocation();
  *out = __libc_memalign(alignment, size);
  return *out == nullptr ? ENOMEM : 0;
}
void free(void* pointer) { __libc_free(pointer); }
}

namespace sotto::media {
namespace {

using testing::SrtpPeer;

struct Caller {
  std::string leg;
  int16_t level;
  std::unique_ptr<SrtpPeer> peer;
};

TEST(MediaPathTest, WorkersAllocateAndLockNothingOnceCallsAreUnderWay) {
  t_test_thread = true;
  // Many SR/RR in the window.
  Engine engine(testing::LoopbackEngineOptions(
      /*workers=*/2, /*rtcp_interval=*/100'000, /*port_offset=*/300));

  // Two rooms (one per worker): SRTP PCMU, SRTP PCMA at 30 ms, plain RTP.
  std::vector<Caller> callers;
  for (const std::string room : {"room-a", "room-b"}) {
    using Suite = std::optional<srtp::SrtpCryptoSuite>;  // none: plain
    const std::vector<std::tuple<std::string, int16_t, Suite, AudioCodec, int>>
        legs = {
            {"customer", 1000, srtp::SrtpCryptoSuite::kAesCm128HmacSha1_80,
             AudioCodec::kPcmu, 20},
            {"agent", 2000, srtp::SrtpCryptoSuite::kAesCm128HmacSha1_32,
             AudioCodec::kPcma, 30},
            {"supervisor", 3000, std::nullopt, AudioCodec::kPcmu, 20},
        };
    for (const auto& [leg, level, suite, codec, ptime] : legs) {
      Caller caller{leg, level,
                    std::make_unique<SrtpPeer>(std::nullopt, std::nullopt)};
      std::optional<srtp::SrtpKeyMaterial> send_key;
      if (suite) send_key = *srtp::SrtpKeyMaterial::Generate(*suite);
      LegSpec spec;
      spec.room_id = room;
      spec.leg_id = leg;
      spec.config.leg_id = leg;
      spec.config.remote_rtp = caller.peer->address();
      spec.config.remote_key = send_key;
      spec.config.codec = codec;
      spec.config.payload_type = codec == AudioCodec::kPcmu ? 0 : 8;
      spec.config.ptime_ms = ptime;
      auto description = engine.AddLeg(spec);
      ASSERT_TRUE(description.ok()) << description.status();
      caller.peer->SetKeys(send_key, description->config.local_key);
      caller.peer->set_alaw(codec == AudioCodec::kPcma);
      caller.peer->set_target(
          *net::SocketAddress::Parse("127.0.0.1", description->rtp_port));
      callers.push_back(std::move(caller));
    }
    // BARGE: everyone hears everyone.
    ASSERT_TRUE(engine
                    .SetRouting(room,
                                {{"customer", "agent", 1},
                                 {"agent", "customer", 1},
                                 {"supervisor", "customer", 1},
                                 {"supervisor", "agent", 1},
                                 {"customer", "supervisor", 1},
                                 {"agent", "supervisor", 1}},
                                0)
                    .ok());
  }
  // A recorder's tap on one room, read by a thread of the test's.
  auto tap = engine.OpenTap("room-a", /*telephone_events=*/true);
  ASSERT_TRUE(tap.ok()) << tap.status();
  std::atomic<bool> reading{true};
  std::atomic<uint64_t> tapped{0};
  std::thread reader([&] {
    t_test_thread = true;
    TapItem item;
    while (reading.load()) {
      if ((*tap)->Pop(&item, 20'000)) tapped.fetch_add(1);
    }
  });

  // Paced like phones: 20 ms frames every 20 ms (the PCMA leg's engine side
  // sends 30 ms packets). Returns the packets heard.
  const std::vector<int16_t> frame_of[] = {
      std::vector<int16_t>(kSamplesPerFrame, 1000),
      std::vector<int16_t>(kSamplesPerFrame, 2000),
      std::vector<int16_t>(kSamplesPerFrame, 3000)};
  auto run = [&](std::chrono::milliseconds duration) {
    size_t heard = 0;
    const auto start = std::chrono::steady_clock::now();
    for (int tick = 0; tick < duration.count() / 20; ++tick) {
      std::this_thread::sleep_until(start +
                                    std::chrono::milliseconds(20) * tick);
      for (size_t i = 0; i < callers.size(); ++i) {
        callers[i].peer->Send(frame_of[i % 3]);
        heard += callers[i].peer->Drain().size();
      }
    }
    return heard;
  };

  // Warm-up: first packets latch, create SRTP streams, size the jitter
  // buffers; allocations then are expected.
  ASSERT_GT(run(std::chrono::milliseconds(1500)), 0u);
  const uint64_t before = g_engine_thread_allocations.load();
  const uint64_t locks_before = g_engine_thread_locks.load();
  // The hooks are in effect: setting up did allocate and lock on engine
  // threads (libsrtp's streams on a leg's first packet; the task queue the
  // control thread posts AddLeg and SetRouting through).
  ASSERT_GT(before, 0u) << "the malloc hook saw no engine-thread allocation";
  ASSERT_GT(locks_before, 0u) << "the lock hook saw no engine-thread lock";
  const uint64_t tapped_before = tapped.load();
  const size_t heard = run(std::chrono::milliseconds(3000));
  const uint64_t allocations = g_engine_thread_allocations.load() - before;
  const uint64_t locks = g_engine_thread_locks.load() - locks_before;
  reading.store(false);
  reader.join();

  // The window carried real media: ~150 frames per sink per 3 s, and the
  // tap saw every source's frames.
  EXPECT_GT(heard, 6u * 100);
  EXPECT_GT(tapped.load() - tapped_before, 3u * 100);
  EXPECT_EQ(allocations, 0u)
      << "engine threads allocated during steady-state media";
  EXPECT_EQ(locks, 0u) << "engine threads took locks during steady-state media";
}

}  // namespace
}  // namespace sotto::media
