#include "serve/slots.h"

#include <algorithm>

namespace modelc::serve {

SlotPool::SlotPool(std::vector<std::unique_ptr<InferenceEngine>> engines)
    : engines_(std::move(engines)) {
  // Lowest slot id handed out first (free_ is used as a stack).
  for (int i = (int)engines_.size() - 1; i >= 0; --i) free_.push_back(i);
}

SlotPool::Lease& SlotPool::Lease::operator=(Lease&& o) noexcept {
  if (this != &o) {
    Release();
    pool_ = o.pool_;
    slot_ = o.slot_;
    o.pool_ = nullptr;
  }
  return *this;
}

void SlotPool::Lease::Release() {
  if (pool_) pool_->Return(slot_);
  pool_ = nullptr;
}

SlotPool::Lease SlotPool::Acquire() {
  std::unique_lock<std::mutex> lk(mu_);
  const uint64_t ticket = next_ticket_++;
  waiting_.push_back(ticket);
  cv_.wait(lk, [&] { return waiting_.front() == ticket && !free_.empty(); });
  waiting_.pop_front();
  const int slot = free_.back();
  free_.pop_back();
  ++served_;
  lk.unlock();
  cv_.notify_all();  // the next in line may find another free slot
  return Lease(this, slot);
}

void SlotPool::Return(int slot) {
  {
    std::lock_guard<std::mutex> lk(mu_);
    free_.push_back(slot);
  }
  cv_.notify_all();
}

SlotPool::Stats SlotPool::stats() const {
  std::lock_guard<std::mutex> lk(mu_);
  Stats s;
  s.total = (int)engines_.size();
  s.busy = s.total - (int)free_.size();
  s.queued = (int)waiting_.size();
  s.served = served_;
  return s;
}

}  // namespace modelc::serve
