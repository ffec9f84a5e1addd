#include "media_engine/net/port_allocator.h"

#include <utility>

#include "absl/strings/str_cat.h"

namespace sotto::media::net {

PortAllocator::PortAllocator(std::string bind_ip, uint16_t min_port,
                             uint16_t max_port)
    : bind_ip_(std::move(bind_ip)),
      min_port_(static_cast<uint16_t>(min_port + (min_port % 2))),
      max_port_(max_port),
      cursor_(min_port_) {}

absl::StatusOr<LegSockets> PortAllocator::Allocate(bool separate_rtcp) {
  std::lock_guard<std::mutex> lock(mutex_);
  if (max_port_ < min_port_ + 1) {
    return absl::ResourceExhaustedError("media port range is empty");
  }
  const uint32_t pairs = (max_port_ - min_port_ + 1) / 2;
  for (uint32_t attempt = 0; attempt < pairs; ++attempt) {
    const uint32_t port = cursor_;
    cursor_ += 2;
    if (cursor_ + 1 > max_port_) cursor_ = min_port_;
    auto rtp_address =
        SocketAddress::Parse(bind_ip_, static_cast<uint16_t>(port));
    if (!rtp_address.ok()) return rtp_address.status();
    auto rtp = UdpSocket::Bind(*rtp_address);
    if (!rtp.ok()) continue;  // in use by someone else: try the next
    LegSockets sockets;
    sockets.rtp = std::move(*rtp);
    if (separate_rtcp) {
      auto rtcp_address =
          SocketAddress::Parse(bind_ip_, static_cast<uint16_t>(port + 1));
      auto rtcp = UdpSocket::Bind(*rtcp_address);
      if (!rtcp.ok()) continue;
      sockets.rtcp = std::move(*rtcp);
    }
    return sockets;
  }
  return absl::ResourceExhaustedError(absl::StrCat("no free UDP port pair in ",
                                                   min_port_, "-", max_port_,
                                                   " on ", bind_ip_));
}

}  // namespace sotto::media::net
