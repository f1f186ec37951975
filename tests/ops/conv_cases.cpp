// Table rows: conv2d (bias or not, strides, padding, rectangular kernels, strided input),
// max_pool2d and avg_pool2d, against direct float64 loops.
#include <algorithm>
#include <limits>

#include "autograd/conv_functions.h"
#include "tests/ops/op_table.h"

namespace tally::testing {
namespace {

using Inputs = std::vector<Tensor>;
using Refs = std::vector<RefTensor>;

// Direct convolution: out[n, o, i, j] = bias[o] + sum over c, kh, kw of
// x[n, c, i * stride - padding + kh, j * stride - padding + kw] * w[o, c, kh, kw].
RefTensor conv_ref(const RefTensor& x, const RefTensor& w, const RefTensor* bias,
                   std::int64_t stride, std::int64_t padding) {
  const std::int64_t n = x.shape[0], c = x.shape[1], h = x.shape[2], wd = x.shape[3];
  const std::int64_t o = w.shape[0], kh = w.shape[2], kw = w.shape[3];
  const std::int64_t oh = (h + 2 * padding - kh) / stride + 1;
  const std::int64_t ow = (wd + 2 * padding - kw) / stride + 1;
  RefTensor out{{n, o, oh, ow}, std::vector<double>(static_cast<std::size_t>(n * o * oh * ow))};
  for (std::int64_t b = 0; b < n; ++b)
    for (std::int64_t f = 0; f < o; ++f)
      for (std::int64_t i = 0; i < oh; ++i)
        for (std::int64_t j = 0; j < ow; ++j) {
          double acc = bias ? bias->at(f) : 0.0;
          for (std::int64_t ch = 0; ch < c; ++ch)
            for (std::int64_t p = 0; p < kh; ++p)
              for (std::int64_t q = 0; q < kw; ++q) {
                const std::int64_t y = i * stride - padding + p, z = j * stride - padding + q;
                if (y < 0 || y >= h || z < 0 || z >= wd) continue;
                acc +=
                    x.at(((b * c + ch) * h + y) * wd + z) * w.at(((f * c + ch) * kh + p) * kw + q);
              }
          out.at(((b * o + f) * oh + i) * ow + j) = acc;
        }
  return out;
}

enum class Pool { max, avg };

// Direct pooling; padding never wins a max and counts as zero in a mean (count_include_pad).
RefTensor pool_ref(const RefTensor& x, Pool kind, std::int64_t kernel, std::int64_t stride,
                   std::int64_t padding) {
  const std::int64_t n = x.shape[0], c = x.shape[1], h = x.shape[2], w = x.shape[3];
  const std::int64_t oh = (h + 2 * padding - kernel) / stride + 1;
  const std::int64_t ow = (w + 2 * padding - kernel) / stride + 1;
  RefTensor out{{n, c, oh, ow}, std::vector<double>(static_cast<std::size_t>(n * c * oh * ow))};
  for (std::int64_t plane = 0; plane < n * c; ++plane)
    for (std::int64_t i = 0; i < oh; ++i)
      for (std::int64_t j = 0; j < ow; ++j) {
        double acc = kind == Pool::max ? -std::numeric_limits<double>::infinity() : 0.0;
        for (std::int64_t p = 0; p < kernel; ++p)
          for (std::int64_t q = 0; q < kernel; ++q) {
            const std::int64_t y = i * stride - padding + p, z = j * stride - padding + q;
            if (y < 0 || y >= h || z < 0 || z >= w) continue;
            const double v = x.at((plane * h + y) * w + z);
            acc = kind == Pool::max ? std::max(acc, v) : acc + v;
          }
        if (kind == Pool::avg) acc /= static_cast<double>(kernel * kernel);
        out.at((plane * oh + i) * ow + j) = acc;
      }
  return out;
}

OpCase conv_case(std::string name, InputSpec x, Shape w, bool bias, std::int64_t stride,
                 std::int64_t padding) {
  std::vector<InputSpec> inputs{std::move(x), {w}};
  if (bias) inputs.push_back({{w[0]}});
  return {
      std::move(name), std::move(inputs),
      [=](const Inputs& in) {
        return conv2d(in[0], in[1], bias ? in[2] : Tensor(), stride, padding);
      },
      [=](const Refs& r) { return conv_ref(r[0], r[1], bias ? &r[2] : nullptr, stride, padding); }};
}

OpCase pool_case(std::string name, Pool kind, InputSpec x, std::int64_t kernel, std::int64_t stride,
                 std::int64_t padding) {
  return {std::move(name),
          {std::move(x)},
          [=](const Inputs& in) {
            return kind == Pool::max ? max_pool2d(in[0], kernel, stride, padding)
                                     : avg_pool2d(in[0], kernel, stride, padding);
          },
          [=](const Refs& r) {
            return pool_ref(r[0], kind, kernel, stride == 0 ? kernel : stride, padding);
          }};
}

CaseList conv_cases() {
  const InputKind normal = InputKind::normal;
  return {
      conv_case("conv2d/bias_stride1_pad0", {{2, 2, 5, 5}}, {3, 2, 3, 3}, true, 1, 0),
      conv_case("conv2d/no_bias_stride2_pad1", {{1, 3, 5, 5}}, {2, 3, 3, 3}, false, 2, 1),
      conv_case("conv2d/bias_stride2_pad0_rect", {{2, 2, 6, 5}}, {2, 2, 2, 3}, true, 2, 0),
      conv_case("conv2d/no_bias_stride1_pad1", {{1, 2, 4, 6}}, {4, 2, 3, 3}, false, 1, 1),
      conv_case("conv2d/bias_stride1_pad1_single_channel", {{3, 1, 5, 4}}, {2, 1, 3, 3}, true, 1,
                1),
      conv_case("conv2d/bias_pointwise", {{2, 3, 3, 4}}, {2, 3, 1, 1}, true, 1, 0),
      conv_case("conv2d/bias_strided_input", {{1, 2, 5, 6}, normal, 0, true}, {3, 2, 3, 3}, true, 2,
                1),
      conv_case("conv2d/no_bias_stride1_pad2_rect", {{2, 2, 4, 5}}, {3, 2, 3, 2}, false, 1, 2),
      conv_case("conv2d/bias_stride1_strided_input", {{1, 2, 5, 6}, normal, 0, true}, {3, 2, 3, 3},
                true, 1, 1),
      pool_case("max_pool2d/k2_default_stride", Pool::max, {{2, 2, 4, 4}}, 2, 0, 0),
      pool_case("max_pool2d/k2_s2_odd_size", Pool::max, {{2, 3, 5, 7}}, 2, 2, 0),
      pool_case("max_pool2d/k3_s2_p1", Pool::max, {{1, 2, 5, 5}}, 3, 2, 1),
      pool_case("max_pool2d/k2_s1_overlapping", Pool::max, {{1, 2, 4, 5}}, 2, 1, 0),
      pool_case("max_pool2d/k2_s2_strided_input", Pool::max, {{1, 2, 4, 6}, normal, 0, true}, 2, 2,
                0),
      pool_case("avg_pool2d/k2_default_stride", Pool::avg, {{2, 2, 4, 4}}, 2, 0, 0),
      pool_case("avg_pool2d/k3_s2_p1", Pool::avg, {{1, 2, 5, 5}}, 3, 2, 1),
      pool_case("avg_pool2d/k3_s1_p1_overlapping", Pool::avg, {{1, 2, 4, 5}}, 3, 1, 1),
  };
}

}  // namespace

TALLY_OP_CASES(conv_cases);

}  // namespace tally::testing
