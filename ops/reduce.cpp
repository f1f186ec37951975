#include "ops/reduce.h"

#include <algorithm>

#include "core/strided_loop.h"
#include "ops/elementwise.h"
#include "ops/op_util.h"
#include "ops/parallel.h"
#include "ops/reduce_cuda.h"

namespace tally::ops {
namespace {

// Sorted, unique, non-negative reduction dims; all dims when `dims` is empty.
std::vector<std::int64_t> normalise_dims(const Tensor& x, std::vector<std::int64_t> dims,
                                         std::string_view op) {
  if (dims.empty()) {
    for (std::int64_t d = 0; d < x.dim(); ++d) dims.push_back(d);
  }
  for (auto& d : dims) d = x.wrap_dim(d, op);
  std::sort(dims.begin(), dims.end());
  if (std::adjacent_find(dims.begin(), dims.end()) != dims.end()) {
    throw UsageError(std::string(op) + ": repeated dimension");
  }
  return dims;
}

Shape reduced_shape(const Shape& shape, const std::vector<std::int64_t>& dims, bool keepdim) {
  Shape out;
  for (std::int64_t d = 0; d < static_cast<std::int64_t>(shape.size()); ++d) {
    const bool reduced = std::binary_search(dims.begin(), dims.end(), d);
    if (!reduced) {
      out.push_back(shape[d]);
    } else if (keepdim) {
      out.push_back(1);
    }
  }
  return out;
}

// out (f32, keepdim shape, zeroed) += x over the reduced dims. Each output adds its inputs one at
// a time in x's row-major order, whatever the runs strided_loop makes of the layout, so the
// outputs can be split between threads along a kept dimension without changing a bit.
template <typename T>
void sum_kernel(const Tensor& out, const Tensor& x) {
  float* o = out.data<float>();
  const T* in = static_cast<const T*>(x.raw_data());
  const Shape out_strides = out.expand(x.shape()).strides();
  std::int64_t split = -1;  // the kept dimension of largest extent
  for (std::int64_t d = 0; d < x.dim(); ++d) {
    if (out_strides[d] != 0 && (split < 0 || x.shape()[d] > x.shape()[split])) split = d;
  }
  const std::int64_t extent = split < 0 ? 1 : x.shape()[split];
  const std::int64_t per_index = x.numel() / std::max<std::int64_t>(extent, 1);
  parallel_for(extent, grain_for(per_index), [&](std::int64_t begin, std::int64_t end) {
    Shape shape = x.shape();
    std::int64_t x_start = 0, out_start = 0;
    if (split >= 0) {
      shape[split] = end - begin;
      x_start = begin * x.strides()[split];
      out_start = begin * out_strides[split];
    }
    strided_loop<2>(shape, {x.strides(), out_strides},
                    [&](const std::array<std::int64_t, 2>& at, std::int64_t n,
                        const std::array<std::int64_t, 2>& step) {
                      const T* p = in + x_start + at[0];
                      float* q = o + out_start + at[1];
                      if (step[1] == 0) {
                        float acc = *q;
                        for (std::int64_t i = 0; i < n; ++i) acc += to_float(p[i * step[0]]);
                        *q = acc;
                      } else {
                        for (std::int64_t i = 0; i < n; ++i)
                          q[i * step[1]] += to_float(p[i * step[0]]);
                      }
                    });
  });
}

Tensor reduce_sum(const Tensor& x, const std::vector<std::int64_t>& dims, bool keepdim, float scale,
                  std::string_view op) {
  check_defined(op, {&x});
  check_floating(op, x);
  const Shape kept = reduced_shape(x.shape(), dims, true);
  // f32 sums accumulate straight into the output; 16-bit ones into an f32 temporary.
  Tensor acc = Tensor::empty(kept, DType::f32, x.device());
  Tensor out = x.dtype() == DType::f32 ? acc : Tensor::empty(kept, x.dtype(), x.device());
  run_kernel(
      op, x.device(),
      [&] {
        fill_(acc, 0.0f);
        dispatch_floating(op, x.dtype(), [&](auto zero) { sum_kernel<decltype(zero)>(acc, x); });
        if (scale != 1.0f) {
          float* a = acc.data<float>();  // fresh, so contiguous
          for (std::int64_t i = 0; i < acc.numel(); ++i) a[i] *= scale;
        }
        if (x.dtype() != DType::f32) cast_into(out, acc);
      },
      [&](const auto& stream) { cuda::sum(stream, acc, out, x, dims, scale); });
  return keepdim ? out : out.view(reduced_shape(x.shape(), dims, false));
}

}  // namespace

Tensor sum(const Tensor& x, std::vector<std::int64_t> dims, bool keepdim) {
  return reduce_sum(x, normalise_dims(x, std::move(dims), "sum"), keepdim, 1.0f, "sum");
}

Tensor mean(const Tensor& x, std::vector<std::int64_t> dims, bool keepdim) {
  dims = normalise_dims(x, std::move(dims), "mean");
  std::int64_t count = 1;
  for (std::int64_t d : dims) count *= x.shape()[d];
  return reduce_sum(x, dims, keepdim, 1.0f / static_cast<float>(std::max<std::int64_t>(count, 1)),
                    "mean");
}

Shape kept_shape(const Tensor& x, std::vector<std::int64_t> dims) {
  return reduced_shape(x.shape(), normalise_dims(x, std::move(dims), "sum"), true);
}

Tensor sum_to_shape(const Tensor& grad, const Shape& shape) {
  if (grad.shape() == shape) return grad;
  const std::int64_t lead = grad.dim() - static_cast<std::int64_t>(shape.size());
  if (lead < 0)
    throw UsageError("sum_to_shape: cannot reduce " + grad.describe() + " to " + shape_str(shape));
  std::vector<std::int64_t> dims;
  for (std::int64_t d = 0; d < grad.dim(); ++d) {
    if (d < lead || (shape[d - lead] == 1 && grad.shape()[d] != 1)) dims.push_back(d);
  }
  if (dims.empty()) return grad.view(shape);
  return reduce_sum(grad, dims, true, 1.0f, "sum_to_shape").view(shape);
}

MaxResult max(const Tensor& x, std::int64_t dim, bool keepdim) {
  check_defined("max", {&x});
  check_floating("max", x);
  dim = x.wrap_dim(dim, "max");
  const std::int64_t extent = x.shape()[dim];
  if (extent == 0) throw UsageError("max: cannot reduce an empty dimension of " + x.describe());
  const Shape kept = reduced_shape(x.shape(), {dim}, true);
  MaxResult r{Tensor::empty(kept, x.dtype(), x.device()),
              Tensor::empty(kept, DType::i64, x.device())};
  run_kernel(
      "max", x.device(),
      [&] {
        dispatch_floating("max", x.dtype(), [&](auto zero) {
          using T = decltype(zero);
          T* values = r.values.data<T>();
          auto* indices = r.indices.data<std::int64_t>();
          const T* in = static_cast<const T*>(x.raw_data());
          const std::int64_t along = x.strides()[dim];
          Shape in_strides = x.strides();
          in_strides[dim] = 0;
          // Each output scans its own line: outputs are split between threads.
          parallel_strided_loop<2>(kept, {r.values.strides(), in_strides}, grain_for(extent),
                                   [&](const std::array<std::int64_t, 2>& at, std::int64_t n,
                                       const std::array<std::int64_t, 2>& step) {
                                     for (std::int64_t i = 0; i < n; ++i) {
                                       const T* p = in + at[1] + i * step[1];
                                       float best = to_float(p[0]);
                                       std::int64_t best_k = 0;
                                       for (std::int64_t k = 1; k < extent; ++k) {
                                         const float v = to_float(p[k * along]);
                                         if (v > best) {
                                           best = v;
                                           best_k = k;
                                         }
                                       }
                                       values[at[0] + i * step[0]] = from_float<T>(best);
                                       indices[at[0] + i * step[0]] = best_k;
                                     }
                                   });
        });
      },
      [&](const auto& stream) { cuda::max_along(stream, r.values, r.indices, x, dim); });
  if (keepdim) return r;
  const Shape squeezed = reduced_shape(x.shape(), {dim}, false);
  return {r.values.view(squeezed), r.indices.view(squeezed)};
}

Tensor max_backward(const Tensor& grad, const Tensor& indices, const Shape& input_shape,
                    std::int64_t dim, bool keepdim) {
  Tensor g = keepdim ? grad : grad.unsqueeze(dim);
  Tensor idx = keepdim ? indices : indices.unsqueeze(dim);
  Tensor out = Tensor::empty(input_shape, grad.dtype(), grad.device());
  run_kernel(
      "max_backward", grad.device(),
      [&] {
        fill_(out, 0.0f);
        dispatch_floating("max_backward", grad.dtype(), [&](auto zero) {
          using T = decltype(zero);
          T* o = out.data<T>();
          const T* pg = static_cast<const T*>(g.raw_data());
          const auto* pi = static_cast<const std::int64_t*>(idx.raw_data());
          Shape out_strides = out.strides();
          const std::int64_t along = out_strides[dim];
          out_strides[dim] = 0;
          parallel_strided_loop<3>(g.shape(), {out_strides, g.strides(), idx.strides()},
                                   grain_for(1),
                                   [&](const std::array<std::int64_t, 3>& at, std::int64_t n,
                                       const std::array<std::int64_t, 3>& step) {
                                     for (std::int64_t i = 0; i < n; ++i) {
                                       o[at[0] + i * step[0] + pi[at[2] + i * step[2]] * along] =
                                           pg[at[1] + i * step[1]];
                                     }
                                   });
        });
      },
      [&](const auto& stream) { cuda::max_backward(stream, out, g, idx, dim); });
  return out;
}

}  // namespace tally::ops
