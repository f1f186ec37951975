// conv2d on cuda (contract in ops/conv2d_cuda.h): the bias kernels, cuDNN's descriptors, the
// algorithm choice (once per problem, logged in ops/cuda_libraries.h), then the launchers.
#include <algorithm>
#include <climits>
#include <initializer_list>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "allocator/cleanup_errors.h"
#include "allocator/cuda_check.h"
#include "allocator/scope.h"
#include "allocator/units.h"
#include "core/strided_index.cuh"
#include "ops/conv2d_cuda.h"
#include "ops/cuda_libraries.cuh"
#include "ops/cuda_libraries.h"
#include "ops/op_util.h"

namespace tally::ops::cuda {
namespace {

// The names ops/cuda_libraries.h gives cuDNN's algorithms, and so what counts as exact, are
// cudnn.h's own, value for value.
template <typename Algo, std::size_t N>
constexpr bool names_match(ConvPass pass, const std::pair<Algo, std::string_view> (&names)[N]) {
  for (const auto& [algo, name] : names) {
    if (conv_algorithm_name(pass, static_cast<int>(algo)) != name) return false;
  }
  return true;
}
constexpr std::pair<cudnnConvolutionFwdAlgo_t, std::string_view> kForwardNames[] = {
    {CUDNN_CONVOLUTION_FWD_ALGO_IMPLICIT_GEMM, "IMPLICIT_GEMM"},
    {CUDNN_CONVOLUTION_FWD_ALGO_IMPLICIT_PRECOMP_GEMM, "IMPLICIT_PRECOMP_GEMM"},
    {CUDNN_CONVOLUTION_FWD_ALGO_GEMM, "GEMM"},
    {CUDNN_CONVOLUTION_FWD_ALGO_DIRECT, "DIRECT"},
    {CUDNN_CONVOLUTION_FWD_ALGO_FFT, "FFT"},
    {CUDNN_CONVOLUTION_FWD_ALGO_FFT_TILING, "FFT_TILING"},
    {CUDNN_CONVOLUTION_FWD_ALGO_WINOGRAD, "WINOGRAD"},
    {CUDNN_CONVOLUTION_FWD_ALGO_WINOGRAD_NONFUSED, "WINOGRAD_NONFUSED"}};
constexpr std::pair<cudnnConvolutionBwdDataAlgo_t, std::string_view> kBackwardDataNames[] = {
    {CUDNN_CONVOLUTION_BWD_DATA_ALGO_0, "0"},
    {CUDNN_CONVOLUTION_BWD_DATA_ALGO_1, "1"},
    {CUDNN_CONVOLUTION_BWD_DATA_ALGO_FFT, "FFT"},
    {CUDNN_CONVOLUTION_BWD_DATA_ALGO_FFT_TILING, "FFT_TILING"},
    {CUDNN_CONVOLUTION_BWD_DATA_ALGO_WINOGRAD, "WINOGRAD"},
    {CUDNN_CONVOLUTION_BWD_DATA_ALGO_WINOGRAD_NONFUSED, "WINOGRAD_NONFUSED"}};
constexpr std::pair<cudnnConvolutionBwdFilterAlgo_t, std::string_view> kBackwardFilterNames[] = {
    {CUDNN_CONVOLUTION_BWD_FILTER_ALGO_0, "0"},
    {CUDNN_CONVOLUTION_BWD_FILTER_ALGO_1, "1"},
    {CUDNN_CONVOLUTION_BWD_FILTER_ALGO_FFT, "FFT"},
    {CUDNN_CONVOLUTION_BWD_FILTER_ALGO_3, "3"},
    {CUDNN_CONVOLUTION_BWD_FILTER_ALGO_WINOGRAD, "WINOGRAD"},
    {CUDNN_CONVOLUTION_BWD_FILTER_ALGO_WINOGRAD_NONFUSED, "WINOGRAD_NONFUSED"},
    {CUDNN_CONVOLUTION_BWD_FILTER_ALGO_FFT_TILING, "FFT_TILING"}};
static_assert(names_match(ConvPass::forward, kForwardNames) &&
              kConvForwardAlgorithms.size() == CUDNN_CONVOLUTION_FWD_ALGO_COUNT);
static_assert(names_match(ConvPass::backward_data, kBackwardDataNames) &&
              kConvBackwardDataAlgorithms.size() == CUDNN_CONVOLUTION_BWD_DATA_ALGO_COUNT);
static_assert(names_match(ConvPass::backward_filter, kBackwardFilterNames) &&
              kConvBackwardFilterAlgorithms.size() == CUDNN_CONVOLUTION_BWD_FILTER_ALGO_COUNT);

// out[n, o, h, w] += bias[o], rounded to T once, over a contiguous out.
template <typename T>
__global__ void add_bias_kernel(T* out, const T* bias, std::int64_t bias_stride,
                                std::int64_t channels, std::int64_t plane, std::int64_t total) {
  for (std::int64_t i = blockIdx.x * std::int64_t{blockDim.x} + threadIdx.x; i < total;
       i += std::int64_t{gridDim.x} * blockDim.x) {
    const std::int64_t o = (i / plane) % channels;
    out[i] = from_float<T>(to_float(out[i]) + to_float(bias[o * bias_stride]));
  }
}

struct Strides4 {
  std::int64_t n, c, h, w;
};

// dbias[o] = the sum of grad[:, o, :, :], one block of kThreads per channel (grid-strided over
// channels): each thread sums its share, then the block halves its partial sums.
template <typename T>
__global__ void bias_grad_kernel(T* dbias, std::int64_t dbias_stride, const T* grad, Strides4 s,
                                 std::int64_t batch, std::int64_t channels, std::int64_t height,
                                 std::int64_t width) {
  __shared__ float partial[kThreads];
  const std::int64_t plane = height * width, count = batch * plane;
  for (std::int64_t o = blockIdx.x; o < channels; o += gridDim.x) {
    float acc = 0.0f;
    for (std::int64_t j = threadIdx.x; j < count; j += blockDim.x) {
      const std::int64_t n = j / plane, p = j % plane;
      acc += to_float(grad[n * s.n + o * s.c + (p / width) * s.h + (p % width) * s.w]);
    }
    partial[threadIdx.x] = acc;
    __syncthreads();
    for (unsigned half = blockDim.x / 2; half > 0; half /= 2) {
      if (threadIdx.x < half) partial[threadIdx.x] += partial[threadIdx.x + half];
      __syncthreads();
    }
    if (threadIdx.x == 0) dbias[o * dbias_stride] = from_float<T>(partial[0]);
    __syncthreads();  // partial is refilled for the next channel
  }
}

void check_dense(std::string_view op, std::initializer_list<const Tensor*> tensors) {
  for (const Tensor* t : tensors) {
    TALLY_CHECK(t->is_contiguous(),
                std::string(op) + ": cuDNN takes contiguous tensors, got " + t->describe());
  }
}

// cuDNN's dimensions are ints.
int dnn_int(std::int64_t v) {
  if (v > INT_MAX)
    throw UsageError("conv2d: dimension " + std::to_string(v) + " exceeds cuDNN's int");
  return static_cast<int>(v);
}

cudnnDataType_t data_type(DType dtype) {
  switch (dtype) {
    case DType::f32:
      return CUDNN_DATA_FLOAT;
    case DType::f16:
      return CUDNN_DATA_HALF;
    case DType::bf16:
      return CUDNN_DATA_BFLOAT16;
    default:
      throw UsageError("conv2d: cuDNN convolves f32, f16 and bf16, not " +
                       std::string(dtype_name(dtype)));
  }
}

// A cuDNN descriptor, destroyed with its owner; a failure to destroy it is recorded
// (allocator/cleanup_errors.h), since a destructor cannot throw it.
template <typename T, cudnnStatus_t (*create)(T*), cudnnStatus_t (*destroy)(T)>
class Descriptor {
 public:
  Descriptor() { CUDNN_CHECK(create(&desc_)); }
  ~Descriptor() {
    run_cleanup("destroying a cuDNN descriptor", [&] { CUDNN_CHECK(destroy(desc_)); });
  }
  Descriptor(const Descriptor&) = delete;
  Descriptor& operator=(const Descriptor&) = delete;
  T get() const { return desc_; }

