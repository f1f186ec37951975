// tally's own CPU loops across ops::num_threads() threads: a small persistent pool and
// parallel_for, which hands disjoint chunks of an index range to the threads.
//
// The memory rule must not depend on the thread count, so nothing here allocates tensors: a kernel
// splits its work inside buffers it has already allocated, each index writing its own outputs.
// Results then do not depend on where the chunks begin, so they are the same at every thread
// count as long as each index's arithmetic is; reductions whose order would change keep one
// thread per output (ops/*.cpp say where).
//
// Not OpenMP: OpenBLAS keeps its own pool for the GEMMs, and libgomp's idle workers spin on the
// cores OpenBLAS needs (seen to double a step on 2 cores). This pool's idle workers yield while
// they spin, then sleep.
#pragma once

#include <array>
#include <cstdint>
#include <span>
#include <type_traits>

#include "core/strided_loop.h"

namespace tally::ops {

// Work below which a chunk is not worth a thread's wake-up, in units of one simple elementwise
// step (a load, an add, a store). Kernels size their grain as kParallelWork / (cost per index).
inline constexpr std::int64_t kParallelWork = 32768;

// Indices of one chunk's worth of work at `cost` units each (at least 1).
constexpr std::int64_t grain_for(std::int64_t cost) {
  return cost >= kParallelWork ? 1 : kParallelWork / (cost > 0 ? cost : 1);
}

namespace detail {
using ChunkFn = void (*)(void* context, std::int64_t begin, std::int64_t end);
void run_parallel(std::int64_t n, std::int64_t grain, ChunkFn fn, void* context);
// The pool's size; set_num_threads() calls it.
void resize_pool(int threads);
}  // namespace detail

// Calls f(begin, end) on disjoint chunks covering [0, n), of at least `grain` indices each (but
// the last), one chunk per thread at most; inline when n <= grain, with one thread, or when
// called from inside another parallel_for. Chunks may run in any order and at the same time.
// If chunks throw, the exception of the first chunk that threw is rethrown, which is the one a
// single thread walking [0, n) in order would have met first.
template <typename F>
void parallel_for(std::int64_t n, std::int64_t grain, F&& f) {
  if (n <= 0) return;
  if (grain < 1) grain = 1;
  if (n <= grain) {
    f(std::int64_t{0}, n);
    return;
  }
  using Fn = std::remove_reference_t<F>;
  detail::run_parallel(
      n, grain,
      [](void* context, std::int64_t begin, std::int64_t end) {
        (*static_cast<Fn*>(context))(begin, end);
      },
      const_cast<void*>(static_cast<const void*>(&f)));
}

// strided_loop (core/strided_loop.h) split into chunks of the elements' row-major order, chunks of
// at least `grain` elements; a row may be cut between chunks. Operand 0 is the one written: when
// it overlaps itself (a zero stride), the loop stays on one thread.
template <std::size_t N, typename Run>
void parallel_strided_loop(std::span<const std::int64_t> shape,
                           const std::array<std::span<const std::int64_t>, N>& strides,
                           std::int64_t grain, Run&& run) {
  for (std::int64_t extent : shape) {
    if (extent == 0) return;
  }
  const StridedLayout<N> layout = coalesce<N>(shape, strides);
  std::int64_t total = 1;
  for (std::int64_t extent : layout.shape) total *= extent;
  for (std::int64_t stride : layout.strides[0]) {
    if (stride == 0) grain = total;
  }
  parallel_for(total, grain, [&](std::int64_t begin, std::int64_t end) {
    strided_loop_range<N>(layout, begin, end, run);
  });
}

}  // namespace tally::ops
