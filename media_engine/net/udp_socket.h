// A non-blocking UDP socket for one media leg (RAII over the fd).
#ifndef SOTTO_MEDIA_ENGINE_NET_UDP_SOCKET_H_
#define SOTTO_MEDIA_ENGINE_NET_UDP_SOCKET_H_

#include <cstddef>
#include <cstdint>

#include "absl/status/statusor.h"
#include "absl/types/span.h"
#include "media_engine/net/socket_address.h"

namespace sotto::media::net {

class UdpSocket {
 public:
  UdpSocket() = default;
  ~UdpSocket();
  UdpSocket(UdpSocket&& other) noexcept;
  UdpSocket& operator=(UdpSocket&& other) noexcept;
  UdpSocket(const UdpSocket&) = delete;
  UdpSocket& operator=(const UdpSocket&) = delete;

  // Binds a non-blocking socket to `local` (port 0 = any). UNAVAILABLE with
  // the errno text if the port is taken or the address is not local.
  static absl::StatusOr<UdpSocket> Bind(const SocketAddress& local);

  // Receives one datagram into `buffer`. Returns its size, or -1 when there
  // is nothing to read (EAGAIN) or on error; a datagram longer than the
  // buffer is reported as -2 (truncated, to be dropped). When
  // `kernel_time_ns` is given it receives the time the kernel queued the
  // datagram (CLOCK_REALTIME, SO_TIMESTAMPNS), or 0 if it has none: a
  // backlog read after a stall must be timed by when it arrived, not by
  // when it was read.
  ptrdiff_t ReceiveFrom(absl::Span<uint8_t> buffer, SocketAddress* from,
                        int64_t* kernel_time_ns = nullptr);
  // Sends one datagram. Returns false if the kernel refused it (counted by
  // the caller; UDP is best effort).
  bool SendTo(absl::Span<const uint8_t> data, const SocketAddress& to);

  int fd() const { return fd_; }
  bool valid() const { return fd_ >= 0; }
  const SocketAddress& local_address() const { return local_; }

 private:
  explicit UdpSocket(int fd, const SocketAddress& local)
      : fd_(fd), local_(local) {}
  int fd_ = -1;
  SocketAddress local_;
};

}  // namespace sotto::media::net

#endif  // SOTTO_MEDIA_ENGINE_NET_UDP_SOCKET_H_
