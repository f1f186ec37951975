// Elementwise kernels: strided maps over operands of any layout (broadcast inputs have stride 0),
// computing in float with the functors the CPU loops use.
#include "allocator/cuda_check.h"
#include "core/strided_index.cuh"
#include "ops/elementwise_cuda.h"
#include "ops/op_util.h"

namespace tally::ops::cuda {
namespace {

template <typename T, typename F>
__global__ void map_unary_kernel(T* out, const T* x, std::int64_t n, StridedIndex<2> index, F f) {
  for (std::int64_t i = blockIdx.x * std::int64_t{blockDim.x} + threadIdx.x; i < n;
       i += std::int64_t{gridDim.x} * blockDim.x) {
    std::int64_t at[2];
    index.offsets(i, at);
    out[at[0]] = from_float<T>(f(to_float(x[at[1]])));
  }
}

// A null `b` reads as `b_scalar` everywhere, so that binary_scalar needs no kernels of its own.
template <typename T, typename F>
__global__ void map_binary_kernel(T* out, const T* a, const T* b, float b_scalar, std::int64_t n,
                                  StridedIndex<3> index, F f) {
  for (std::int64_t i = blockIdx.x * std::int64_t{blockDim.x} + threadIdx.x; i < n;
       i += std::int64_t{gridDim.x} * blockDim.x) {
    std::int64_t at[3];
    index.offsets(i, at);
    const float y = b != nullptr ? to_float(b[at[2]]) : b_scalar;
    out[at[0]] = from_float<T>(f(to_float(a[at[1]]), y));
  }
}

template <typename T>
__global__ void fill_kernel(T* out, T value, std::int64_t n, StridedIndex<1> index) {
  for (std::int64_t i = blockIdx.x * std::int64_t{blockDim.x} + threadIdx.x; i < n;
       i += std::int64_t{gridDim.x} * blockDim.x) {
    std::int64_t at[1];
    index.offsets(i, at);
    out[at[0]] = value;
  }
}

template <typename Out, typename In>
__global__ void cast_kernel(Out* out, const In* in, std::int64_t n, StridedIndex<2> index) {
  for (std::int64_t i = blockIdx.x * std::int64_t{blockDim.x} + threadIdx.x; i < n;
       i += std::int64_t{gridDim.x} * blockDim.x) {
    std::int64_t at[2];
    index.offsets(i, at);
    out[at[0]] = from_float<Out>(to_float(in[at[1]]));
  }
}

template <typename T>
__global__ void masked_fill_kernel(T* out, const T* x, const std::uint8_t* mask, T value,
                                   std::int64_t n, StridedIndex<3> index) {
  for (std::int64_t i = blockIdx.x * std::int64_t{blockDim.x} + threadIdx.x; i < n;
       i += std::int64_t{gridDim.x} * blockDim.x) {
    std::int64_t at[3];
    index.offsets(i, at);
    out[at[0]] = mask[at[2]] != 0 ? value : x[at[1]];
  }
}

// The explicit roundings keep nvcc from fusing into an FMA, so results match the CPU's bit for bit.
struct Axpby {
  float scale;
  float alpha;
  __device__ float operator()(float d, float s) const {
    return __fadd_rn(__fmul_rn(d, scale), __fmul_rn(s, alpha));
  }
};

cudaStream_t raw(const CudaStream& stream) {
  return static_cast<cudaStream_t>(stream.handle);
}

// The launchers' contract; the ops have already checked shapes with messages for users.
void check_cuda(std::string_view op, std::initializer_list<const Tensor*> tensors) {
  check_same_device(op, tensors);
  TALLY_CHECK((*tensors.begin())->device().kind == DeviceKind::cuda,
              std::string(op) + ": CUDA kernel given " + (*tensors.begin())->describe());
}

// Strides that read `t` as if it had `shape` (t broadcasts to shape).
Shape strides_as(const Tensor& t, const Shape& shape) {
  return t.expand(shape).strides();
}

template <typename T, typename F>
void launch_unary(const CudaStream& stream, const Tensor& out, const Tensor& x, F f) {
  const std::int64_t n = out.numel();
  if (n == 0) return;
  const Shape x_strides = strides_as(x, out.shape());
  const auto index = make_strided_index<2>(out.shape(), {out.strides(), x_strides});
  map_unary_kernel<T><<<grid_for(n), kThreads, 0, raw(stream)>>>(
      static_cast<T*>(out.raw_data()), static_cast<const T*>(x.raw_data()), n, index, f);
  CUDA_LAUNCH_CHECK();
}

// out = f(a, b), or f(a, b_scalar) when b is null.
template <typename T, typename F>
void launch_binary(const CudaStream& stream, const Tensor& out, const Tensor& a, const Tensor* b,
                   float b_scalar, F f) {
  const std::int64_t n = out.numel();
  if (n == 0) return;
  const Shape a_strides = strides_as(a, out.shape());
  const Shape b_strides = b != nullptr ? strides_as(*b, out.shape()) : Shape(out.shape().size(), 0);
  const auto index = make_strided_index<3>(out.shape(), {out.strides(), a_strides, b_strides});
  map_binary_kernel<T><<<grid_for(n), kThreads, 0, raw(stream)>>>(
      static_cast<T*>(out.raw_data()), static_cast<const T*>(a.raw_data()),
      b != nullptr ? static_cast<const T*>(b->raw_data()) : nullptr, b_scalar, n, index, f);
  CUDA_LAUNCH_CHECK();
}

void binary_or_scalar(const CudaStream& stream, BinaryOp op, const Tensor& out, const Tensor& a,
                      const Tensor* b, float b_scalar) {
  const std::string_view name = binary_name(op);
  if (b != nullptr) {
    check_cuda(name, {&out, &a, b});
    check_same_dtype(name, {&out, &a, b});
  } else {
    check_cuda(name, {&out, &a});
    check_same_dtype(name, {&out, &a});
  }
  dispatch_floating(name, out.dtype(), [&](auto zero) {
    dispatch_binary(op,
                    [&](auto f) { launch_binary<decltype(zero)>(stream, out, a, b, b_scalar, f); });
  });
}

}  // namespace

void unary(const CudaStream& stream, UnaryOp op, const Tensor& out, const Tensor& x) {
  const std::string_view name = unary_name(op);
  check_cuda(name, {&out, &x});
  check_same_dtype(name, {&out, &x});
  dispatch_floating(name, out.dtype(), [&](auto zero) {
    dispatch_unary(op, [&](auto f) { launch_unary<decltype(zero)>(stream, out, x, f); });
  });
}

void binary(const CudaStream& stream, BinaryOp op, const Tensor& out, const Tensor& a,
            const Tensor& b) {
  binary_or_scalar(stream, op, out, a, &b, 0.0f);
}

void binary_scalar(const CudaStream& stream, BinaryOp op, const Tensor& out, const Tensor& a,
                   float scalar) {
  binary_or_scalar(stream, op, out, a, nullptr, scalar);
}

void axpby(const CudaStream& stream, const Tensor& dst, float scale, const Tensor& src,
           float alpha) {
  check_cuda("axpby", {&dst, &src});
  check_same_dtype("axpby", {&dst, &src});
  dispatch_floating("axpby", dst.dtype(), [&](auto zero) {
    launch_binary<decltype(zero)>(stream, dst, dst, &src, 0.0f, Axpby{scale, alpha});
  });
}

void fill(const CudaStream& stream, const Tensor& t, float value) {
  check_cuda("fill", {&t});
  const std::int64_t n = t.numel();
  if (n == 0) return;
  const auto index = make_strided_index<1>(t.shape(), {t.strides()});
  dispatch_dtype(t.dtype(), [&](auto zero) {
    using T = decltype(zero);
    // Converted on the host, as the CPU kernel does, so that every dtype gets the CPU's value.
    fill_kernel<T><<<grid_for(n), kThreads, 0, raw(stream)>>>(static_cast<T*>(t.raw_data()),
                                                              from_float<T>(value), n, index);
    CUDA_LAUNCH_CHECK();
  });
}

void cast(const CudaStream& stream, const Tensor& dst, const Tensor& src) {
  check_cuda("cast", {&dst, &src});
  TALLY_CHECK(dst.shape() == src.shape(),
              "cast: cannot cast " + src.describe() + " into " + dst.describe());
  const std::int64_t n = dst.numel();
  if (n == 0) return;
  const auto index = make_strided_index<2>(dst.shape(), {dst.strides(), src.strides()});
  dispatch_dtype(src.dtype(), [&](auto in_zero) {
    using In = decltype(in_zero);
    dispatch_dtype(dst.dtype(), [&](auto out_zero) {
      using Out = decltype(out_zero);
      cast_kernel<Out, In><<<grid_for(n), kThreads, 0, raw(stream)>>>(
          static_cast<Out*>(dst.raw_data()), static_cast<const In*>(src.raw_data()), n, index);
      CUDA_LAUNCH_CHECK();
    });
  });
}

void masked_fill(const CudaStream& stream, const Tensor& out, const Tensor& x, const Tensor& mask,
                 float value) {
  check_cuda("masked_fill", {&out, &x, &mask});
  check_same_dtype("masked_fill", {&out, &x});
  TALLY_CHECK(mask.dtype() == DType::u8, "masked_fill: mask must be u8, got " + mask.describe());
  const std::int64_t n = out.numel();
  if (n == 0) return;
  const Shape x_strides = strides_as(x, out.shape());
  const Shape mask_strides = strides_as(mask, out.shape());
  const auto index = make_strided_index<3>(out.shape(), {out.strides(), x_strides, mask_strides});
  dispatch_floating("masked_fill", out.dtype(), [&](auto zero) {
    using T = decltype(zero);
    masked_fill_kernel<T><<<grid_for(n), kThreads, 0, raw(stream)>>>(
        static_cast<T*>(out.raw_data()), static_cast<const T*>(x.raw_data()),
        static_cast<const std::uint8_t*>(mask.raw_data()), from_float<T>(value), n, index);
    CUDA_LAUNCH_CHECK();
  });
}

}  // namespace tally::ops::cuda
