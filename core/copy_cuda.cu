// Strided copy on one cuda device: the CUDA half of copy_into and Tensor::contiguous.
#include "allocator/cuda_check.h"
#include "core/cuda_context.h"
#include "core/strided_index.cuh"
#include "core/tensor.h"

namespace tally {
namespace {

// Elements move as unsigned words of their size: a copy never converts.
template <typename Word>
__global__ void copy_strided_kernel(Word* dst, const Word* src, std::int64_t n,
                                    StridedIndex<2> index) {
  for (std::int64_t i = blockIdx.x * std::int64_t{blockDim.x} + threadIdx.x; i < n;
       i += std::int64_t{gridDim.x} * blockDim.x) {
    std::int64_t at[2];
    index.offsets(i, at);
    dst[at[0]] = src[at[1]];
  }
}

template <typename Word>
void launch(const Tensor& dst, const Tensor& src, cudaStream_t stream) {
  const auto index = make_strided_index<2>(dst.shape(), {dst.strides(), src.strides()});
  const std::int64_t n = dst.numel();
  copy_strided_kernel<Word><<<grid_for(n), kThreads, 0, stream>>>(
      static_cast<Word*>(dst.raw_data()), static_cast<const Word*>(src.raw_data()), n, index);
  CUDA_LAUNCH_CHECK();
}

}  // namespace

void copy_strided_cuda(const Tensor& dst, const Tensor& src) {
  TALLY_CHECK(dst.device() == src.device() && dst.device().kind == DeviceKind::cuda,
              "copy_strided_cuda: " + src.describe() + " -> " + dst.describe());
  TALLY_CHECK(dst.shape() == src.shape() && dst.dtype() == src.dtype(),
              "copy_strided_cuda: " + src.describe() + " -> " + dst.describe());
  if (dst.numel() == 0) return;
  auto* stream = static_cast<cudaStream_t>(compute_stream(dst.device()).handle);
  if (dst.is_contiguous() && src.is_contiguous()) {
    CUDA_CHECK(cudaMemcpyAsync(dst.raw_data(), src.raw_data(),
                               dst.numel() * dtype_size(dst.dtype()), cudaMemcpyDeviceToDevice,
                               stream));
    return;
  }
  switch (dtype_size(dst.dtype())) {
    case 1:
      return launch<std::uint8_t>(dst, src, stream);
    case 2:
      return launch<std::uint16_t>(dst, src, stream);
    case 4:
      return launch<std::uint32_t>(dst, src, stream);
    case 8:
      return launch<std::uint64_t>(dst, src, stream);
  }
  TALLY_CHECK(false, "copy_strided_cuda: no word for " + dst.describe());
}

}  // namespace tally
