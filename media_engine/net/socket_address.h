// An IPv4 or IPv6 UDP address as a plain value (no allocation, comparable).
#ifndef SOTTO_MEDIA_ENGINE_NET_SOCKET_ADDRESS_H_
#define SOTTO_MEDIA_ENGINE_NET_SOCKET_ADDRESS_H_

#include <netinet/in.h>
#include <sys/socket.h>

#include <cstdint>
#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace sotto::media::net {

class SocketAddress {
 public:
  SocketAddress() = default;
  // From an IP literal ("203.0.113.7", "::1") and a port. INVALID_ARGUMENT
  // for a host name or a malformed literal: the media path never resolves.
  static absl::StatusOr<SocketAddress> Parse(absl::string_view ip,
                                             uint16_t port);
  static SocketAddress FromSockaddr(const sockaddr* addr, socklen_t len);

  bool valid() const { return len_ != 0; }
  uint16_t port() const;
  void set_port(uint16_t port);
  bool is_ipv6() const { return storage_.ss_family == AF_INET6; }
  int family() const { return storage_.ss_family; }
  std::string ip() const;
  std::string ToString() const;  // "1.2.3.4:5" or "[::1]:5"

  const sockaddr* sockaddr_ptr() const {
    return reinterpret_cast<const sockaddr*>(&storage_);
  }
  sockaddr* mutable_sockaddr() {
    return reinterpret_cast<sockaddr*>(&storage_);
  }
  socklen_t len() const { return len_; }
  void set_len(socklen_t len) { len_ = len; }
  static constexpr socklen_t capacity() { return sizeof(sockaddr_storage); }

  // Same family, address and port.
  bool operator==(const SocketAddress& other) const;
  bool operator!=(const SocketAddress& other) const {
    return !(*this == other);
  }

 private:
  sockaddr_storage storage_{};
  socklen_t len_ = 0;
};

}  // namespace sotto::media::net

#endif  // SOTTO_MEDIA_ENGINE_NET_SOCKET_ADDRESS_H_
