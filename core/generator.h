// A seeded Philox stream: each draw of n numbers takes the next blocks of the stream, so a run
// is reproducible from its seed, and the CPU and CUDA kernels given the same (seed, offset) draw
// the same numbers.
#pragma once

#include <cstdint>

namespace tally {

struct PhiloxState {
  std::uint64_t seed = 0;
  std::uint64_t offset = 0;  // in Philox blocks
};

class Generator {
 public:
  explicit Generator(std::uint64_t seed = 0) : state_{seed, 0} {}
  // Reserves `blocks` Philox blocks and returns where they start.
  PhiloxState advance(std::uint64_t blocks) {
    const PhiloxState start = state_;
    state_.offset += blocks;
    return start;
  }
  PhiloxState state() const { return state_; }
  void set_state(PhiloxState state) { state_ = state; }

 private:
  PhiloxState state_;
};

// The process-wide generator that randn, uniform, dropout and parameter init draw from.
Generator& default_generator();
void manual_seed(std::uint64_t seed);

}  // namespace tally
