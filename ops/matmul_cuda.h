// The cuBLAS GEMM behind matmul on cuda (defined in ops/matmul_cuda.cu).
#pragma once

#include <cstdint>

#include "core/cuda_context.h"
#include "core/dtype.h"

namespace tally::ops::cuda {

// One operand as BLAS reads it (see blas_layout in ops/matmul.cpp): a row-major matrix, read
// transposed when `trans`, with leading dimension `ld`, and `batch_stride` elements between the
// matrices of a batch (0 repeats one matrix).
struct GemmOperand {
  const void* data = nullptr;
  bool trans = false;
  std::int64_t ld = 1;
  std::int64_t batch_stride = 0;
};

// c[i] = a[i] @ b[i] for i < batch, a[i] [m, k] and b[i] [k, n] as their operands say, c dense
// [batch, m, n]; queued on `stream`. f32, f16 or bf16 throughout, accumulated in f32 (TF32 for
// f32 only when allow_tf32(), ops/cuda_libraries.h); k == 0 gives zeros. Allocates nothing: the
// handle's workspace is held from its creation.
void gemm(const CudaStream& stream, DType dtype, std::int64_t batch, std::int64_t m, std::int64_t n,
          std::int64_t k, const GemmOperand& a, const GemmOperand& b, void* c);

}  // namespace tally::ops::cuda
