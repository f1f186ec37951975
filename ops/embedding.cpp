#include "ops/embedding.h"

#include "ops/elementwise.h"
#include "ops/nn_cuda.h"
#include "ops/op_util.h"
#include "ops/parallel.h"

namespace tally::ops {
namespace {

void check_indices(std::string_view op, const Tensor& indices) {
  if (indices.dtype() != DType::i64) {
    throw UsageError(std::string(op) + ": indices must be i64, got " + indices.describe());
  }
}

// Calls f(position, row) for every index, where position is the index's row-major place in
// `indices`; throws when a row is outside [0, rows). Positions are split between threads when
// `grain` (in positions) allows; the error names the first bad index in row-major order either way.
template <typename F>
void for_each_index(std::string_view op, const Tensor& indices, std::int64_t rows,
                    std::int64_t grain, F&& f) {
  const auto* in = indices.data<std::int64_t>();
  const Shape positions = contiguous_strides(indices.shape());
  parallel_strided_loop<2>(
      indices.shape(), {positions, indices.strides()}, grain,
      [&](const std::array<std::int64_t, 2>& at, std::int64_t n,
          const std::array<std::int64_t, 2>& step) {
        for (std::int64_t i = 0; i < n; ++i) {
          const std::int64_t position = at[0] + i * step[0];
          const std::int64_t row = in[at[1] + i * step[1]];
          if (row < 0 || row >= rows) {
            throw UsageError(std::string(op) + ": index " + std::to_string(row) + " at position " +
                             std::to_string(position) + " is out of range [0, " +
                             std::to_string(rows) + ")");
          }
          f(position, row);
        }
      });
}

}  // namespace

Tensor embedding(const Tensor& indices, const Tensor& weight) {
  constexpr std::string_view op = "embedding";
  check_same_device(op, {&indices, &weight});
  check_indices(op, indices);
  check_dim(op, weight, 2);
  const std::int64_t rows = weight.shape()[0], width = weight.shape()[1];
  Shape shape = indices.shape();
  shape.push_back(width);
  Tensor out = Tensor::empty(shape, weight.dtype(), weight.device());
  run_kernel(
      op, weight.device(),
      [&] {
        dispatch_dtype(weight.dtype(), [&](auto zero) {
          using T = decltype(zero);
          const T* w = static_cast<const T*>(weight.raw_data());
          const std::int64_t row_stride = weight.strides()[0], col_stride = weight.strides()[1];
          T* o = out.data<T>();
          // Each position copies its own row of the output.
          for_each_index(op, indices, rows, grain_for(width),
                         [&](std::int64_t position, std::int64_t row) {
                           for (std::int64_t j = 0; j < width; ++j) {
                             o[position * width + j] = w[row * row_stride + j * col_stride];
                           }
                         });
        });
      },
      [&](const auto& stream) { cuda::embedding_forward(stream, out, indices, weight); });
  return out;
}

Tensor embedding_backward(const Tensor& grad, const Tensor& indices, std::int64_t num_weights) {
  constexpr std::string_view op = "embedding_backward";
  check_same_device(op, {&grad, &indices});
  check_indices(op, indices);
  check_floating(op, grad);
  Shape expected = indices.shape();
  expected.push_back(grad.dim() > 0 ? grad.shape().back() : 0);
  if (grad.shape() != expected) {
    throw UsageError(std::string(op) + ": gradient " + grad.describe() +
                     " does not match indices " + indices.describe());
  }
  const std::int64_t width = expected.back();
  const Tensor g = grad.contiguous();
  Tensor out = Tensor::empty({num_weights, width}, grad.dtype(), grad.device());
  const Tensor acc =
      grad.dtype() == DType::f32 ? out : Tensor::empty(out.shape(), DType::f32, grad.device());
  run_kernel(
      op, grad.device(),
      [&] {
        dispatch_floating(op, grad.dtype(), [&](auto zero) {
          using T = decltype(zero);
          const T* pg = g.data<T>();
          float* o = acc.data<float>();
          // Positions that share an index add into the same row, in row-major order of the
          // positions: the threads split the columns, each walking every position in that order,
          // so that the sums do not depend on the thread count.
          const std::int64_t positions = indices.numel();
          // Without columns to split, the indices are still checked.
          if (width == 0) for_each_index(op, indices, num_weights, positions, [](auto, auto) {});
          parallel_for(width, grain_for(2 * positions), [&](std::int64_t begin, std::int64_t end) {
            for (std::int64_t r = 0; r < num_weights; ++r) {
              std::fill(o + r * width + begin, o + r * width + end, 0.0f);
            }
            for_each_index(op, indices, num_weights, positions,
                           [&](std::int64_t position, std::int64_t row) {
                             float* dst = o + row * width;
                             const T* src = pg + position * width;
                             for (std::int64_t j = begin; j < end; ++j) dst[j] += to_float(src[j]);
                           });
          });
        });
        if (acc.storage() != out.storage()) cast_into(out, acc);
      },
      [&](const auto& stream) { cuda::embedding_backward(stream, out, acc, g, indices); });
  return out;
}

}  // namespace tally::ops
