#include "media_engine/net/socket_address.h"

#include <arpa/inet.h>

#include <cstring>

#include "absl/strings/str_cat.h"

namespace sotto::media::net {

absl::StatusOr<SocketAddress> SocketAddress::Parse(absl::string_view ip,
                                                   uint16_t port) {
  const std::string text(ip);
  SocketAddress address;
  auto* v4 = reinterpret_cast<sockaddr_in*>(&address.storage_);
  auto* v6 = reinterpret_cast<sockaddr_in6*>(&address.storage_);
  if (inet_pton(AF_INET, text.c_str(), &v4->sin_addr) == 1) {
    v4->sin_family = AF_INET;
    v4->sin_port = htons(port);
    address.len_ = sizeof(sockaddr_in);
    return address;
  }
  if (inet_pton(AF_INET6, text.c_str(), &v6->sin6_addr) == 1) {
    v6->sin6_family = AF_INET6;
    v6->sin6_port = htons(port);
    address.len_ = sizeof(sockaddr_in6);
    return address;
  }
  return absl::InvalidArgumentError(
      absl::StrCat("'", ip,
                   "' is not an IPv4 or IPv6 address literal (host names are "
                   "not resolved on the media path)"));
}

SocketAddress SocketAddress::FromSockaddr(const sockaddr* addr, socklen_t len) {
  SocketAddress address;
  if (len > sizeof(address.storage_)) return address;
  std::memcpy(&address.storage_, addr, len);
  address.len_ = len;
  return address;
}

uint16_t SocketAddress::port() const {
  if (storage_.ss_family == AF_INET) {
    return ntohs(reinterpret_cast<const sockaddr_in*>(&storage_)->sin_port);
  }
  if (storage_.ss_family == AF_INET6) {
    return ntohs(reinterpret_cast<const sockaddr_in6*>(&storage_)->sin6_port);
  }
  return 0;
}

void SocketAddress::set_port(uint16_t port) {
  if (storage_.ss_family == AF_INET) {
    reinterpret_cast<sockaddr_in*>(&storage_)->sin_port = htons(port);
  } else if (storage_.ss_family == AF_INET6) {
    reinterpret_cast<sockaddr_in6*>(&storage_)->sin6_port = htons(port);
  }
}

std::string SocketAddress::ip() const {
  char buffer[INET6_ADDRSTRLEN] = {0};
  if (storage_.ss_family == AF_INET) {
    inet_ntop(AF_INET,
              &reinterpret_cast<const sockaddr_in*>(&storage_)->sin_addr,
              buffer, sizeof(buffer));
  } else if (storage_.ss_family == AF_INET6) {
    inet_ntop(AF_INET6,
              &reinterpret_cast<const sockaddr_in6*>(&storage_)->sin6_addr,
              buffer, sizeof(buffer));
  }
  return buffer;
}

std::string SocketAddress::ToString() const {
  if (!valid()) return "(none)";
  if (is_ipv6()) return absl::StrCat("[", ip(), "]:", port());
  return absl::StrCat(ip(), ":", port());
}

bool SocketAddress::operator==(const SocketAddress& other) const {
  if (storage_.ss_family != other.storage_.ss_family) return false;
  if (storage_.ss_family == AF_INET) {
    const auto* a = reinterpret_cast<const sockaddr_in*>(&storage_);
    const auto* b = reinterpret_cast<const sockaddr_in*>(&other.storage_);
    return a->sin_port == b->sin_port &&
           a->sin_addr.s_addr == b->sin_addr.s_addr;
  }
  if (storage_.ss_family == AF_INET6) {
    const auto* a = reinterpret_cast<const sockaddr_in6*>(&storage_);
    const auto* b = reinterpret_cast<const sockaddr_in6*>(&other.storage_);
    return a->sin6_port == b->sin6_port &&
           std::memcmp(&a->sin6_addr, &b->sin6_addr, sizeof(in6_addr)) == 0;
  }
  return len_ == 0 && other.len_ == 0;
}

}  // namespace sotto::media::net
