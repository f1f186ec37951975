// matmul's GEMM through cuBLAS (contract in ops/matmul_cuda.h).
#include <climits>
#include <string>

#include "allocator/cuda_check.h"
#include "ops/cuda_libraries.cuh"
#include "ops/cuda_libraries.h"
#include "ops/matmul_cuda.h"
#include "ops/op_util.h"

namespace tally::ops::cuda {
namespace {

// cuBLAS's dimensions and leading dimensions are ints.
int blas_int(std::int64_t v) {
  if (v > INT_MAX)
    throw UsageError("matmul: dimension " + std::to_string(v) + " exceeds cuBLAS's int");
  return static_cast<int>(v);
}

cublasOperation_t op(const GemmOperand& x) {
  return x.trans ? CUBLAS_OP_T : CUBLAS_OP_N;
}

}  // namespace

void gemm(const CudaStream& stream, DType dtype, std::int64_t batch, std::int64_t m, std::int64_t n,
          std::int64_t k, const GemmOperand& a, const GemmOperand& b, void* c) {
  if (batch == 0 || m == 0 || n == 0) return;
  auto* s = static_cast<cudaStream_t>(stream.handle);
  if (k == 0) {
    // All-zero bits are 0.0 in every floating dtype.
    CUDA_CHECK(cudaMemsetAsync(c, 0, batch * m * n * dtype_size(dtype), s));
    return;
  }
  const cudaDataType_t type = blas_data_type(dtype, "matmul");
  const cublasComputeType_t compute =
      dtype == DType::f32 && allow_tf32() ? CUBLAS_COMPUTE_32F_FAST_TF32 : CUBLAS_COMPUTE_32F;
  const float one = 1.0f, zero = 0.0f;  // the scale type of both compute types is f32
  cublasHandle_t handle = blas_handle(stream);
  // cuBLAS is column-major, and a row-major matrix read column-major is its transpose: the
  // row-major c = a @ b is the column-major c^T = b^T @ a^T, an [n, m] product with b first.
  // Each operand's own transposition and leading dimension carry over unchanged.
  if (batch == 1) {
    CUBLAS_CHECK(cublasGemmEx(handle, op(b), op(a), blas_int(n), blas_int(m), blas_int(k), &one,
                              b.data, type, blas_int(b.ld), a.data, type, blas_int(a.ld), &zero, c,
                              type, blas_int(n), compute, CUBLAS_GEMM_DEFAULT));
    return;
  }
  CUBLAS_CHECK(cublasGemmStridedBatchedEx(
      handle, op(b), op(a), blas_int(n), blas_int(m), blas_int(k), &one, b.data, type,
      blas_int(b.ld), b.batch_stride, a.data, type, blas_int(a.ld), a.batch_stride, &zero, c, type,
      blas_int(n), m * n, blas_int(batch), compute, CUBLAS_GEMM_DEFAULT));
}

}  // namespace tally::ops::cuda
