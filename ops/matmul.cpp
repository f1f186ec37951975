#include "ops/matmul.h"

#include <cblas.h>

#include "ops/cuda_libraries.h"
#include "ops/elementwise.h"
#include "ops/flop_count.h"
#include "ops/matmul_cuda.h"
#include "ops/op_util.h"
#include "ops/sim_libraries.h"

namespace tally::ops {
namespace {

// How BLAS reads one matrix operand: a row-major matrix, possibly transposed, with its leading
// dimension. Only layouts with one unit stride qualify.
struct BlasOperand {
  CBLAS_TRANSPOSE trans;
  int ld;
};

bool blas_layout(std::int64_t rows, std::int64_t cols, std::int64_t row_stride,
                 std::int64_t col_stride, BlasOperand& out) {
  if (col_stride == 1 && (rows == 1 || row_stride >= std::max<std::int64_t>(cols, 1))) {
    out = {CblasNoTrans,
           static_cast<int>(std::max<std::int64_t>(rows == 1 ? cols : row_stride, 1))};
    return true;
  }
  if (row_stride == 1 && (cols == 1 || col_stride >= std::max<std::int64_t>(rows, 1))) {
    out = {CblasTrans, static_cast<int>(std::max<std::int64_t>(cols == 1 ? rows : col_stride, 1))};
    return true;
  }
  return false;
}

// The matrix at the last two dimensions of t in a form BLAS reads: t itself, or a contiguous
// copy when its strides do not allow that.
Tensor blas_ready(const Tensor& t, BlasOperand& layout) {
  const std::int64_t n = t.dim();
  if (blas_layout(t.shape()[n - 2], t.shape()[n - 1], t.strides()[n - 2], t.strides()[n - 1],
                  layout)) {
    return t;
  }
  Tensor dense = t.contiguous();
  blas_layout(t.shape()[n - 2], t.shape()[n - 1], dense.strides()[n - 2], dense.strides()[n - 1],
              layout);
  return dense;
}

// c = a @ b, all f32; a, b and c are 3-d with one batch dimension when `batched`.
// `ar` and `br` come from blas_ready().
void gemm(const Tensor& c, const Tensor& ar, BlasOperand la, const Tensor& br, BlasOperand lb,
          bool batched) {
  const std::int64_t m = c.shape()[c.dim() - 2], n = c.shape()[c.dim() - 1];
  const std::int64_t k = ar.shape()[ar.dim() - 1];
  const float* pa = ar.data<float>();
  const float* pb = br.data<float>();
  float* pc = c.data<float>();
  const std::int64_t batch = batched ? c.shape()[0] : 1;
  const std::int64_t sa = batched ? ar.strides()[0] : 0;
  const std::int64_t sb = batched ? br.strides()[0] : 0;
  for (std::int64_t i = 0; i < batch; ++i) {
    if (k == 0) {
      std::fill(pc + i * m * n, pc + (i + 1) * m * n, 0.0f);
      continue;
    }
    cblas_sgemm(CblasRowMajor, la.trans, lb.trans, static_cast<int>(m), static_cast<int>(n),
                static_cast<int>(k), 1.0f, pa + i * sa, la.ld, pb + i * sb, lb.ld, 0.0f,
                pc + i * m * n, static_cast<int>(n));
  }
}

}  // namespace

Tensor matmul(const Tensor& a, const Tensor& b) {
  check_same_device("matmul", {&a, &b});
  check_same_dtype("matmul", {&a, &b});
  check_floating("matmul", a);
  const bool batched = a.dim() == 3 && b.dim() == 3;
  if (a.dim() < 2 || (b.dim() != 2 && !batched) ||
      a.shape()[a.dim() - 1] != b.shape()[b.dim() - 2] ||
      (batched && a.shape()[0] != b.shape()[0])) {
    throw UsageError("matmul: shapes " + a.describe() + " and " + b.describe() +
                     " do not multiply");
  }
  // Leading dimensions of a fold into M when b is a plain matrix.
  const Tensor a2 = batched || a.dim() == 2 ? a : a.reshape({-1, a.shape()[a.dim() - 1]});
  Shape out_shape = a.shape();
  out_shape.back() = b.shape().back();
  Shape c_shape = batched ? out_shape : Shape{a2.shape()[0], b.shape().back()};
  Tensor out = Tensor::empty(out_shape, a.dtype(), a.device());
  // OpenBLAS multiplies f32 only, so on the host 16-bit operands are widened into f32
  // temporaries and the product narrowed from an f32 one. cuBLAS reads and writes 16-bit
  // matrices itself, accumulating in f32: under the library rule there are no such temporaries,
  // only the copies of layouts BLAS cannot read, as for f32.
  const bool widen = a.dtype() != DType::f32 && !library_memory_rule(a.device());
  BlasOperand la{}, lb{};
  const Tensor ar = blas_ready(widen ? cast(a2, DType::f32) : a2, la);
  const Tensor br = blas_ready(widen ? cast(b, DType::f32) : b, lb);
  const Tensor c = widen ? Tensor::empty(c_shape, DType::f32, a.device()) : out.view(c_shape);
  count_flops(2 * static_cast<std::uint64_t>(c.numel()) *
              static_cast<std::uint64_t>(ar.shape().back()));
  run_kernel(
      "matmul", a.device(), [&] { gemm(c, ar, la, br, lb, batched); },
      [&](const auto& stream) {
        const auto operand = [&](const Tensor& t, BlasOperand l) {
          return cuda::GemmOperand{t.raw_data(), l.trans == CblasTrans, l.ld,
                                   batched ? t.strides()[0] : 0};
        };
        cuda::gemm(stream, a.dtype(), batched ? c.shape()[0] : 1, c.shape()[c.dim() - 2],
                   c.shape()[c.dim() - 1], ar.shape()[ar.dim() - 1], operand(ar, la),
                   operand(br, lb), c.raw_data());
      },
      [&] {
        // cuBLAS is called, and its handle made, only for a non-empty product (matmul_cuda.cu).
        if (c.numel() > 0 && ar.shape().back() > 0) sim::take_blas_workspace(a.device());
      });
  if (widen) cast_into(out.view(c_shape), c);
  return out;
}

MatmulGrads matmul_backward(const Tensor& grad, const Tensor& a, const Tensor& b, bool need_a,
                            bool need_b) {
  MatmulGrads g;
  const std::int64_t n = b.dim();
  if (need_a) g.a = matmul(grad, b.transpose(n - 2, n - 1));
  if (need_b) {
    if (b.dim() == 3) {
      g.b = matmul(a.transpose(1, 2), grad);
    } else {
      const Tensor a2 = a.reshape({-1, a.shape().back()});
      const Tensor g2 = grad.reshape({-1, grad.shape().back()});
      g.b = matmul(a2.transpose(0, 1), g2);
    }
  }
  return g;
}

}  // namespace tally::ops
