// The floating-point operations of the GEMMs and convolutions a thread runs, by phase: what a
// checkpoint policy's recomputation costs, counted the same on every device, sim included.
// Multiply-adds count two; the elementwise ops, small beside the products, are not counted.
#pragma once

#include <array>
#include <cstdint>

#include "allocator/tag.h"

namespace tally::ops {

using FlopCount = std::array<std::uint64_t, kPhaseCount>;  // indexed by Phase

// Adds `flops` to the calling thread's count for its current phase.
void count_flops(std::uint64_t flops);
// The calling thread's counts since it last reset them.
FlopCount flop_count();
void reset_flop_count();

}  // namespace tally::ops
