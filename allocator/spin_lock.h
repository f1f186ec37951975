// A lock for critical sections of tens of nanoseconds, where a mutex's lock and unlock would
// cost as much as the work they guard. Yields to the scheduler while another thread holds it.
#pragma once

#include <atomic>
#include <thread>

namespace tally {

class SpinLock {
 public:
  void lock() {
    while (locked_.exchange(true, std::memory_order_acquire)) {
      while (locked_.load(std::memory_order_relaxed)) std::this_thread::yield();
    }
  }
  void unlock() { locked_.store(false, std::memory_order_release); }

 private:
  std::atomic<bool> locked_{false};
};

}  // namespace tally
