#include "ops/loss.h"

#include <cmath>
#include <vector>

#include "core/strided_loop.h"
#include "ops/cpu_math.h"
#include "ops/functors.h"
#include "ops/op_util.h"
#include "ops/parallel.h"
#include "ops/reduce_cuda.h"

namespace tally::ops {
namespace {

void check_labels(std::string_view op, const Tensor& scores, const Tensor& labels) {
  check_same_device(op, {&scores, &labels});
  check_floating(op, scores);
  check_dim(op, scores, 2);
  if (labels.dtype() != DType::i64 || labels.dim() != 1 || labels.shape()[0] != scores.shape()[0]) {
    throw UsageError(std::string(op) + ": labels " + labels.describe() + " do not match " +
                     scores.describe() + " (expected i64[" + std::to_string(scores.shape()[0]) +
                     "])");
  }
}

// The label of row i, checked against the number of classes.
std::int64_t label_at(const Tensor& labels, std::int64_t i, std::int64_t classes) {
  const std::int64_t label = labels.data<std::int64_t>()[i * labels.strides()[0]];
  if (label < 0 || label >= classes) {
    throw UsageError("cross_entropy: label " + std::to_string(label) + " at position " +
                     std::to_string(i) + " is out of range [0, " + std::to_string(classes) + ")");
  }
  return label;
}

// Every row's label, checked against the number of classes before any thread starts, so that the
// first bad label is the one reported.
std::vector<std::int64_t> checked_labels(const Tensor& labels, std::int64_t classes) {
  std::vector<std::int64_t> out(static_cast<std::size_t>(labels.shape()[0]));
  for (std::size_t i = 0; i < out.size(); ++i) {
    out[i] = label_at(labels, static_cast<std::int64_t>(i), classes);
  }
  return out;
}

template <typename T>
void cross_entropy_kernel(const CrossEntropyResult& r, const Tensor& logits, const Tensor& labels) {
  const std::int64_t rows = logits.shape()[0], classes = logits.shape()[1];
  const std::int64_t row_stride = logits.strides()[0], col_stride = logits.strides()[1];
  const std::vector<std::int64_t> label = checked_labels(labels, classes);
  const T* in = static_cast<const T*>(logits.raw_data());
  T* lp = r.log_probs.data<T>();
  // The log-probabilities row by row, split between threads...
  parallel_for(rows, grain_for(16 * classes), [&](std::int64_t begin, std::int64_t end) {
    for (std::int64_t i = begin; i < end; ++i) {
      const T* p = in + i * row_stride;
      const float top = max_of(p, classes, col_stride);
      float sum = 0.0f;
      for (std::int64_t j = 0; j < classes; ++j) sum += fn::exp(to_float(p[j * col_stride]) - top);
      const float shift = top + std::log(sum);
      T* q = lp + i * classes;
      for (std::int64_t j = 0; j < classes; ++j)
        q[j] = from_float<T>(to_float(p[j * col_stride]) - shift);
    }
  });
  // ...then the loss on one thread, in row order, so that its sum does not depend on the thread
  // count. It reads the stored (rounded) log-probability, so forward and backward agree.
  double total = 0.0;
  for (std::int64_t i = 0; i < rows; ++i) total -= to_float(lp[i * classes + label[i]]);
  *r.loss.data<T>() = from_float<T>(static_cast<float>(total / static_cast<double>(rows)));
}

// The scalar value of a one-element gradient.
template <typename T>
float scalar_of(const Tensor& grad) {
  return to_float(*static_cast<const T*>(grad.raw_data()));
}

void check_scalar_grad(std::string_view op, const Tensor& grad, const Tensor& like) {
  check_same_device(op, {&grad, &like});
  check_same_dtype(op, {&grad, &like});
  if (grad.numel() != 1)
    throw UsageError(std::string(op) + ": expected a one-element gradient, got " + grad.describe());
}

}  // namespace

CrossEntropyResult cross_entropy(const Tensor& logits, const Tensor& labels) {
  check_labels("cross_entropy", logits, labels);
  CrossEntropyResult r{Tensor::empty({}, logits.dtype(), logits.device()),
                       Tensor::empty(logits.shape(), logits.dtype(), logits.device())};
  // The CPU checks every label. A cuda device could only do so by waiting for the labels on the
  // host at every step, so there an out-of-range label makes the loss (and its gradient) NaN.
  run_kernel(
      "cross_entropy", logits.device(),
      [&] {
        dispatch_floating("cross_entropy", logits.dtype(), [&](auto zero) {
          cross_entropy_kernel<decltype(zero)>(r, logits, labels);
        });
      },
      [&](const auto& stream) {
        cuda::cross_entropy(stream, r.loss, r.log_probs, logits, labels);
      });
  return r;
}

Tensor cross_entropy_backward(const Tensor& grad, const Tensor& log_probs, const Tensor& labels) {
  constexpr std::string_view op = "cross_entropy_backward";
  check_labels(op, log_probs, labels);
  check_scalar_grad(op, grad, log_probs);
  Tensor out = Tensor::empty(log_probs.shape(), log_probs.dtype(), log_probs.device());
  run_kernel(
      op, log_probs.device(),
      [&] {
        dispatch_floating(op, log_probs.dtype(), [&](auto zero) {
          using T = decltype(zero);
          const std::int64_t rows = log_probs.shape()[0], classes = log_probs.shape()[1];
          const std::int64_t row_stride = log_probs.strides()[0],
                             col_stride = log_probs.strides()[1];
          const float scale = scalar_of<T>(grad) / static_cast<float>(rows);
          const std::vector<std::int64_t> label = checked_labels(labels, classes);
          const T* in = static_cast<const T*>(log_probs.raw_data());
          T* o = out.data<T>();
          parallel_for(rows, grain_for(16 * classes), [&](std::int64_t begin, std::int64_t end) {
            // In locals: through the references, the stores to q could change them.
            const float s = scale;
            const std::int64_t n = classes, stride = col_stride;
            for (std::int64_t i = begin; i < end; ++i) {
              const T* p = in + i * row_stride;
              T* q = o + i * n;
              // (p - 1) * scale at the label, p * scale elsewhere: the label's element is written
              // again after the row, which leaves the row's loop without a branch to vectorize.
              for (std::int64_t j = 0; j < n; ++j)
                q[j] = from_float<T>(fn::exp(to_float(p[j * stride])) * s);
              const std::int64_t l = label[i];
              q[l] = from_float<T>((fn::exp(to_float(p[l * stride])) - 1.0f) * s);
            }
          });
        });
      },
      [&](const auto& stream) {
        cuda::cross_entropy_backward(stream, out, grad, log_probs, labels);
      });
  return out;
}

Tensor mse_loss(const Tensor& input, const Tensor& target) {
  check_same_device("mse_loss", {&input, &target});
  check_same_dtype("mse_loss", {&input, &target});
  check_floating("mse_loss", input);
  if (input.shape() != target.shape()) {
    throw UsageError("mse_loss: input " + input.describe() + " and target " + target.describe() +
                     " differ in shape");
  }
  Tensor out = Tensor::empty({}, input.dtype(), input.device());
  run_kernel(
      "mse_loss", input.device(),
      [&] {
        dispatch_floating("mse_loss", input.dtype(), [&](auto zero) {
          using T = decltype(zero);
          const T* a = static_cast<const T*>(input.raw_data());
          const T* b = static_cast<const T*>(target.raw_data());
          // One thread: split, the sum's order would depend on the thread count.
          double total = 0.0;
          strided_loop<2>(input.shape(), {input.strides(), target.strides()},
                          [&](const std::array<std::int64_t, 2>& at, std::int64_t n,
                              const std::array<std::int64_t, 2>& step) {
                            for (std::int64_t i = 0; i < n; ++i) {
                              const double d =
                                  static_cast<double>(to_float(a[at[0] + i * step[0]])) -
                                  to_float(b[at[1] + i * step[1]]);
                              total += d * d;
                            }
                          });
          *out.data<T>() =
              from_float<T>(static_cast<float>(total / static_cast<double>(input.numel())));
        });
      },
      [&](const auto& stream) { cuda::mse_loss(stream, out, input, target); });
  return out;
}

Tensor mse_loss_backward(const Tensor& grad, const Tensor& input, const Tensor& target) {
  constexpr std::string_view op = "mse_loss_backward";
  check_scalar_grad(op, grad, input);
  check_same_device(op, {&input, &target});
  check_same_dtype(op, {&input, &target});
  if (input.shape() != target.shape()) {
    throw UsageError(std::string(op) + ": input " + input.describe() + " and target " +
                     target.describe() + " differ in shape");
  }
  Tensor out = Tensor::empty(input.shape(), input.dtype(), input.device());
  run_kernel(
      op, input.device(),
      [&] {
        dispatch_floating(op, input.dtype(), [&](auto zero) {
          using T = decltype(zero);
          const float scale = 2.0f * scalar_of<T>(grad) / static_cast<float>(input.numel());
          T* o = out.data<T>();
          const T* a = static_cast<const T*>(input.raw_data());
          const T* b = static_cast<const T*>(target.raw_data());
          parallel_strided_loop<3>(input.shape(),
                                   {out.strides(), input.strides(), target.strides()}, grain_for(1),
                                   [&](const std::array<std::int64_t, 3>& at, std::int64_t n,
                                       const std::array<std::int64_t, 3>& step) {
                                     for (std::int64_t i = 0; i < n; ++i) {
                                       const float d = to_float(a[at[1] + i * step[1]]) -
                                                       to_float(b[at[2] + i * step[2]]);
                                       o[at[0] + i * step[0]] = from_float<T>(d * scale);
                                     }
                                   });
        });
      },
      [&](const auto& stream) { cuda::mse_loss_backward(stream, out, grad, input, target); });
  return out;
}

}  // namespace tally::ops
