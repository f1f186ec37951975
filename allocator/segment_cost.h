// What a replay's segment calls would cost a GPU, estimated from per-call costs. A replay runs
// over a VirtualBacking, so it counts segment calls but cannot time them; these costs are
// assumed from published measurements, not measured here, and each can be overridden.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

namespace tally {

// Microseconds per segment obtained and per segment returned, and where the figures come from.
struct CallCost {
  double alloc_us = 0;
  double free_us = 0;
  std::string source;
};

struct SegmentCosts {
  // cudaMalloc and cudaFree of one segment. cudaMalloc: about 50 us per call from 4 KiB to
  // 512 KiB, more above (Memory Allocation Overhead, cs.virginia.edu/~mwb7w/cuda_support/
  // memory_management_overhead.html). cudaFree: 14 us with no work queued on the device (the
  // direct cudaFree case of the microbenchmarks in github.com/Cytnx-dev/Cytnx/pull/850, GTX
  // 1660 SUPER and RTX 2080 Ti); cudaFree may synchronize the device, so with work queued it
  // costs that work's remaining time as well.
  CallCost runtime{50.0, 14.0,
                   "cs.virginia.edu/~mwb7w/cuda_support/memory_management_overhead.html; "
                   "github.com/Cytnx-dev/Cytnx/pull/850"};
  // Mapping one 2 MiB physical page into a reserved range (cuMemCreate 193.3 + cuMemMap 1.5 +
  // cuMemSetAccess 36.0 us) and unmapping it (cuMemUnmap 25.6 us; cuMemRelease was not
  // measured, so unmapping is a lower bound): averages over 4096 pages on an A100 from the
  // bench_vmm sample output in github.com/magnate3/linux-riscv-dev, nccl/gpu/shm/bench_vmm. The
  // cost is per physical allocation, not per byte mapped (PyTorch's expandable segments,
  // github.com/pytorch/pytorch/pull/96995: ten 2 MiB pages map ten times slower than one 20 MiB
  // allocation), so each segment call of a strategy that maps pages is one page.
  CallCost vmm_page{230.8, 25.6,
                    "A100, bench_vmm in github.com/magnate3/linux-riscv-dev; "
                    "github.com/pytorch/pytorch/pull/96995"};

  // The per-call cost of a strategy's segment calls: vmm_page for "expandable", whose segments
  // are pages mapped with the CUDA virtual memory API; runtime for every other strategy.
  const CallCost& of(std::string_view strategy) const;
  double estimate_us(std::string_view strategy, std::int64_t allocs, std::int64_t frees) const;
};

}  // namespace tally
