// Engine options for tests on loopback: 127.0.0.1, a 200-port range just
// above a port the kernel handed out (so parallel tests rarely collide),
// and RTCP reports at `rtcp_interval` instead of every 5 s.
#ifndef SOTTO_TESTS_MEDIA_ENGINE_ENGINE_LOOPBACK_ENGINE_OPTIONS_H_
#define SOTTO_TESTS_MEDIA_ENGINE_ENGINE_LOOPBACK_ENGINE_OPTIONS_H_

#include <cstdint>

#include "media_engine/engine/engine.h"
#include "media_engine/net/udp_socket.h"

namespace sotto::media::testing {

inline EngineOptions LoopbackEngineOptions(int workers, Micros rtcp_interval,
                                           int port_offset = 100) {
  EngineOptions options;
  options.bind_ip = "127.0.0.1";
  options.media_ip = "127.0.0.1";
  auto probe = net::UdpSocket::Bind(*net::SocketAddress::Parse("127.0.0.1", 0));
  options.port_min =
      static_cast<uint16_t>((probe->local_address().port() + port_offset) & ~1);
  options.port_max = static_cast<uint16_t>(options.port_min + 200);
  options.workers = workers;
  options.rtcp_interval = rtcp_interval;
  return options;
}

}  // namespace sotto::media::testing

#endif  // SOTTO_TESTS_MEDIA_ENGINE_ENGINE_LOOPBACK_ENGINE_OPTIONS_H_
