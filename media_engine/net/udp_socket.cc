#include "media_engine/net/udp_socket.h"

#include <errno.h>
#include <fcntl.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cstring>
#include <utility>

#include "absl/strings/str_cat.h"

namespace sotto::media::net {

UdpSocket::~UdpSocket() {
  if (fd_ >= 0) close(fd_);
}

UdpSocket::UdpSocket(UdpSocket&& other) noexcept
    : fd_(std::exchange(other.fd_, -1)), local_(other.local_) {}

UdpSocket& UdpSocket::operator=(UdpSocket&& other) noexcept {
  if (this != &other) {
    if (fd_ >= 0) close(fd_);
    fd_ = std::exchange(other.fd_, -1);
    local_ = other.local_;
  }
  return *this;
}

absl::StatusOr<UdpSocket> UdpSocket::Bind(const SocketAddress& local) {
  const int fd = socket(local.family(),
                        SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, IPPROTO_UDP);
  if (fd < 0) {
    return absl::UnavailableError(
        absl::StrCat("socket(): ", std::strerror(errno)));
  }
  // Room for bursts: a stalled worker must not lose packets to a tiny queue.
  const int buffer_bytes = 256 * 1024;
  setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &buffer_bytes, sizeof(buffer_bytes));
  setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &buffer_bytes, sizeof(buffer_bytes));
  const int on = 1;
  setsockopt(fd, SOL_SOCKET, SO_TIMESTAMPNS, &on, sizeof(on));
  if (bind(fd, local.sockaddr_ptr(), local.len()) != 0) {
    const int error = errno;
    close(fd);
    return absl::UnavailableError(
        absl::StrCat("bind ", local.ToString(), ": ", std::strerror(error)));
  }
  SocketAddress bound;
  socklen_t len = SocketAddress::capacity();
  getsockname(fd, bound.mutable_sockaddr(), &len);
  bound.set_len(len);
  return UdpSocket(fd, bound);
}

ptrdiff_t UdpSocket::ReceiveFrom(absl::Span<uint8_t> buffer,
                                 SocketAddress* from, int64_t* kernel_time_ns) {
  iovec iov{buffer.data(), buffer.size()};
  alignas(cmsghdr) char control[CMSG_SPACE(sizeof(timespec))];
  msghdr message{};
  message.msg_name = from->mutable_sockaddr();
  message.msg_namelen = SocketAddress::capacity();
  message.msg_iov = &iov;
  message.msg_iovlen = 1;
  message.msg_control = control;
  message.msg_controllen = sizeof(control);
  const ssize_t n = recvmsg(fd_, &message, MSG_TRUNC);
  if (n < 0) return -1;
  from->set_len(message.msg_namelen);
  if (kernel_time_ns != nullptr) {
    *kernel_time_ns = 0;
    for (cmsghdr* c = CMSG_FIRSTHDR(&message); c != nullptr;
         c = CMSG_NXTHDR(&message, c)) {
      if (c->cmsg_level == SOL_SOCKET && c->cmsg_type == SCM_TIMESTAMPNS) {
        timespec ts;
        std::memcpy(&ts, CMSG_DATA(c), sizeof(ts));
        *kernel_time_ns =
            static_cast<int64_t>(ts.tv_sec) * 1'000'000'000 + ts.tv_nsec;
      }
    }
  }
  if (static_cast<size_t>(n) > buffer.size() ||
      (message.msg_flags & MSG_TRUNC) != 0) {
    return -2;
  }
  return n;
}

bool UdpSocket::SendTo(absl::Span<const uint8_t> data,
                       const SocketAddress& to) {
  const ssize_t n =
      sendto(fd_, data.data(), data.size(), 0, to.sockaddr_ptr(), to.len());
  return n == static_cast<ssize_t>(data.size());
}

}  // namespace sotto::media::net
