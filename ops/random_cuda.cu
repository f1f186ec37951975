// Kernels that generate tensors (arange, causal mask, Philox normals and uniforms) and dropout's.
// The Philox numbers are computed by the same host-device functions as on the CPU, so that a
// (seed, offset) gives the same uniforms, and so the same dropout masks, on every device.
#include <type_traits>

#include "allocator/cuda_check.h"
#include "core/philox.h"
#include "core/strided_index.cuh"
#include "ops/op_util.h"
#include "ops/random_cuda.h"

namespace tally::ops::cuda {
namespace {

template <typename T>
__global__ void arange_kernel(T* out, std::int64_t n) {
  for (std::int64_t i = blockIdx.x * std::int64_t{blockDim.x} + threadIdx.x; i < n;
       i += std::int64_t{gridDim.x} * blockDim.x) {
    // Integers are written exactly: float holds only those below 2^24.
    if constexpr (std::is_integral_v<T>) {
      out[i] = static_cast<T>(i);
    } else {
      out[i] = from_float<T>(static_cast<float>(i));
    }
  }
}

__global__ void causal_mask_kernel(std::uint8_t* out, std::int64_t rows) {
  const std::int64_t n = rows * rows;
  for (std::int64_t i = blockIdx.x * std::int64_t{blockDim.x} + threadIdx.x; i < n;
       i += std::int64_t{gridDim.x} * blockDim.x) {
    out[i] = i % rows > i / rows ? 1 : 0;
  }
}

__global__ void randn_kernel(float* out, std::int64_t n, PhiloxState rng) {
  for (std::int64_t i = blockIdx.x * std::int64_t{blockDim.x} + threadIdx.x; i < n;
       i += std::int64_t{gridDim.x} * blockDim.x) {
    out[i] = philox_normal_at(rng.seed, rng.offset, static_cast<std::uint64_t>(i));
  }
}

__global__ void uniform_kernel(float* out, std::int64_t n, PhiloxState rng, float low, float high) {
  for (std::int64_t i = blockIdx.x * std::int64_t{blockDim.x} + threadIdx.x; i < n;
       i += std::int64_t{gridDim.x} * blockDim.x) {
    const float u = philox_uniform_at(rng.seed, rng.offset, static_cast<std::uint64_t>(i));
    // Unfused, as the CPU computes it, so that both give the same bits.
    out[i] = __fadd_rn(low, __fmul_rn(high - low, u));
  }
}

// One thread per Philox block: its four words are the uniforms philox_uniform_at gives elements
// 4j .. 4j + 3, drawn once instead of once per element.
template <typename T>
__global__ void dropout_kernel(T* out, std::uint8_t* mask, const T* x, std::int64_t n,
                               StridedIndex<1> index, PhiloxState rng, float p, float scale) {
  const std::int64_t blocks = (n + 3) / 4;
  for (std::int64_t j = blockIdx.x * std::int64_t{blockDim.x} + threadIdx.x; j < blocks;
       j += std::int64_t{gridDim.x} * blockDim.x) {
    const PhiloxBlock block =
        philox4x32_10(rng.seed, rng.offset + static_cast<std::uint64_t>(j), 0);
    for (int k = 0; k < 4; ++k) {
      const std::int64_t i = 4 * j + k;
      if (i >= n) break;
      std::int64_t at[1];
      index.offsets(i, at);
      const bool keep = philox_uniform(block.v[k]) > p;
      mask[i] = keep ? 1 : 0;
      out[i] = from_float<T>(keep ? to_float(x[at[0]]) * scale : 0.0f);
    }
  }
}

template <typename T>
__global__ void dropout_backward_kernel(T* out, const T* grad, const std::uint8_t* mask,
                                        std::int64_t n, StridedIndex<3> index, float scale) {
  for (std::int64_t i = blockIdx.x * std::int64_t{blockDim.x} + threadIdx.x; i < n;
       i += std::int64_t{gridDim.x} * blockDim.x) {
    std::int64_t at[3];
    index.offsets(i, at);
    out[at[0]] = from_float<T>(mask[at[2]] != 0 ? to_float(grad[at[1]]) * scale : 0.0f);
  }
}

cudaStream_t raw(const CudaStream& stream) {
  return static_cast<cudaStream_t>(stream.handle);
}

// The launchers' contract: the ops have checked their arguments with messages for users.
void check_output(std::string_view op, const Tensor& out, DType dtype) {
  TALLY_CHECK(out.device().kind == DeviceKind::cuda && out.is_contiguous() && out.dtype() == dtype,
              std::string(op) + ": CUDA kernel given output " + out.describe());
}

}  // namespace

void arange(const CudaStream& stream, const Tensor& out) {
  check_output("arange", out, out.dtype());
  const std::int64_t n = out.numel();
  if (n == 0) return;
  dispatch_dtype(out.dtype(), [&](auto zero) {
    using T = decltype(zero);
    arange_kernel<T><<<grid_for(n), kThreads, 0, raw(stream)>>>(static_cast<T*>(out.raw_data()), n);
    CUDA_LAUNCH_CHECK();
  });
}

void causal_mask(const CudaStream& stream, const Tensor& out) {
  check_output("causal_mask", out, DType::u8);
  TALLY_CHECK(out.dim() == 2 && out.shape()[0] == out.shape()[1],
              "causal_mask: CUDA kernel given output " + out.describe());
  const std::int64_t rows = out.shape()[0];
  if (rows == 0) return;
  causal_mask_kernel<<<grid_for(rows * rows), kThreads, 0, raw(stream)>>>(
      static_cast<std::uint8_t*>(out.raw_data()), rows);
  CUDA_LAUNCH_CHECK();
}

void randn(const CudaStream& stream, const Tensor& out, PhiloxState rng) {
  check_output("randn", out, DType::f32);
  const std::int64_t n = out.numel();
  if (n == 0) return;
  randn_kernel<<<grid_for(n), kThreads, 0, raw(stream)>>>(static_cast<float*>(out.raw_data()), n,
                                                          rng);
  CUDA_LAUNCH_CHECK();
}

void uniform(const CudaStream& stream, const Tensor& out, PhiloxState rng, float low, float high) {
  check_output("uniform", out, DType::f32);
  const std::int64_t n = out.numel();
  if (n == 0) return;
  uniform_kernel<<<grid_for(n), kThreads, 0, raw(stream)>>>(static_cast<float*>(out.raw_data()), n,
                                                            rng, low, high);
  CUDA_LAUNCH_CHECK();
}

void dropout(const CudaStream& stream, const Tensor& out, const Tensor& mask, const Tensor& x,
             PhiloxState rng, float p, float scale) {
  check_output("dropout", out, x.dtype());
  check_output("dropout", mask, DType::u8);
  check_same_device("dropout", {&out, &mask, &x});
  TALLY_CHECK(out.shape() == x.shape() && mask.shape() == x.shape(),
              "dropout: CUDA kernel given " + out.describe() + " and " + mask.describe() + " for " +
                  x.describe());
  const std::int64_t n = x.numel();
  if (n == 0) return;
  const auto index = make_strided_index<1>(x.shape(), {x.strides()});
  dispatch_floating("dropout", x.dtype(), [&](auto zero) {
    using T = decltype(zero);
    dropout_kernel<T><<<grid_for((n + 3) / 4), kThreads, 0, raw(stream)>>>(
        static_cast<T*>(out.raw_data()), static_cast<std::uint8_t*>(mask.raw_data()),
        static_cast<const T*>(x.raw_data()), n, index, rng, p, scale);
    CUDA_LAUNCH_CHECK();
  });
}

void dropout_backward(const CudaStream& stream, const Tensor& out, const Tensor& grad,
                      const Tensor& mask, float scale) {
  constexpr std::string_view op = "dropout_backward";
  check_same_device(op, {&out, &grad, &mask});
  check_same_dtype(op, {&out, &grad});
  TALLY_CHECK(out.device().kind == DeviceKind::cuda && mask.dtype() == DType::u8 &&
                  out.shape() == grad.shape() && mask.shape() == grad.shape(),
              "dropout_backward: CUDA kernel given " + out.describe() + ", " + grad.describe() +
                  " and " + mask.describe());
  const std::int64_t n = grad.numel();
  if (n == 0) return;
  const auto index =
      make_strided_index<3>(grad.shape(), {out.strides(), grad.strides(), mask.strides()});
  dispatch_floating(op, grad.dtype(), [&](auto zero) {
    using T = decltype(zero);
    dropout_backward_kernel<T><<<grid_for(n), kThreads, 0, raw(stream)>>>(
        static_cast<T*>(out.raw_data()), static_cast<const T*>(grad.raw_data()),
        static_cast<const std::uint8_t*>(mask.raw_data()), n, index, scale);
    CUDA_LAUNCH_CHECK();
  });
}

}  // namespace tally::ops::cuda
