#include "ops/conv2d.h"

#include <cblas.h>

#include <algorithm>
#include <string>
#include <utility>

#include "ops/conv2d_cuda.h"
#include "ops/cuda_libraries.h"
#include "ops/elementwise.h"
#include "ops/flop_count.h"
#include "ops/op_util.h"
#include "ops/parallel.h"
#include "ops/sim_libraries.h"

namespace tally::ops {
namespace {

struct ConvGeometry {
  std::int64_t n, c, h, w;  // input
  std::int64_t o, kh, kw;   // weight
  std::int64_t oh, ow;      // output
  std::int64_t stride, padding;

  std::int64_t rows() const { return c * kh * kw; }  // of the column buffer: the GEMM's K
  std::int64_t cols() const { return oh * ow; }      // of the column buffer: one output plane
  // Of the forward pass, and of each of dx and dweight: one multiply-add per weight per output
  // position per image.
  std::uint64_t flops() const { return 2ULL * static_cast<std::uint64_t>(n * o * cols() * rows()); }
};

ConvGeometry geometry(std::string_view op, const Shape& x, const Shape& w, std::int64_t stride,
                      std::int64_t padding) {
  const std::string shapes = "input " + shape_str(x) + " and weight " + shape_str(w);
  if (x.size() != 4 || w.size() != 4) {
    throw UsageError(std::string(op) +
                     ": expected input [N, C, H, W] and weight [O, C, KH, KW], got " + shapes);
  }
  if (std::find(w.begin(), w.end(), 0) != w.end())
    throw UsageError(std::string(op) + ": empty weight in " + shapes);
  if (x[1] != w[1]) {
    throw UsageError(std::string(op) + ": " + shapes + ": input has " + std::to_string(x[1]) +
                     " channels, weight expects " + std::to_string(w[1]));
  }
  if (stride <= 0 || padding < 0) {
    throw UsageError(std::string(op) +
                     ": stride must be positive and padding non-negative, got stride " +
                     std::to_string(stride) + " and padding " + std::to_string(padding));
  }
  if (w[2] > x[2] + 2 * padding || w[3] > x[3] + 2 * padding) {
    throw UsageError(std::string(op) + ": " + shapes + ": kernel larger than the input padded by " +
                     std::to_string(padding));
  }
  ConvGeometry g{x[0], x[1], x[2], x[3], w[0], w[2], w[3], 0, 0, stride, padding};
  g.oh = (g.h + 2 * padding - g.kh) / stride + 1;
  g.ow = (g.w + 2 * padding - g.kw) / stride + 1;
  return g;
}

// f32 and contiguous, for BLAS: t itself when it already is.
Tensor dense_f32(const Tensor& t) {
  return t.dtype() == DType::f32 ? t.contiguous() : cast(t, DType::f32);
}

std::int64_t ceil_div(std::int64_t a, std::int64_t b) {
  return (a + b - 1) / b;
}

// The output positions [lo, hi) along one axis whose tap `k` reads inside the input, that is
// 0 <= o * stride - padding + k < in.
std::pair<std::int64_t, std::int64_t> inside(std::int64_t in, std::int64_t out, std::int64_t k,
                                             const ConvGeometry& g) {
  const std::int64_t hi = std::clamp<std::int64_t>(
      ceil_div(std::max<std::int64_t>(in + g.padding - k, 0), g.stride), 0, out);
  const std::int64_t lo =
      std::min(ceil_div(std::max<std::int64_t>(g.padding - k, 0), g.stride), hi);
  return {lo, hi};
}

// Unfolds image n of x into col [C * KH * KW, OH * OW]: row (c, kh, kw) holds the input value
// each output position reads through that tap, 0 in the padding. x may have any strides. Rows are
// independent: split between threads.
template <typename T>
void im2col(const Tensor& x, std::int64_t n, const ConvGeometry& g, float* col) {
  const Shape& s = x.strides();
  // In locals: read through `s` they are reloaded for every output row.
  const std::int64_t channel_stride = s[1], row_stride = s[2], col_stride = s[3];
  const T* image = static_cast<const T*>(x.raw_data()) + n * s[0];
  // Stride 1 over unit-stride rows: each row's taps are one run of the input row, copied whole
  // rather than gathered element by element.
  const bool contiguous_taps = g.stride == 1 && col_stride == 1;
  parallel_for(g.rows(), grain_for(g.cols()), [&](std::int64_t begin, std::int64_t end) {
    // A copy: through the reference, the geometry is reloaded after every fill.
    const ConvGeometry geo = g;
    std::int64_t c = begin / (geo.kh * geo.kw), kh = begin / geo.kw % geo.kh, kw = begin % geo.kw;
    for (std::int64_t r = begin; r < end; ++r) {
      const T* plane = image + c * channel_stride;
      float* row = col + r * geo.cols();
      const auto [lo, hi] = inside(geo.w, geo.ow, kw, geo);
      for (std::int64_t oh = 0; oh < geo.oh; ++oh) {
        float* dst = row + oh * geo.ow;
        const std::int64_t ih = oh * geo.stride - geo.padding + kh;
        if (ih < 0 || ih >= geo.h) {
          std::fill(dst, dst + geo.ow, 0.0f);
          continue;
        }
        const T* src = plane + ih * row_stride;
        std::fill(dst, dst + lo, 0.0f);
        if (contiguous_taps) {
          const T* first = src + (lo - geo.padding + kw);
          std::transform(first, first + (hi - lo), dst + lo, [](T v) { return to_float(v); });
        } else {
          for (std::int64_t ow = lo; ow < hi; ++ow) {
            dst[ow] = to_float(src[(ow * geo.stride - geo.padding + kw) * col_stride]);
          }
        }
        std::fill(dst + hi, dst + geo.ow, 0.0f);
      }
      // On to the next tap: (c, kh, kw) in row-major order.
      if (++kw == geo.kw) {
        kw = 0;
        if (++kh == geo.kh) {
          kh = 0;
          ++c;
        }
      }
    }
  });
}

// The adjoint of im2col: image [C, H, W] = the sum, over every column entry, of the entry at
// the input position it was read from. A channel's plane sums only its own rows of col, in the
// same order whatever the split: channels are split between threads.
void col2im(const float* col, const ConvGeometry& g, float* image) {
  const std::int64_t taps = g.kh * g.kw;
  parallel_for(g.c, grain_for(taps * g.cols()), [&](std::int64_t begin, std::int64_t end) {
    std::fill(image + begin * g.h * g.w, image + end * g.h * g.w, 0.0f);
    for (std::int64_t c = begin; c < end; ++c) {
      for (std::int64_t kh = 0; kh < g.kh; ++kh) {
        for (std::int64_t kw = 0; kw < g.kw; ++kw) {
          const float* row = col + ((c * g.kh + kh) * g.kw + kw) * g.cols();
          const auto [lo, hi] = inside(g.w, g.ow, kw, g);
          for (std::int64_t oh = 0; oh < g.oh; ++oh) {
            const std::int64_t ih = oh * g.stride - g.padding + kh;
            if (ih < 0 || ih >= g.h) continue;
            float* dst = image + (c * g.h + ih) * g.w;
            const float* src = row + oh * g.ow;
            if (g.stride == 1) {
              // As in im2col, stride 1 makes the targets one run, which the compiler vectorizes.
              float* first = dst + (lo - g.padding + kw);
              for (std::int64_t i = 0; i < hi - lo; ++i) first[i] += src[lo + i];
            } else {
              for (std::int64_t ow = lo; ow < hi; ++ow) {
                dst[ow * g.stride - g.padding + kw] += src[ow];
              }
            }
          }
        }
      }
    }
  });
}

template <typename T>
void narrow(const float* src, std::int64_t count, T* dst) {
  parallel_for(count, grain_for(1), [&](std::int64_t begin, std::int64_t end) {
    for (std::int64_t i = begin; i < end; ++i) dst[i] = from_float<T>(src[i]);
  });
}

// c [m, n] = op(a) @ op(b) + beta * c, row-major and dense.
void sgemm(bool trans_a, bool trans_b, std::int64_t m, std::int64_t n, std::int64_t k,
           const float* a, const float* b, float beta, float* c) {
  cblas_sgemm(CblasRowMajor, trans_a ? CblasTrans : CblasNoTrans,
              trans_b ? CblasTrans : CblasNoTrans, static_cast<int>(m), static_cast<int>(n),
              static_cast<int>(k), 1.0f, a, static_cast<int>(trans_a ? m : k), b,
              static_cast<int>(trans_b ? k : n), beta, c, static_cast<int>(n));
}

}  // namespace

Shape conv2d_column_shape(const Shape& x_shape, const Shape& weight_shape, std::int64_t stride,
                          std::int64_t padding) {
  const ConvGeometry g = geometry("conv2d", x_shape, weight_shape, stride, padding);
  return {g.rows(), g.cols()};
}

Tensor conv2d(const Tensor& x, const Tensor& weight, const Tensor& bias, std::int64_t stride,
              std::int64_t padding) {
  check_same_device("conv2d", {&x, &weight});
  check_same_dtype("conv2d", {&x, &weight});
  check_floating("conv2d", x);
  const ConvGeometry g = geometry("conv2d", x.shape(), weight.shape(), stride, padding);
  if (bias.defined()) {
    check_same_device("conv2d", {&x, &bias});
    check_same_dtype("conv2d", {&x, &bias});
    if (bias.shape() != Shape{g.o}) {
      throw UsageError("conv2d: bias " + bias.describe() + " does not match weight " +
                       weight.describe());
    }
  }
  const Device device = x.device();
  Tensor out = Tensor::empty({g.n, g.o, g.oh, g.ow}, x.dtype(), device);
  count_flops(g.flops());
  // The host's rule (ops/conv2d.h): BLAS reads a dense f32 weight, and unfolds each image into the
  // column buffer. Under the library rule cuDNN reads dense operands of their own dtype, and the
  // workspace it takes inside the call (ops/conv2d_cuda.h) replaces the column buffer.
  const bool host = !library_memory_rule(device);
  const Tensor xd = host ? x : x.contiguous();
  const Tensor wd = host ? dense_f32(weight) : weight.contiguous();
  const Tensor columns =
      host ? Tensor::empty({g.rows(), g.cols()}, DType::f32, device, Tag::workspace) : Tensor();
  // f32 outputs take the GEMM's result directly; narrower ones through one image's f32 result.
  const bool wide = x.dtype() != DType::f32;
  const Tensor result =
      host && wide ? Tensor::empty({g.o, g.cols()}, DType::f32, device, Tag::workspace) : Tensor();
  run_kernel(
      "conv2d", device,
      [&] {
        dispatch_floating("conv2d", x.dtype(), [&](auto zero) {
          using T = decltype(zero);
          const std::int64_t plane = g.o * g.cols();
          for (std::int64_t n = 0; n < g.n; ++n) {
            im2col<T>(x, n, g, columns.data<float>());
            float* c =
                wide ? result.data<float>() : static_cast<float*>(out.raw_data()) + n * plane;
            if (bias.defined()) {
              const T* b = static_cast<const T*>(bias.raw_data());
              const std::int64_t bias_stride = bias.strides()[0];
              parallel_for(g.o, grain_for(g.cols()), [&](std::int64_t begin, std::int64_t end) {
                for (std::int64_t o = begin; o < end; ++o) {
                  std::fill(c + o * g.cols(), c + (o + 1) * g.cols(), to_float(b[o * bias_stride]));
                }
              });
            }
            sgemm(false, false, g.o, g.cols(), g.rows(), wd.data<float>(), columns.data<float>(),
                  bias.defined() ? 1.0f : 0.0f, c);
            if (wide) narrow(c, plane, out.data<T>() + n * plane);
          }
        });
      },
      [&](const auto& stream) { cuda::conv2d_forward(stream, out, xd, wd, bias, stride, padding); },
      [&] {
        // cuDNN runs only for a non-empty output of a non-empty image (ops/conv2d_cuda.cu).
        if (out.numel() > 0 && x.numel() > 0) {
          sim::take_conv_workspace(ConvPass::forward, device, x.dtype(), x.shape(), weight.shape(),
                                   stride, padding);
        }
      });
  return out;
}

Conv2dGrads conv2d_backward(const Tensor& grad, const Tensor& x, const Tensor& weight,
                            std::int64_t stride, std::int64_t padding, bool need_x, bool need_w,
                            bool need_b) {
  check_defined("conv2d_backward", {&grad});
  check_floating("conv2d_backward", grad);
  check_dim("conv2d_backward", grad, 4);
  const bool unfold = need_x || need_w;
  ConvGeometry g{};
  if (unfold) {
    check_same_device("conv2d_backward", {&grad, &x, &weight});
    check_same_dtype("conv2d_backward", {&grad, &x, &weight});
    g = geometry("conv2d_backward", x.shape(), weight.shape(), stride, padding);
    if (grad.shape() != Shape{g.n, g.o, g.oh, g.ow}) {
      throw UsageError("conv2d_backward: gradient " + grad.describe() +
                       " does not match the output of " + "input " + x.describe() + " and weight " +
                       weight.describe());
    }
  }
  const Device device = grad.device();
  const DType dtype = grad.dtype();
  Conv2dGrads r;
  if (need_x) r.x = Tensor::empty(x.shape(), dtype, device);
  if (need_w) r.weight = Tensor::empty(weight.shape(), dtype, device);
  if (need_b) r.bias = Tensor::empty({grad.shape()[1]}, dtype, device);
  if (!need_x && !need_w && !need_b) return r;
  count_flops(g.flops() * (need_x + need_w));
  // The host's rule (ops/conv2d.h): BLAS reads dense f32 copies, dweight sums in f32, and one
  // column buffer serves both GEMMs. Under the library rule cuDNN reads dense operands of their
  // own dtype and writes the gradients directly; the workspace each pass takes inside its call
  // (ops/conv2d_cuda.h) replaces the column buffer, and dbias reads grad as it is.
  const bool host = !library_memory_rule(device);
  const bool wide = dtype != DType::f32;
  const Tensor gd = host ? dense_f32(grad) : (unfold ? grad.contiguous() : Tensor());
  const Tensor wd = need_x ? (host ? dense_f32(weight) : weight.contiguous()) : Tensor();
  const Tensor xd = !host && need_w ? x.contiguous() : Tensor();
  const Tensor dw32 = host && need_w
                          ? (wide ? Tensor::empty(weight.shape(), DType::f32, device) : r.weight)
                          : Tensor();
  const Tensor columns =
      host && unfold ? Tensor::empty({g.rows(), g.cols()}, DType::f32, device, Tag::workspace)
                     : Tensor();
  // f32 dx takes col2im's sums directly; narrower ones through one image's f32 sums.
  const Tensor image32 = host && need_x && wide
                             ? Tensor::empty({g.c, g.h, g.w}, DType::f32, device, Tag::workspace)
                             : Tensor();
  run_kernel(
      "conv2d_backward", device,
      [&] {
        dispatch_floating("conv2d_backward", dtype, [&](auto zero) {
          using T = decltype(zero);
          const float* pg = gd.data<float>();
          if (need_b) {
            const std::int64_t batch = grad.shape()[0], outs = grad.shape()[1];
            const std::int64_t plane = grad.shape()[2] * grad.shape()[3];
            T* db = r.bias.data<T>();
            // One channel per output: channels are split between threads.
            parallel_for(outs, grain_for(batch * plane), [&](std::int64_t begin, std::int64_t end) {
              for (std::int64_t o = begin; o < end; ++o) {
                // Independent partial sums: with one accumulator every add waits on the previous
                // one, and the compiler may not reassociate float adds to split it.
                constexpr std::int64_t kLanes = 8;
                float acc[kLanes] = {};
                for (std::int64_t n = 0; n < batch; ++n) {
                  const float* p = pg + (n * outs + o) * plane;
                  std::int64_t i = 0;
                  for (; i + kLanes <= plane; i += kLanes) {
                    for (std::int64_t l = 0; l < kLanes; ++l) acc[l] += p[i + l];
                  }
                  for (; i < plane; ++i) acc[i % kLanes] += p[i];
                }
                float sum = 0.0f;
                for (float a : acc) sum += a;
                db[o] = from_float<T>(sum);
              }
            });
          }
          if (!unfold) return;
          if (need_w) fill_(dw32, 0.0f);
          float* col = columns.data<float>();
          for (std::int64_t n = 0; n < g.n; ++n) {
            const float* gn = pg + n * g.o * g.cols();
            if (need_w) {
              im2col<T>(x, n, g, col);
              sgemm(false, true, g.o, g.rows(), g.cols(), gn, col, 1.0f, dw32.data<float>());
            }
            if (need_x) {
              sgemm(true, false, g.rows(), g.cols(), g.o, wd.data<float>(), gn, 0.0f, col);
              const std::int64_t image = g.c * g.h * g.w;
              float* sums =
                  wide ? image32.data<float>() : static_cast<float*>(r.x.raw_data()) + n * image;
              col2im(col, g, sums);
              if (wide) narrow(sums, image, r.x.data<T>() + n * image);
            }
          }
          if (need_w && wide) cast_into(r.weight, dw32);
        });
      },
      [&](const auto& stream) {
        if (need_b) cuda::conv2d_backward_bias(stream, r.bias, grad);
        if (need_x) cuda::conv2d_backward_data(stream, r.x, gd, wd, stride, padding);
        if (need_w) cuda::conv2d_backward_filter(stream, r.weight, gd, xd, stride, padding);
      },
      [&] {
        // In the order the cuda launcher runs the passes, each only where cuDNN runs it.
        if (need_x && r.x.numel() > 0) {
          sim::take_conv_workspace(ConvPass::backward_data, device, dtype, x.shape(),
                                   weight.shape(), stride, padding);
        }
        if (need_w && grad.numel() > 0 && x.numel() > 0) {
          sim::take_conv_workspace(ConvPass::backward_filter, device, dtype, x.shape(),
                                   weight.shape(), stride, padding);
        }
      });
  return r;
}

}  // namespace tally::ops
