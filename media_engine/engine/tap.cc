#include "media_engine/engine/tap.h"

#include <poll.h>
#include <sys/eventfd.h>
#include <unistd.h>

namespace sotto::media {

TapQueue::TapQueue()
    : items_(std::make_unique<std::array<TapItem, kCapacity>>()),
      event_fd_(eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC)) {}

TapQueue::~TapQueue() {
  if (event_fd_ >= 0) close(event_fd_);
}

bool TapQueue::TryPush(const TapItem& item) {
  const uint64_t tail = tail_.load(std::memory_order_relaxed);
  if (tail - head_.load(std::memory_order_acquire) >= kCapacity) return false;
  (*items_)[tail % kCapacity] = item;
  tail_.store(tail + 1, std::memory_order_release);
  return true;
}

void TapQueue::CountDropped(const TapItem& item) {
  const int member = item.member >= 0 && item.member < kMaxRoomMembers
                         ? item.member
                         : 0;  // never happens: members index the leg table
  PendingGap& gap = pending_[member];
  if (gap.frames == 0 && gap.other_items == 0) {
    gap.media_time = item.media_time;
  }
  if (item.kind == TapItem::Kind::kFrame) {
    ++gap.frames;
  } else {
    ++gap.other_items;
  }
  pending_members_ |= uint32_t{1} << member;
  dropped_total_.fetch_add(1, std::memory_order_relaxed);
}

bool TapQueue::FlushGaps() {
  while (pending_members_ != 0) {
    const int member = __builtin_ctz(pending_members_);
    PendingGap& pending = pending_[member];
    TapItem gap;
    gap.kind = TapItem::Kind::kGap;
    gap.member = member;
    gap.media_time = pending.media_time;
    gap.frames_dropped = pending.frames;
    gap.other_items_dropped = pending.other_items;
    gap.gap_cause = TapItem::GapCause::kReaderTooSlow;
    if (!TryPush(gap)) return false;
    pending = PendingGap{};
    pending_members_ &= ~(uint32_t{1} << member);
  }
  return true;
}

void TapQueue::Push(const TapItem& item) {
  if (closed()) return;
  const uint64_t tail_before = tail_.load(std::memory_order_relaxed);
  if (!FlushGaps() || !TryPush(item)) CountDropped(item);
  if (tail_.load(std::memory_order_relaxed) != tail_before) Wake();
}

void TapQueue::Wake() {
  if (reader_waiting_.exchange(false, std::memory_order_acq_rel)) {
    const uint64_t one = 1;
    (void)!write(event_fd_, &one, sizeof(one));
  }
}

bool TapQueue::TryPop(TapItem* item) {
  const uint64_t head = head_.load(std::memory_order_relaxed);
  if (head == tail_.load(std::memory_order_acquire)) return false;
  *item = (*items_)[head % kCapacity];
  head_.store(head + 1, std::memory_order_release);
  return true;
}

bool TapQueue::Pop(TapItem* item, Micros timeout) {
  if (TryPop(item)) return true;
  if (closed()) return false;
  reader_waiting_.store(true, std::memory_order_release);
  // Re-check after announcing we wait, so a push in between is not missed.
  if (TryPop(item)) {
    reader_waiting_.store(false, std::memory_order_relaxed);
    return true;
  }
  pollfd descriptor{event_fd_, POLLIN, 0};
  poll(&descriptor, 1, static_cast<int>((timeout + 999) / 1000));
  uint64_t drained;
  (void)!read(event_fd_, &drained, sizeof(drained));
  reader_waiting_.store(false, std::memory_order_relaxed);
  return TryPop(item);
}

void TapQueue::Close() {
  closed_.store(true, std::memory_order_release);
  const uint64_t one = 1;
  (void)!write(event_fd_, &one, sizeof(one));
}

}  // namespace sotto::media
