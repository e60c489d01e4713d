// The decode slots of `modelc serve --parallel N`: N inference engines, each
// with its own KV cache. A request holds one slot while it decodes, on its
// own (HTTP worker) thread, so N requests decode at the same time without
// waiting on each other; further requests wait in FIFO order for a slot.
// The lease is returned when the request ends, however it ends (done, error,
// client gone).
#pragma once
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <memory>
#include <mutex>
#include <vector>

#include "runtime/engine.h"

namespace modelc::serve {

class SlotPool {
 public:
  // REQUIRES: !engines.empty().
  explicit SlotPool(std::vector<std::unique_ptr<InferenceEngine>> engines);

  class Lease {
   public:
    Lease() = default;
    Lease(SlotPool* pool, int slot) : pool_(pool), slot_(slot) {}
    Lease(Lease&& o) noexcept : pool_(o.pool_), slot_(o.slot_) { o.pool_ = nullptr; }
    Lease& operator=(Lease&& o) noexcept;
    Lease(const Lease&) = delete;
    Lease& operator=(const Lease&) = delete;
    ~Lease() { Release(); }
    void Release();
    InferenceEngine& engine() const { return *pool_->engines_[slot_]; }
    int slot() const { return slot_; }

   private:
    SlotPool* pool_ = nullptr;
    int slot_ = -1;
  };

  // Waits until this caller is first in line and a slot is free.
  Lease Acquire();

  struct Stats {
    int total = 0, busy = 0, queued = 0;
    uint64_t served = 0;  // leases handed out so far
  };
  Stats stats() const;

 private:
  void Return(int slot);

  std::vector<std::unique_ptr<InferenceEngine>> engines_;
  mutable std::mutex mu_;
  std::condition_variable cv_;
  std::vector<int> free_;          // free slot ids
  std::deque<uint64_t> waiting_;   // tickets in arrival order
  uint64_t next_ticket_ = 0;
  uint64_t served_ = 0;
};

}  // namespace modelc::serve
