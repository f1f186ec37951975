// Walks an N-d index space over several operands with their own strides, handing the innermost
// dimension to a callback as one run. Dimensions that are contiguous for every operand are merged
// first, so that a contiguous tensor is one run however many dimensions it has.
#pragma once

#include <algorithm>
#include <array>
#include <cstdint>
#include <span>
#include <vector>

namespace tally {

template <std::size_t N>
struct StridedLayout {
  std::vector<std::int64_t> shape;
  std::array<std::vector<std::int64_t>, N> strides;
};

// Drops size-1 dimensions and merges dimension d into d-1 when every operand steps over d-1 by
// exactly shape[d] steps of d.
template <std::size_t N>
StridedLayout<N> coalesce(std::span<const std::int64_t> shape,
                          const std::array<std::span<const std::int64_t>, N>& strides) {
  StridedLayout<N> out;
  for (std::size_t d = 0; d < shape.size(); ++d) {
    if (shape[d] == 1) continue;
    bool merge = !out.shape.empty();
    for (std::size_t k = 0; k < N && merge; ++k) {
      merge = out.strides[k].back() == strides[k][d] * shape[d];
    }
    if (merge) {
      out.shape.back() *= shape[d];
      for (std::size_t k = 0; k < N; ++k) out.strides[k].back() = strides[k][d];
    } else {
      out.shape.push_back(shape[d]);
      for (std::size_t k = 0; k < N; ++k) out.strides[k].push_back(strides[k][d]);
    }
  }
  if (out.shape.empty()) {
    out.shape.push_back(1);
    for (std::size_t k = 0; k < N; ++k) out.strides[k].push_back(0);
  }
  return out;
}

// Calls run(offsets, count, steps) for the runs covering elements [begin, end) of the layout's
// row-major order: whole innermost rows, but for a first and a last that [begin, end) may cut.
// `offsets` are each operand's element offset of the run's first element, `steps` their innermost
// strides. The range lets a caller split one loop between threads (ops/parallel.h).
template <std::size_t N, typename Run>
void strided_loop_range(const StridedLayout<N>& layout, std::int64_t begin, std::int64_t end,
                        Run&& run) {
  if (begin >= end) return;
  const std::size_t dims = layout.shape.size();
  const std::size_t inner = dims - 1;
  std::array<std::int64_t, N> steps{};
  for (std::size_t k = 0; k < N; ++k) steps[k] = layout.strides[k][inner];
  std::vector<std::int64_t> index(dims, 0);
  std::array<std::int64_t, N> offsets{};
  std::int64_t rest = begin;
  for (std::size_t d = dims; d-- > 0;) {
    index[d] = rest % layout.shape[d];
    rest /= layout.shape[d];
    for (std::size_t k = 0; k < N; ++k) offsets[k] += index[d] * layout.strides[k][d];
  }
  std::int64_t remaining = end - begin;
  while (true) {
    const std::int64_t count = std::min(layout.shape[inner] - index[inner], remaining);
    run(offsets, count, steps);
    remaining -= count;
    if (remaining == 0) return;
    // Back to the start of the row, then on to the next row.
    for (std::size_t k = 0; k < N; ++k) offsets[k] -= index[inner] * steps[k];
    index[inner] = 0;
    std::size_t d = inner;
    while (true) {
      --d;
      ++index[d];
      for (std::size_t k = 0; k < N; ++k) offsets[k] += layout.strides[k][d];
      if (index[d] < layout.shape[d]) break;
      for (std::size_t k = 0; k < N; ++k) offsets[k] -= layout.strides[k][d] * layout.shape[d];
      index[d] = 0;
    }
  }
}

// Calls run(offsets, count, steps) once per innermost run, in row-major order: `offsets` are each
// operand's element offset of the run's first element, `steps` their innermost strides.
template <std::size_t N, typename Run>
void strided_loop(std::span<const std::int64_t> shape,
                  const std::array<std::span<const std::int64_t>, N>& strides, Run&& run) {
  for (std::int64_t extent : shape) {
    if (extent == 0) return;
  }
  const StridedLayout<N> layout = coalesce<N>(shape, strides);
  std::int64_t total = 1;
  for (std::int64_t extent : layout.shape) total *= extent;
  strided_loop_range<N>(layout, 0, total, run);
}

}  // namespace tally