 private:
  T desc_ = nullptr;
};

using TensorDescriptor =
    Descriptor<cudnnTensorDescriptor_t, cudnnCreateTensorDescriptor, cudnnDestroyTensorDescriptor>;
using FilterDescriptor =
    Descriptor<cudnnFilterDescriptor_t, cudnnCreateFilterDescriptor, cudnnDestroyFilterDescriptor>;
using ConvolutionDescriptor =
    Descriptor<cudnnConvolutionDescriptor_t, cudnnCreateConvolutionDescriptor,
               cudnnDestroyConvolutionDescriptor>;

// One problem as cuDNN sees it: input x, output y (or their gradients), weight w, and the
// convolution, with the math type asked of the heuristic.
struct ConvDescriptors {
  TensorDescriptor x, y;
  FilterDescriptor w;
  ConvolutionDescriptor conv;

  ConvDescriptors(const Shape& xs, const Shape& ws, const Shape& ys, DType dtype, bool tf32,
                  std::int64_t stride, std::int64_t padding) {
    const cudnnDataType_t type = data_type(dtype);
    CUDNN_CHECK(cudnnSetTensor4dDescriptor(x.get(), CUDNN_TENSOR_NCHW, type, dnn_int(xs[0]),
                                           dnn_int(xs[1]), dnn_int(xs[2]), dnn_int(xs[3])));
    CUDNN_CHECK(cudnnSetTensor4dDescriptor(y.get(), CUDNN_TENSOR_NCHW, type, dnn_int(ys[0]),
                                           dnn_int(ys[1]), dnn_int(ys[2]), dnn_int(ys[3])));
    CUDNN_CHECK(cudnnSetFilter4dDescriptor(w.get(), type, CUDNN_TENSOR_NCHW, dnn_int(ws[0]),
                                           dnn_int(ws[1]), dnn_int(ws[2]), dnn_int(ws[3])));
    // Computed in f32 for every dtype (for 16-bit, cuDNN's pseudo-half and pseudo-bfloat16
    // configurations), as on the host.
    CUDNN_CHECK(cudnnSetConvolution2dDescriptor(conv.get(), dnn_int(padding), dnn_int(padding),
                                                dnn_int(stride), dnn_int(stride), 1, 1,
                                                CUDNN_CROSS_CORRELATION, CUDNN_DATA_FLOAT));
    // As PyTorch: tensor cores for 16-bit, and for f32 only when TF32 is allowed (the default
    // math permits TF32; FMA math keeps f32 exact).
    const cudnnMathType_t math = dtype != DType::f32 ? CUDNN_TENSOR_OP_MATH
                                 : tf32              ? CUDNN_DEFAULT_MATH
                                                     : CUDNN_FMA_MATH;
    CUDNN_CHECK(cudnnSetConvolutionMathType(conv.get(), math));
  }
};

// The algorithm for `key`'s problem: the logged one if the problem was met before; else the
// first in the heuristic's ranking that cuDNN supports here, that needs no tensor cores when f32
// must stay f32, that is exact when exact algorithms were asked for, and whose workspace fits
// the limit, then logged. Either way it becomes the pass's last_conv_choice().
// `heuristic(count, &returned, perfs)` and `workspace_size(algo, &bytes)` are the pass's cuDNN
// queries; they leave conv's math type set to the one the choice runs with.
template <typename Perf, typename Heuristic, typename WorkspaceSize>
ConvAlgoRecord choose(ConvAlgoRecord key, cudnnHandle_t handle,
                      cudnnStatus_t (*max_count)(cudnnHandle_t, int*),
                      cudnnConvolutionDescriptor_t conv, Heuristic&& heuristic,
                      WorkspaceSize&& workspace_size) {
  detail::LibraryState& state = detail::library_state();
  std::lock_guard lock(state.mutex);
  int& last = state.last_conv_choice[static_cast<std::size_t>(key.pass)];
  for (std::size_t i = 0; i < state.conv_algorithms.size(); ++i) {
    const ConvAlgoRecord& r = state.conv_algorithms[i];
    if (r.same_problem(key)) {
      CUDNN_CHECK(cudnnSetConvolutionMathType(conv, static_cast<cudnnMathType_t>(r.math_type)));
      last = static_cast<int>(i);
      return r;
    }
  }
  int count = 0;
  CUDNN_CHECK(max_count(handle, &count));
  std::vector<Perf> perfs(static_cast<std::size_t>(std::max(count, 1)));
  int returned = 0;
  CUDNN_CHECK(heuristic(count, &returned, perfs.data()));
  const bool fma_only = key.dtype == DType::f32 && !key.tf32;
  for (int i = 0; i < returned; ++i) {
    const Perf& p = perfs[i];
    const bool tensor_cores =
        p.mathType == CUDNN_TENSOR_OP_MATH || p.mathType == CUDNN_TENSOR_OP_MATH_ALLOW_CONVERSION;
    if (p.status != CUDNN_STATUS_SUCCESS || p.memory > key.workspace_limit ||
        (fma_only && tensor_cores) ||
        (key.exact && !conv_algorithm_exact(key.pass, static_cast<int>(p.algo)))) {
      continue;
    }
    // As PyTorch, the call runs with the math type the heuristic paired with the algorithm,
    // except that f32 kept exact stays on FMA math whatever the pairing says. The workspace may
    // depend on it.
    const cudnnMathType_t math = fma_only ? CUDNN_FMA_MATH : p.mathType;
    CUDNN_CHECK(cudnnSetConvolutionMathType(conv, math));
    std::size_t bytes = 0;
    if (workspace_size(p.algo, &bytes) != CUDNN_STATUS_SUCCESS || bytes > key.workspace_limit) {
      continue;
    }
    key.algorithm = static_cast<int>(p.algo);
    key.math_type = static_cast<int>(math);
    key.workspace_bytes = bytes;
    state.conv_algorithms.push_back(key);
    last = static_cast<int>(state.conv_algorithms.size() - 1);
    return key;
  }
  throw UsageError("conv2d: cuDNN has no " + std::string(key.exact ? "exact " : "") +
                   std::string(conv_pass_name(key.pass)) + " algorithm for " +
                   std::string(dtype_name(key.dtype)) + " input " + shape_str(key.input) +
                   " and weight " + shape_str(key.weight) + " within the workspace limit of " +
                   format_bytes(key.workspace_limit) + " (set_cudnn_workspace_limit)");
}

// t = 0 for a contiguous t of a floating dtype, whose zero is all-zero bits.
void zero_fill(const CudaStream& stream, const Tensor& t) {
  CUDA_CHECK(cudaMemsetAsync(t.raw_data(), 0, t.numel() * dtype_size(t.dtype()),
                             static_cast<cudaStream_t>(stream.handle)));
}

// Calls f(pointer) with `bytes` of workspace from tally's allocator (scope "(cudnn)"), freed once
// f has queued its work: the block's next user runs on the same stream, after it.
template <typename F>
void with_workspace(Device device, std::size_t bytes, F&& f) {
  const LibraryScope scope(kCudnnScope);
  const Tensor workspace = bytes > 0 ? Tensor::empty({static_cast<std::int64_t>(bytes)}, DType::u8,
                                                     device, Tag::workspace)
                                     : Tensor();
  f(bytes > 0 ? workspace.raw_data() : nullptr);
}

}  // namespace

void conv2d_forward(const CudaStream& stream, const Tensor& out, const Tensor& x,
                    const Tensor& weight, const Tensor& bias, std::int64_t stride,
                    std::int64_t padding) {
  check_dense("conv2d", {&out, &x, &weight});
  if (out.numel() == 0) return;
  if (x.numel() == 0) {
    // An empty image padded to a non-empty output reads only padding: zeros, which cuDNN's
    // descriptors (positive dimensions only) cannot express.
    zero_fill(stream, out);
  } else {
    const ConvAlgoRecord key = conv_problem(ConvPass::forward, stream.device, x.dtype(), x.shape(),
                                            weight.shape(), stride, padding);
    const ConvDescriptors d(x.shape(), weight.shape(), out.shape(), x.dtype(), key.tf32, stride,
                            padding);
    cudnnHandle_t handle = dnn_handle(stream);
    const ConvAlgoRecord choice = choose<cudnnConvolutionFwdAlgoPerf_t>(
        key, handle, cudnnGetConvolutionForwardAlgorithmMaxCount, d.conv.get(),
        [&](int count, int* returned, cudnnConvolutionFwdAlgoPerf_t* perfs) {
          return cudnnGetConvolutionForwardAlgorithm_v7(handle, d.x.get(), d.w.get(), d.conv.get(),
                                                        d.y.get(), count, returned, perfs);
        },
        [&](cudnnConvolutionFwdAlgo_t algo, std::size_t* bytes) {
          return cudnnGetConvolutionForwardWorkspaceSize(handle, d.x.get(), d.w.get(), d.conv.get(),
                                                         d.y.get(), algo, bytes);
        });
    const float one = 1.0f, zero = 0.0f;  // cuDNN's scaling factors are float for these dtypes
    with_workspace(out.device(), choice.workspace_bytes, [&](void* workspace) {
      CUDNN_CHECK(cudnnConvolutionForward(
          handle, &one, d.x.get(), x.raw_data(), d.w.get(), weight.raw_data(), d.conv.get(),
          static_cast<cudnnConvolutionFwdAlgo_t>(choice.algorithm), workspace,
          choice.workspace_bytes, &zero, d.y.get(), out.raw_data()));
    });
  }
  if (!bias.defined()) return;
  const std::int64_t total = out.numel();
  dispatch_floating("conv2d", out.dtype(), [&](auto zero_value) {
    using T = decltype(zero_value);
    add_bias_kernel<T><<<grid_for(total), kThreads, 0, static_cast<cudaStream_t>(stream.handle)>>>(
        static_cast<T*>(out.raw_data()), static_cast<const T*>(bias.raw_data()), bias.strides()[0],
        out.shape()[1], out.shape()[2] * out.shape()[3], total);
    CUDA_LAUNCH_CHECK();
  });
}

void conv2d_backward_data(const CudaStream& stream, const Tensor& dx, const Tensor& grad,
                          const Tensor& weight, std::int64_t stride, std::int64_t padding) {
  check_dense("conv2d_backward", {&dx, &grad, &weight});
  if (dx.numel() == 0) return;
  const ConvAlgoRecord key = conv_problem(ConvPass::backward_data, stream.device, dx.dtype(),
                                          dx.shape(), weight.shape(), stride, padding);
  const ConvDescriptors d(dx.shape(), weight.shape(), grad.shape(), dx.dtype(), key.tf32, stride,
                          padding);
  cudnnHandle_t handle = dnn_handle(stream);
  const ConvAlgoRecord choice = choose<cudnnConvolutionBwdDataAlgoPerf_t>(
      key, handle, cudnnGetConvolutionBackwardDataAlgorithmMaxCount, d.conv.get(),
      [&](int count, int* returned, cudnnConvolutionBwdDataAlgoPerf_t* perfs) {
        return cudnnGetConvolutionBackwardDataAlgorithm_v7(
            handle, d.w.get(), d.y.get(), d.conv.get(), d.x.get(), count, returned, perfs);
      },
      [&](cudnnConvolutionBwdDataAlgo_t algo, std::size_t* bytes) {
        return cudnnGetConvolutionBackwardDataWorkspaceSize(handle, d.w.get(), d.y.get(),
                                                            d.conv.get(), d.x.get(), algo, bytes);
      });
  const float one = 1.0f, zero = 0.0f;
  with_workspace(dx.device(), choice.workspace_bytes, [&](void* workspace) {
    CUDNN_CHECK(cudnnConvolutionBackwardData(
        handle, &one, d.w.get(), weight.raw_data(), d.y.get(), grad.raw_data(), d.conv.get(),
        static_cast<cudnnConvolutionBwdDataAlgo_t>(choice.algorithm), workspace,
        choice.workspace_bytes, &zero, d.x.get(), dx.raw_data()));
  });
}

void conv2d_backward_filter(const CudaStream& stream, const Tensor& dweight, const Tensor& grad,
                            const Tensor& x, std::int64_t stride, std::int64_t padding) {
  check_dense("conv2d_backward", {&dweight, &grad, &x});
  if (grad.numel() == 0 || x.numel() == 0) {
    // An empty batch, or an empty image whose output reads only padding, contributes nothing:
    // the gradient is zero, as on the host.
    zero_fill(stream, dweight);
    return;
  }
  const ConvAlgoRecord key = conv_problem(ConvPass::backward_filter, stream.device, x.dtype(),
                                          x.shape(), dweight.shape(), stride, padding);
  const ConvDescriptors d(x.shape(), dweight.shape(), grad.shape(), x.dtype(), key.tf32, stride,
                          padding);
  cudnnHandle_t handle = dnn_handle(stream);
  const ConvAlgoRecord choice = choose<cudnnConvolutionBwdFilterAlgoPerf_t>(
      key, handle, cudnnGetConvolutionBackwardFilterAlgorithmMaxCount, d.conv.get(),
      [&](int count, int* returned, cudnnConvolutionBwdFilterAlgoPerf_t* perfs) {
        return cudnnGetConvolutionBackwardFilterAlgorithm_v7(
            handle, d.x.get(), d.y.get(), d.conv.get(), d.w.get(), count, returned, perfs);
      },
      [&](cudnnConvolutionBwdFilterAlgo_t algo, std::size_t* bytes) {
        return cudnnGetConvolutionBackwardFilterWorkspaceSize(handle, d.x.get(), d.y.get(),
                                                              d.conv.get(), d.w.get(), algo, bytes);
      });
  const float one = 1.0f, zero = 0.0f;
  with_workspace(dweight.device(), choice.workspace_bytes, [&](void* workspace) {
    CUDNN_CHECK(cudnnConvolutionBackwardFilter(
        handle, &one, d.x.get(), x.raw_data(), d.y.get(), grad.raw_data(), d.conv.get(),
        static_cast<cudnnConvolutionBwdFilterAlgo_t>(choice.algorithm), workspace,
        choice.workspace_bytes, &zero, d.w.get(), dweight.raw_data()));
  });
}

void conv2d_backward_bias(const CudaStream& stream, const Tensor& dbias, const Tensor& grad) {
  const std::int64_t channels = grad.shape()[1];
  if (channels == 0) return;
  const Shape& s = grad.strides();
  const Strides4 strides{s[0], s[1], s[2], s[3]};
  const auto blocks = static_cast<unsigned>(std::min<std::int64_t>(channels, 65535));
  dispatch_floating("conv2d_backward", grad.dtype(), [&](auto zero) {
    using T = decltype(zero);
    bias_grad_kernel<T><<<blocks, kThreads, 0, static_cast<cudaStream_t>(stream.handle)>>>(
        static_cast<T*>(dbias.raw_data()), dbias.strides()[0],
        static_cast<const T*>(grad.raw_data()), strides, grad.shape()[0], channels, grad.shape()[2],
        grad.shape()[3]);
    CUDA_LAUNCH_CHECK();
  });
}

}  // namespace tally::ops::cuda
