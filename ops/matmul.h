// Matrix products through BLAS (cblas_sgemm). Row-major tensors; a transposed view is passed to
// BLAS as a transposed operand rather than copied. f16/bf16 operands are widened to f32
// temporaries, multiplied in f32 and narrowed.
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
