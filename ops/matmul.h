// Matrix products through BLAS: cblas_sgemm on cpu, cuBLAS (cublasGemmEx and its strided-batched
// form, f32 accumulation) on cuda. Row-major tensors; a transposed view is passed as a transposed
// operand rather than copied. On cpu, f16/bf16 operands are widened to f32 temporaries,
// multiplied in f32 and narrowed; cuBLAS takes them as they are, so cuda requests no such
// temporaries (ops/cuda_libraries.h, library_memory_rule).
#pragma once

#include "core/tensor.h"

namespace tally::ops {

// a [..., M, K] @ b [K, N] -> [..., M, N]; or batched a [B, M, K] @ b [B, K, N] -> [B, M, N].
Tensor matmul(const Tensor& a, const Tensor& b);

struct MatmulGrads {
  Tensor a;
  Tensor b;
};
// Gradients of matmul(a, b) given the output's gradient; each only when asked for.
MatmulGrads matmul_backward(const Tensor& grad, const Tensor& a, const Tensor& b, bool need_a,
                            bool need_b);

}  // namespace tally::ops
