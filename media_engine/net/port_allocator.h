// Hands out UDP ports for media legs from the engine's configured range.
#ifndef SOTTO_MEDIA_ENGINE_NET_PORT_ALLOCATOR_H_
#define SOTTO_MEDIA_ENGINE_NET_PORT_ALLOCATOR_H_

#include <cstdint>
#include <mutex>
#include <string>

#include "absl/status/statusor.h"
#include "media_engine/net/udp_socket.h"

namespace sotto::media::net {

// The sockets of one leg: RTP (even port) and, when RTCP is not muxed, RTCP
// on the next port.
struct LegSockets {
  UdpSocket rtp;
  UdpSocket rtcp;  // invalid when muxed
};

// Thread-safe; used on the control path only. Ports are tried round-robin
// from the last one handed out, so a freed port is not reused at once
// (late packets of an old leg must not reach a new one).
class PortAllocator {
 public:
  // `bind_ip` is the local address to bind ("0.0.0.0", "127.0.0.1", "::").
  // The range is inclusive; the first even port at or above `min_port` is
  // the first RTP port.
  PortAllocator(std::string bind_ip, uint16_t min_port, uint16_t max_port);

  // RESOURCE_EXHAUSTED when every port of the range is in use.
  absl::StatusOr<LegSockets> Allocate(bool separate_rtcp);

  uint16_t min_port() const { return min_port_; }
  uint16_t max_port() const { return max_port_; }

 private:
  const std::string bind_ip_;
  const uint16_t min_port_;
  const uint16_t max_port_;
  std::mutex mutex_;
  uint32_t cursor_;  // guarded by mutex_
};

}  // namespace sotto::media::net

#endif  // SOTTO_MEDIA_ENGINE_NET_PORT_ALLOCATOR_H_
