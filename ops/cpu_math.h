// Row reductions shared by the CPU kernels of softmax and cross-entropy.
#pragma once

#include <cstdint>
#include <limits>

#include "core/dtype.h"

namespace tally::ops {

// The largest of p[0], p[stride], ..., p[(n - 1) * stride] as float; -inf when n is 0. NaN is
// skipped, as std::fmax skips it (std::fmax itself is a libm call here). Eight running maxima
// rather than one, which would make every element wait on the previous compare-and-select; the
// maximum is exact, so it does not depend on how the elements are grouped.
template <typename T>
float max_of(const T* p, std::int64_t n, std::int64_t stride) {
  constexpr std::int64_t kLanes = 8;
  float lane[kLanes];
  for (float& l : lane) l = -std::numeric_limits<float>::infinity();
  std::int64_t j = 0;
  for (; j + kLanes <= n; j += kLanes) {
    for (std::int64_t l = 0; l < kLanes; ++l) {
      const float v = to_float(p[(j + l) * stride]);
      lane[l] = v > lane[l] ? v : lane[l];
    }
  }
  for (; j < n; ++j) {
    const float v = to_float(p[j * stride]);
    lane[0] = v > lane[0] ? v : lane[0];
  }
  float top = lane[0];
  for (std::int64_t l = 1; l < kLanes; ++l) top = lane[l] > top ? lane[l] : top;
  return top;
}

}  // namespace tally::ops
